package rpc

import (
	"errors"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func TestCheckShmNameRejectsHostileNames(t *testing.T) {
	for _, bad := range []string{"", "../x", "a/b", "x\x00y", strings.Repeat("u", MaxShmPath+1)} {
		if err := CheckShmName(bad); !errors.Is(err, ErrBadRequest) {
			t.Errorf("CheckShmName(%q): %v", bad, err)
		}
	}
	if err := CheckShmName("up-0123456789abcdef01234567"); err != nil {
		t.Fatal(err)
	}
}

func TestShmBodiesRoundTrip(t *testing.T) {
	in := ShmSealReq{PutParams: PutParams{BlockSize: 1 << 16, Replicas: 2, Meta: Meta{"k": "v"}}, Name: "up-1"}
	b, err := msgpack.Marshal(&in)
	if err != nil {
		t.Fatal(err)
	}
	var out ShmSealReq
	if err := (&Message{Header: Header{Op: OpShmSeal}, Raw: b}).Decode(&out); err != nil || out.Name != in.Name ||
		out.BlockSize != in.BlockSize || out.Meta["k"] != "v" {
		t.Fatalf("seal request round trip: %+v %v", out, err)
	}
	if err := (&Message{Header: Header{Op: OpShmGet}, Raw: []byte{0x81, 0xa3, 'r', 'e', 'f', 0xc1}}).Decode(&ShmGetReq{}); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("malformed shm_get header: %v", err)
	}
}
