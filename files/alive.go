package files

import (
	"context"
	"time"

	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

// aliveCheck and aliveStall are the mover's liveness rule for single calls:
// a call to a member that has not been alive for aliveStall is given up.
const (
	aliveCheck = 50 * time.Millisecond
	aliveStall = time.Second
)

// callAlive is net.Call bounded by timeout and by the member's liveness: a
// member that stops being alive (frozen, dead) for aliveStall makes the
// call fail at once instead of at its timeout.
func (s *Service) callAlive(ctx context.Context, mem registry.Member, timeout time.Duration, op rpc.Op, req rpc.Body,
	data [][]byte) (*rpc.Message, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(aliveCheck)
		defer t.Stop()
		var since time.Time
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if s.net.Alive(mem.ID) {
					since = time.Time{}
					continue
				}
				if since.IsZero() {
					since = time.Now()
				} else if time.Since(since) > aliveStall {
					cancel()
					return
				}
			}
		}
	}()
	m, err := s.net.Call(ctx, mem.RPC, op, req, data)
	close(done)
	<-watched
	return m, err
}
