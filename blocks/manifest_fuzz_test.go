package blocks

import (
	"bytes"
	"testing"
	"time"
)

// fuzzSeeds returns identity encodings of real manifests.
func fuzzSeeds() [][]byte {
	ms := []*Manifest{
		sampleManifest(),
		{BlockSize: MinBlockSize},
		{Size: 1, BlockSize: MaxBlockSize, Blocks: []ID{Sum(nil)}, ContentType: "text/plain"},
		{Size: 3 * MinBlockSize, BlockSize: MinBlockSize, Blocks: []ID{{1}, {2}, {1}}, Meta: map[string]string{"a": ""}},
	}
	var out [][]byte
	for _, m := range ms {
		b, err := m.Encode()
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

// FuzzDecodeManifest: hostile input never panics, and whatever decodes
// re-encodes to the same bytes, hence the same ref.
func FuzzDecodeManifest(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	f.Add([]byte{0x96, 0x01, 0x00, 0xce, 0, 1, 0, 0, 0xc6, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest(b)
		if err != nil {
			return
		}
		again, err := m.Encode()
		if err != nil {
			t.Fatalf("decoded manifest does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("decoded %x, re-encoded %x", b, again)
		}
		if ref, _ := m.Ref(); ref != Ref(Sum(b)) {
			t.Fatal("ref differs from the hash of the input")
		}
	})
}

// FuzzUnmarshalRecord: hostile records never panic, and whatever decodes
// hashes to the ref returned and survives a second round trip.
func FuzzUnmarshalRecord(f *testing.F) {
	for i, b := range fuzzSeeds() {
		m, _ := DecodeManifest(b)
		m.Replicas, m.Created = i, time.Unix(int64(i)*1000, 5)
		rec, err := m.MarshalRecord()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(rec)
	}
	f.Add([]byte{0x93, 0xc6, 0x7f, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ref, err := UnmarshalRecord(b)
		if err != nil {
			return
		}
		if got, err := m.Ref(); err != nil || got != ref {
			t.Fatalf("record ref %s, manifest ref %s (%v)", ref.Short(), got.Short(), err)
		}
		rec, err := m.MarshalRecord()
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		m2, ref2, err := UnmarshalRecord(rec)
		if err != nil || ref2 != ref || m2.Replicas != m.Replicas || !m2.Created.Equal(m.Created) {
			t.Fatalf("second round trip: %v", err)
		}
	})
}
