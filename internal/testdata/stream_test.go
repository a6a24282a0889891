package testdata

import (
	"bytes"
	"io"
	"testing"
)

func TestStreamDeterministicAndChunkingIndependent(t *testing.T) {
	a := Bytes(7, 1000)
	var b bytes.Buffer
	s := New(7, 1000)
	buf := make([]byte, 13)
	for {
		n, err := s.Read(buf)
		b.Write(buf[:n])
		if err == io.EOF {
			break
		}
	}
	if !bytes.Equal(a, b.Bytes()) {
		t.Fatal("stream depends on read sizes")
	}
	if bytes.Equal(a, Bytes(8, 1000)) {
		t.Fatal("seeds collide")
	}
	if Sum(7, 1000) != Sum(7, 1000) || Sum(7, 1000) == Sum(7, 999) {
		t.Fatal("digest")
	}
}
