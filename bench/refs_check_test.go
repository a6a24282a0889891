package bench

import (
	"bytes"
	"os"
	"testing"
)

// The references are only worth their ratios if they move the bytes they
// claim to; these checks are quick and run under a plain `go test`.

func TestTCPCopyMovesEveryByte(t *testing.T) {
	for _, n := range []int64{1, mib, 3*mib + 123} {
		if _, err := tcpCopy(n); err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
	}
}

func TestKVReferencesRoundTrip(t *testing.T) {
	obj := newObject(5, 2*mib+77)
	vals := obj.blocks()
	if len(vals) != 3 || len(vals[2]) != 77 {
		t.Fatalf("blocks: %d values, last %d bytes", len(vals), len(vals[len(vals)-1]))
	}
	for name, s := range map[string]kv{"badger": openRawBadger(t), "store": openStore(t)} {
		if _, err := kvWrite(s, vals, 2, 3); err != nil {
			t.Fatalf("%s write: %v", name, err)
		}
		for j, v := range vals {
			got, err := s.get(valueIDs(vals)[j], nil)
			if err != nil || !bytes.Equal(got, v) {
				t.Fatalf("%s: round-0 value %d read back wrong (%d bytes, %v)", name, j, len(got), err)
			}
		}
		if _, err := kvRead(s, vals, 4, 2); err != nil {
			t.Fatalf("%s read: %v", name, err)
		}
		if _, err := s.get(fakeID(2, 0), nil); err == nil {
			t.Fatalf("%s: a value never written reads back", name)
		}
	}
}

func TestStampMakesBlocksUnique(t *testing.T) {
	obj := newObject(6, 2*mib)
	obj.stamp(1)
	a := bytes.Clone(obj.data)
	obj.stamp(2)
	for off := 0; off < len(a); off += blockSize {
		if bytes.Equal(a[off:off+blockSize], obj.data[off:off+blockSize]) {
			t.Fatalf("block at %d unchanged by stamp", off)
		}
	}
}

func TestRESPClient(t *testing.T) {
	addr := os.Getenv(envRedis)
	if addr == "" {
		t.Skip("EMERGE_REDIS_ADDR not set (bench/run.sh sets it)")
	}
	c, err := dialRedis(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	val := newObject(8, smallSize).data
	if _, err := c.do(nil, []byte("SET"), []byte("emerge-test:k"), val); err != nil {
		t.Fatal(err)
	}
	got, err := c.do(nil, []byte("GET"), []byte("emerge-test:k"))
	if err != nil || !bytes.Equal(got, val) {
		t.Fatalf("GET: %d bytes, %v", len(got), err)
	}
	if _, err := c.do(nil, []byte("GET"), []byte("emerge-test:missing")); err == nil {
		t.Fatal("GET of a missing key: no error")
	}
	if _, err := c.do(nil, []byte("NOSUCHCOMMAND")); err == nil {
		t.Fatal("unknown command: no error")
	}
}
