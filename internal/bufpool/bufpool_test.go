package bufpool

import "testing"

func TestGetPut(t *testing.T) {
	var p Pool
	for _, n := range []int{0, 1, 4096, 4097, 1 << 20, 1<<20 + 1, 64 << 20} {
		b := p.Get(n)
		if len(b) != n || cap(b) < n {
			t.Fatalf("Get(%d): len %d cap %d", n, len(b), cap(b))
		}
		p.Put(b)
	}
	big := p.Get(65 << 20)
	if len(big) != 65<<20 {
		t.Fatal("oversized get")
	}
	p.Put(big)                // dropped, must not panic
	p.Put(make([]byte, 5000)) // foreign odd capacity: dropped
}
