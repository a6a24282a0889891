package rpc

import (
	"sync"
	"testing"
)

// One body may be shared by concurrent calls: encoding never writes to it.
func TestEncodeLeavesBodyAlone(t *testing.T) {
	req := &PingReq{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(id uint64) {
			defer wg.Done()
			b, err := encodeHeader(req, OpPing, id)
			if err != nil {
				t.Error(err)
				return
			}
			m, err := ParseFrames([][]byte{b}, DefaultLimits())
			if err != nil || m.ID != id {
				t.Errorf("decoded id %v (%v), want %d", m, err, id)
			}
		}(uint64(i + 1))
	}
	wg.Wait()
	if req.ID != 0 || req.Op != 0 {
		t.Fatalf("the shared body was stamped: %+v", req)
	}
}
