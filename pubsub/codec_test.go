package pubsub

import (
	"bytes"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/vmihailenco/msgpack/v5"
)

// samples holds one full message of every type.
func samples() []Message {
	return []Message{
		{Type: TypeHello, From: "n1", Incarnation: 3, RPC: "tcp://10.0.0.1:7700", Pub: "tcp://10.0.0.1:7701", Digest: 1<<63 + 5},
		{Type: TypeHeartbeat, From: "n1", Incarnation: 4, RPC: "tcp://10.0.0.1:7700", Pub: "tcp://10.0.0.1:7701", Digest: 77},
		{Type: TypeLeave, From: "n2", Incarnation: 9},
		{Type: TypeWhoHas, From: "n3", ReqID: 12345, IDs: testIDs(1, 32), ReplyTo: "tcp://10.0.0.3:7700"},
		{Type: TypeHave, From: "n4", Ref: testRef(1), IDs: testIDs(2, 5)},
		{Type: TypeDelete, From: "n5", Ref: testRef(2), At: time.Unix(1700000000, 123456789).UTC()},
		{Type: TypeDelete, From: "n5", Ref: testRef(3)},
		{Type: TypeDelete, From: "n5", Ref: testRef(3), At: time.Unix(0, 0).UTC()},
		{Type: TypePrefetch, From: "n6", Ref: testRef(4), Groups: []string{"actor", "learner"}, Nodes: []string{"n7"}},
		{Type: TypePrefetch, From: "n6", Ref: testRef(5), Groups: []string{"actor"}},
		{Type: TypeName, From: "n7", Payload: []byte{0x90}},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range samples() {
		frame, err := Encode(m)
		if err != nil {
			t.Fatalf("%v: %v", m.Type, err)
		}
		if frame[0] != Version || frame[1] != byte(m.Type) {
			t.Fatalf("%v: header % x", m.Type, frame[:2])
		}
		got, err := Decode(frame)
		if err != nil {
			t.Fatalf("%v: %v", m.Type, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("%v: got %+v\nwant %+v", m.Type, got, m)
		}
	}
}

// TestWireNumbers pins the type numbers and names: they are on the wire.
func TestWireNumbers(t *testing.T) {
	want := []string{1: "hello", 2: "heartbeat", 3: "leave", 4: "whohas", 5: "have", 6: "delete", 7: "prefetch", 8: "name"}
	for n := 1; n < len(want); n++ {
		if got := Type(n).String(); got != want[n] {
			t.Errorf("Type(%d) = %q, want %q", n, got, want[n])
		}
	}
	if got := Type(9).String(); got != "type(9)" {
		t.Errorf("Type(9) = %q", got)
	}
}

// TestEncodeDropsForeignFields: a field the type does not carry is not sent.
func TestEncodeDropsForeignFields(t *testing.T) {
	m := Message{Type: TypeLeave, From: "a", Incarnation: 1, IDs: testIDs(1, 3), Groups: []string{"g"}}
	got := roundTrip(t, m)
	if want := (Message{Type: TypeLeave, From: "a", Incarnation: 1}); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
}

func roundTrip(t *testing.T, m Message) Message {
	t.Helper()
	frame, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(frame)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestEncodeLimits(t *testing.T) {
	long := strings.Repeat("x", MaxString)
	many := func(n int) []string {
		s := make([]string, n)
		for i := range s {
			s[i] = long
		}
		return s
	}
	atCap := []Message{
		{Type: TypeHello, From: long, RPC: long, Pub: long},
		{Type: TypeWhoHas, From: long, IDs: testIDs(1, MaxIDs), ReplyTo: long},
		{Type: TypePrefetch, From: long, Ref: testRef(1), Groups: many(MaxGroups), Nodes: many(MaxNodes)},
	}
	for _, m := range atCap {
		if got := roundTrip(t, m); !reflect.DeepEqual(got, m) {
			t.Fatalf("%v at the caps did not round-trip", m.Type)
		}
	}
	over := map[string]Message{
		"from":     {Type: TypeLeave, From: long + "x"},
		"rpc":      {Type: TypeHello, From: "a", RPC: long + "x", Pub: "p"},
		"pub":      {Type: TypeHeartbeat, From: "a", RPC: "r", Pub: long + "x"},
		"ids":      {Type: TypeHave, From: "a", Ref: testRef(1), IDs: testIDs(1, MaxIDs+1)},
		"reply_to": {Type: TypeWhoHas, From: "a", IDs: testIDs(1, 1), ReplyTo: long + "x"},
		"groups":   {Type: TypePrefetch, From: "a", Ref: testRef(1), Groups: many(MaxGroups + 1)},
		"nodes":    {Type: TypePrefetch, From: "a", Ref: testRef(1), Nodes: many(MaxNodes + 1)},
		"group":    {Type: TypePrefetch, From: "a", Ref: testRef(1), Groups: []string{long + "x"}},
	}
	for name, m := range over {
		_, err := Encode(m)
		if !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s over the cap: %v, want ErrTooLarge and ErrBadMessage", name, err)
		}
	}
}

func TestEncodeRequired(t *testing.T) {
	bad := map[string]Message{
		"from":       {Type: TypeLeave},
		"rpc":        {Type: TypeHello, From: "a", Pub: "p"},
		"no ids":     {Type: TypeWhoHas, From: "a", ReplyTo: "r"},
		"reply_to":   {Type: TypeWhoHas, From: "a", IDs: testIDs(1, 1)},
		"ref":        {Type: TypeDelete, From: "a"},
		"no targets": {Type: TypePrefetch, From: "a", Ref: testRef(1)},
		"empty node": {Type: TypePrefetch, From: "a", Ref: testRef(1), Nodes: []string{""}},
		"payload":    {Type: TypeName, From: "a"},
	}
	for name, m := range bad {
		if _, err := Encode(m); !errors.Is(err, ErrBadMessage) || errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrBadMessage only", name, err)
		}
	}
	for _, typ := range []Type{0, 9, 255} {
		if _, err := Encode(Message{Type: typ, From: "a"}); !errors.Is(err, ErrUnsupported) {
			t.Errorf("type %d: %v, want ErrUnsupported", typ, err)
		}
	}
}

// frame builds a frame around any msgpack body, bypassing Encode's checks.
func frame(t testing.TB, version byte, typ Type, body any) []byte {
	t.Helper()
	b, err := msgpack.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte{version, byte(typ)}, b...)
}

func TestDecodeLimits(t *testing.T) {
	long := strings.Repeat("x", MaxString+1)
	ref := testRef(1)
	cases := map[string][]byte{
		"from":   frame(t, Version, TypeLeave, map[string]any{"f": long}),
		"ids":    frame(t, Version, TypeWhoHas, map[string]any{"f": "a", "ids": make([]byte, (MaxIDs+1)*blocks.IDSize), "rt": "r"}),
		"groups": frame(t, Version, TypePrefetch, map[string]any{"f": "a", "ref": ref[:], "g": make([]string, MaxGroups+1)}),
		"nodes":  frame(t, Version, TypePrefetch, map[string]any{"f": "a", "ref": ref[:], "n": make([]string, MaxNodes+1)}),
		"frame":  append([]byte{Version, byte(TypeLeave)}, make([]byte, MaxFrame)...),
	}
	for name, f := range cases {
		if _, err := Decode(f); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrTooLarge and ErrBadMessage", name, err)
		}
	}
}

// hostile returns frames whose headers declare far more than they hold.
func hostile() map[string][]byte {
	leave := []byte{Version, byte(TypeLeave)}
	prefetch := []byte{Version, byte(TypePrefetch)}
	return map[string][]byte{
		"str32 4 GiB":     append(leave, 0x81, 0xa1, 'f', 0xdb, 0xff, 0xff, 0xff, 0xff, 'a'),
		"str32 1 MiB":     append(leave, 0x81, 0xa1, 'f', 0xdb, 0x00, 0x10, 0x00, 0x00, 'a'),
		"bin32 1 MiB":     append(leave, 0x81, 0xa3, 'i', 'd', 's', 0xc6, 0x00, 0x10, 0x00, 0x00),
		"array32 1e6":     append(prefetch, 0x81, 0xa1, 'g', 0xdd, 0x00, 0x0f, 0x42, 0x40, 0xa0),
		"map32 4G":        append(leave, 0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'f'),
		"ext32 1 MiB":     append(leave, 0x81, 0xa1, 'z', 0xc9, 0x00, 0x10, 0x00, 0x00, 0x01),
		"nested arrays":   append(append(leave, 0x81, 0xa1, 'z'), bytes.Repeat([]byte{0x91}, 10000)...),
		"unknown map key": append(prefetch, 0x81, 0xdd, 0x00, 0x0f, 0x42, 0x40),
	}
}

func TestDecodeMalformed(t *testing.T) {
	cases := hostile()
	good, _ := Encode(samples()[3])
	cases["empty"] = nil
	cases["one byte"] = []byte{Version}
	cases["body missing"] = []byte{Version, byte(TypeLeave)}
	cases["body not a map"] = frame(t, Version, TypeLeave, []any{"a", 1})
	cases["body nil"] = []byte{Version, byte(TypeLeave), 0xc0}
	cases["truncated"] = good[:len(good)-1]
	cases["trailing bytes"] = append(append([]byte{}, good...), 0x00)
	cases["reserved code"] = []byte{Version, byte(TypeLeave), 0x81, 0xa1, 'f', 0xc1}
	cases["ids not whole"] = frame(t, Version, TypeWhoHas, map[string]any{"f": "a", "ids": make([]byte, 33), "rt": "r"})
	cases["short ref"] = frame(t, Version, TypeHave, map[string]any{"f": "a", "ref": make([]byte, 31), "ids": make([]byte, 32)})
	cases["wrong field type"] = frame(t, Version, TypeLeave, map[string]any{"f": "a", "i": "three"})
	cases["no from"] = frame(t, Version, TypeLeave, map[string]any{"i": 3})
	for name, f := range cases {
		if _, err := Decode(f); !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrBadMessage", name, err)
		}
	}
}

func TestDecodeUnsupported(t *testing.T) {
	good, _ := Encode(samples()[2])
	for name, f := range map[string][]byte{
		"version 0":  append([]byte{0}, good[1:]...),
		"version 2":  append([]byte{2}, good[1:]...),
		"type 0":     append([]byte{Version, 0}, good[2:]...),
		"type 9":     append([]byte{Version, 9}, good[2:]...),
		"type 255":   append([]byte{Version, 255}, good[2:]...),
		"no body v2": {2, byte(TypeLeave)},
	} {
		_, err := Decode(f)
		if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrBadMessage) {
			t.Errorf("%s: %v, want ErrUnsupported and ErrBadMessage", name, err)
		}
	}
}

// TestDecodeUnknownFields: fields added by a later sender are skipped.
func TestDecodeUnknownFields(t *testing.T) {
	f := frame(t, Version, TypeLeave, map[string]any{"f": "a", "i": 3, "zz": []any{1, "x", map[string]any{"k": []byte{1}}}})
	m, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Message{Type: TypeLeave, From: "a", Incarnation: 3}); !reflect.DeepEqual(m, want) {
		t.Fatalf("got %+v", m)
	}
}

// TestDecodeAllocation: frames that declare huge sizes cost no more than
// their own size to reject. Decoding them straight with msgpack would
// allocate a MiB or more each.
func TestDecodeAllocation(t *testing.T) {
	frames := hostile()
	const rounds = 50
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for range rounds {
		for _, f := range frames {
			if _, err := Decode(f); err == nil {
				t.Fatal("hostile frame decoded")
			}
		}
	}
	runtime.ReadMemStats(&after)
	perFrame := (after.TotalAlloc - before.TotalAlloc) / uint64(rounds*len(frames))
	if perFrame > 16<<10 {
		t.Fatalf("%d bytes allocated per hostile frame", perFrame)
	}
}

func TestSplitIDs(t *testing.T) {
	m := Message{Type: TypeWhoHas, From: "a", ReqID: 9, IDs: testIDs(1, 5000), ReplyTo: "r"}
	parts := SplitIDs(m, 0)
	if len(parts) != 3 || len(parts[0].IDs) != MaxIDs || len(parts[2].IDs) != 5000-2*MaxIDs {
		t.Fatalf("%d parts", len(parts))
	}
	var all []blocks.ID
	for _, p := range parts {
		if _, err := Encode(p); err != nil {
			t.Fatal(err)
		}
		if p.ReqID != 9 || p.ReplyTo != "r" {
			t.Fatalf("part lost fields: %+v", p)
		}
		all = append(all, p.IDs...)
	}
	if !reflect.DeepEqual(all, m.IDs) {
		t.Fatal("parts do not concatenate to the ids")
	}
	next := parts[1].IDs[0]
	_ = append(parts[0].IDs, blocks.ID{})
	if parts[1].IDs[0] != next {
		t.Fatal("append to one part overwrote the next")
	}
	if got := SplitIDs(m, 1000); len(got) != 5 {
		t.Fatalf("per 1000: %d parts", len(got))
	}
	if small := SplitIDs(samples()[3], 0); len(small) != 1 || !reflect.DeepEqual(small[0], samples()[3]) {
		t.Fatal("a message that fits was changed")
	}
}
