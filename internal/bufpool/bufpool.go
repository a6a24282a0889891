// Package bufpool recycles large byte buffers by power-of-two size class.
// On machines where touching fresh memory is slow, reusing warm buffers on
// the data path matters more than the allocation itself.
package bufpool

import (
	"math/bits"
	"sync"
)

const (
	minShift = 12 // 4 KiB
	maxShift = 26 // 64 MiB
)

// Pool holds one sync.Pool per size class. The zero value is ready to use.
type Pool struct {
	classes [maxShift - minShift + 1]sync.Pool
}

func class(n int) int {
	if n <= 1<<minShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minShift
}

// Get returns a buffer of length n (contents undefined).
func (p *Pool) Get(n int) []byte {
	c := class(n)
	if c >= len(p.classes) {
		return make([]byte, n)
	}
	if v := p.classes[c].Get(); v != nil {
		return (*v.(*[]byte))[:n]
	}
	return make([]byte, n, 1<<(c+minShift))
}

// Put returns a buffer obtained from Get.
func (p *Pool) Put(b []byte) {
	c := class(cap(b))
	if c >= len(p.classes) || cap(b) != 1<<(c+minShift) {
		return
	}
	b = b[:cap(b)]
	p.classes[c].Put(&b)
}
