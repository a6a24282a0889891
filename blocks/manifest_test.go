package blocks

import (
	"bytes"
	"encoding/hex"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

func sampleManifest() *Manifest {
	m := &Manifest{
		Size:        2*DefaultBlockSize + 10,
		BlockSize:   DefaultBlockSize,
		Blocks:      []ID{Sum([]byte("a")), Sum([]byte("b")), Sum([]byte("c"))},
		ContentType: "application/octet-stream",
		Meta:        map[string]string{"name": "weights.bin", "epoch": "7"},
		Replicas:    3,
		Created:     time.Date(2030, 5, 6, 7, 8, 9, 10, time.UTC),
	}
	return m
}

// TestManifestGolden pins the identity encoding and the ref: a change here
// changes every ref in every store and on the wire.
func TestManifestGolden(t *testing.T) {
	m := &Manifest{Size: 1, BlockSize: MinBlockSize, Blocks: []ID{Sum([]byte("x"))}}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	const (
		wantEnc = "96" + // array of 6
			"01" + // version
			"d30000000000000001" + // size (int64)
			"ce00010000" + // block size
			"c420" + "3ae7d805f6789a6402acb70ad4096a85a56bf6804eaf25c0493ac697548d30b5" + // block ids
			"a0" + // content type ""
			"c0" // meta nil
		wantRef = "7929d361df563f73a8dbd63b1102bd1dc92cfcf717396009c70115660bc6e07b"
	)
	if got := hex.EncodeToString(b); got != wantEnc {
		t.Fatalf("identity encoding changed:\n got %s\nwant %s", got, wantEnc)
	}
	if ref, _ := m.Ref(); ref.String() != wantRef {
		t.Fatalf("ref changed: %s", ref)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	m := sampleManifest()
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeManifest(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Size != m.Size || back.BlockSize != m.BlockSize || len(back.Blocks) != 3 || back.Blocks[2] != m.Blocks[2] ||
		back.ContentType != m.ContentType || back.Meta["epoch"] != "7" || len(back.Meta) != 2 {
		t.Fatalf("round trip: %+v", back)
	}
	if back.Replicas != 0 || !back.Created.IsZero() {
		t.Fatal("policy fields leaked into the identity")
	}
	ref, _ := m.Ref()
	if Ref(Sum(b)) != ref {
		t.Fatal("Ref is not the hash of Encode")
	}
}

func TestManifestRefIdentity(t *testing.T) {
	base := sampleManifest()
	ref, _ := base.Ref()
	policy := sampleManifest()
	policy.Replicas, policy.Created = 1, time.Time{}
	if r, _ := policy.Ref(); r != ref {
		t.Fatal("replicas or created changed the ref")
	}
	for name, change := range map[string]func(*Manifest){
		"content type": func(m *Manifest) { m.ContentType = "text/plain" },
		"meta":         func(m *Manifest) { m.Meta["epoch"] = "8" },
		"no meta":      func(m *Manifest) { m.Meta = nil },
		"block":        func(m *Manifest) { m.Blocks[0] = Sum([]byte("z")) },
		"size":         func(m *Manifest) { m.Size-- },
	} {
		m := sampleManifest()
		change(m)
		if r, err := m.Ref(); err != nil || r == ref {
			t.Errorf("%s: ref unchanged (err %v)", name, err)
		}
	}
	empty1, empty2 := sampleManifest(), sampleManifest()
	empty1.Meta, empty2.Meta = nil, map[string]string{}
	r1, _ := empty1.Ref()
	r2, _ := empty2.Ref()
	if r1 != r2 {
		t.Fatal("nil and empty metadata give different refs")
	}
}

func TestManifestValidate(t *testing.T) {
	long := strings.Repeat("k", MaxMetaKey+1)
	for name, change := range map[string]func(*Manifest){
		"block size small":  func(m *Manifest) { m.BlockSize = MinBlockSize - 1 },
		"block size large":  func(m *Manifest) { m.BlockSize = MaxBlockSize + 1 },
		"negative size":     func(m *Manifest) { m.Size = -1 },
		"too few blocks":    func(m *Manifest) { m.Blocks = m.Blocks[:2] },
		"too many blocks":   func(m *Manifest) { m.Blocks = append(m.Blocks, ID{}) },
		"size overflow":     func(m *Manifest) { m.Size = 1<<63 - 1 },
		"content type":      func(m *Manifest) { m.ContentType = strings.Repeat("c", MaxContentType+1) },
		"replicas negative": func(m *Manifest) { m.Replicas = -1 },
		"replicas large":    func(m *Manifest) { m.Replicas = MaxReplicas + 1 },
		"meta empty key":    func(m *Manifest) { m.Meta[""] = "v" },
		"meta long key":     func(m *Manifest) { m.Meta[long] = "v" },
		"meta long value":   func(m *Manifest) { m.Meta["k"] = strings.Repeat("v", MaxMetaValue+1) },
		"meta entries": func(m *Manifest) {
			for i := 0; i <= MaxMetaEntries; i++ {
				m.Meta[strings.Repeat("k", i+1)] = ""
			}
		},
	} {
		m := sampleManifest()
		change(m)
		if err := m.Validate(); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: Validate = %v", name, err)
		}
		if _, err := m.Encode(); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: Encode = %v", name, err)
		}
	}
	if err := sampleManifest().Validate(); err != nil {
		t.Fatal(err)
	}
	empty := &Manifest{BlockSize: DefaultBlockSize}
	if err := empty.Validate(); err != nil {
		t.Fatalf("an empty object is valid: %v", err)
	}
}

func TestManifestBlockCountLimit(t *testing.T) {
	m := &Manifest{BlockSize: MinBlockSize, Blocks: make([]ID, MaxBlocks+1)}
	m.Size = int64(len(m.Blocks)) * MinBlockSize
	if err := m.Validate(); !errors.Is(err, ErrBadManifest) {
		t.Fatalf("%d blocks: %v", len(m.Blocks), err)
	}
}

func TestNumBlocksAndBlockLen(t *testing.T) {
	for _, c := range []struct {
		size int64
		bs   int
		n    int
		last int
	}{{0, MinBlockSize, 0, 0}, {1, MinBlockSize, 1, 1}, {MinBlockSize, MinBlockSize, 1, MinBlockSize},
		{MinBlockSize + 1, MinBlockSize, 2, 1}, {-5, MinBlockSize, 0, 0}} {
		if n := NumBlocks(c.size, c.bs); n != c.n {
			t.Errorf("NumBlocks(%d, %d) = %d, want %d", c.size, c.bs, n, c.n)
		}
		if c.n == 0 {
			continue
		}
		m := &Manifest{Size: c.size, BlockSize: c.bs, Blocks: make([]ID, c.n)}
		if l := m.BlockLen(c.n - 1); l != c.last {
			t.Errorf("size %d: last block %d bytes, want %d", c.size, l, c.last)
		}
		if c.n > 1 && m.BlockLen(0) != c.bs {
			t.Errorf("size %d: first block %d bytes", c.size, m.BlockLen(0))
		}
	}
}

func TestDecodeManifestHostile(t *testing.T) {
	good, _ := sampleManifest().Encode()
	noMeta := sampleManifest()
	noMeta.Meta = nil
	plain, _ := noMeta.Encode()
	asMap, _ := msgpack.Marshal(map[string]any{"Version": 1, "Size": 1, "BlockSize": MinBlockSize})
	for name, in := range map[string][]byte{
		"empty":          {},
		"nil":            {0xc0},
		"truncated":      good[:len(good)-1],
		"trailing":       append(append([]byte{}, good...), 0),
		"map":            asMap,
		"version 2":      append([]byte{0x96, 0x02}, good[2:]...),
		"5 elements":     append([]byte{0x95}, good[1:]...),
		"ragged blocks":  {0x96, 0x01, 0x01, 0xce, 0, 1, 0, 0, 0xc4, 0x05, 1, 2, 3, 4, 5, 0xa0, 0xc0},
		"non-canonical":  {0x96, 0x01, 0x00, 0xce, 0, 1, 0, 0, 0xc0, 0xa0, 0xc0}, // size as fixint
		"empty meta map": append(append([]byte{}, plain[:len(plain)-1]...), 0x80),
		"meta as array":  append(append([]byte{}, plain[:len(plain)-1]...), 0x90),
		"huge bin":       {0x96, 0x01, 0x00, 0xce, 0, 1, 0, 0, 0xc6, 0x7f, 0xff, 0xff, 0xff},
		"huge str":       {0x96, 0x01, 0x00, 0xce, 0, 1, 0, 0, 0xc0, 0xdb, 0x7f, 0xff, 0xff, 0xff},
		"huge map":       {0x96, 0x01, 0x00, 0xce, 0, 1, 0, 0, 0xc0, 0xa0, 0xdf, 0x00, 0x0f, 0xff, 0xff},
		"huge array":     {0xdd, 0x7f, 0xff, 0xff, 0xff},
		"oversized":      make([]byte, maxIdentityLen+1),
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		m, err := DecodeManifest(in)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: got %+v, %v; want ErrBadManifest", name, m, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 && name != "oversized" {
			t.Errorf("%s: %d-byte input made the decoder allocate %d bytes", name, len(in), n)
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, m := range []*Manifest{sampleManifest(), {BlockSize: MinBlockSize}} {
		b, err := m.MarshalRecord()
		if err != nil {
			t.Fatal(err)
		}
		back, ref, err := UnmarshalRecord(b)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := m.Ref()
		if ref != want || back.Replicas != m.Replicas || !back.Created.Equal(m.Created) || back.Size != m.Size {
			t.Fatalf("record round trip: %+v (ref %s, want %s)", back, ref.Short(), want.Short())
		}
		if !m.Created.IsZero() && back.Created.Location() != time.UTC {
			t.Fatal("Created is not UTC")
		}
	}
}

func TestUnmarshalRecordHostile(t *testing.T) {
	good, _ := sampleManifest().MarshalRecord()
	id, _ := sampleManifest().Encode()
	badReplicas, _ := msgpack.Marshal([]any{id, MaxReplicas + 1, 0})
	for name, in := range map[string][]byte{
		"empty":        {},
		"truncated":    good[:len(good)-3],
		"trailing":     append(append([]byte{}, good...), 1),
		"huge bin":     {0x93, 0xc6, 0x7f, 0xff, 0xff, 0xff},
		"bad replicas": badReplicas,
		"bad identity": {0x93, 0xc4, 0x01, 0x00, 0x00, 0x00},
	} {
		if _, _, err := UnmarshalRecord(in); !errors.Is(err, ErrBadManifest) {
			t.Errorf("%s: %v, want ErrBadManifest", name, err)
		}
	}
	if !bytes.Equal(good, mustRecord(t, sampleManifest())) {
		t.Fatal("MarshalRecord is not deterministic")
	}
}

func mustRecord(t *testing.T, m *Manifest) []byte {
	b, err := m.MarshalRecord()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
