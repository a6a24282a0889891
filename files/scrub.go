package files

import (
	"context"
	"crypto/rand"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/rpc"
)

// The scrub re-hashes every stored block on a slow schedule, so a copy
// damaged at rest is found even if nobody reads it: a full pass takes
// about Repair.ScrubInterval (the pace follows from the bytes stored),
// never faster than Repair.ScrubRate. It starts at a random place on a
// fresh node (nodes do not all scrub the same blocks at once) and resumes
// where it was after a restart (the cursor is kept in the store). A bad
// copy is quarantined by the store, which tells the healer.

const (
	scrubBatch     = 16
	scrubCursorKey = "scrub_cursor"
	scrubSaveEvery = 10 * time.Second
	scrubIdleSleep = time.Minute
	scrubMinPace   = 64 << 10 // bytes per second: a nearly empty store still gets scrubbed
)

type scrubber struct {
	s *Service

	passes, checked atomic.Int64
	lastPass        atomic.Int64 // unix ns
}

func newScrubber(s *Service) *scrubber { return &scrubber{s: s} }

func (sc *scrubber) report(rep *rpc.HealthRep) {
	rep.ScrubPasses, rep.ScrubChecked, rep.ScrubLast = sc.passes.Load(), sc.checked.Load(), sc.lastPass.Load()
}

// loop scrubs until ctx ends.
func (sc *scrubber) loop(ctx context.Context) {
	cfg := sc.s.cfg.Repair
	if cfg.ScrubInterval < 0 {
		return
	}
	cursor := sc.loadCursor()
	saved := time.Now()
	for ctx.Err() == nil {
		b, err := sc.s.store.ScrubNext(cursor, scrubBatch)
		if err != nil {
			sc.s.log.Debug().Err(err).Msg("scrub")
			sleep(ctx, scrubIdleSleep)
			continue
		}
		sc.checked.Add(int64(b.Checked))
		sc.s.cfg.Metrics.Scrubbed(b.Bytes, b.Bad)
		cursor = b.Next
		if b.Done {
			cursor = blocks.ID{}
			sc.passes.Add(1)
			sc.lastPass.Store(sc.s.cfg.Now().UnixNano())
		}
		if time.Since(saved) > scrubSaveEvery {
			sc.saveCursor(cursor)
			saved = time.Now()
		}
		if b.Checked == 0 {
			sleep(ctx, min(scrubIdleSleep, cfg.ScrubInterval))
			continue
		}
		sleep(ctx, time.Duration(float64(b.Bytes)/sc.pace()*float64(time.Second)))
	}
	sc.saveCursor(cursor)
}

// pace is the bytes per second that make a full pass last ScrubInterval,
// within [scrubMinPace, ScrubRate].
func (sc *scrubber) pace() float64 {
	cfg := sc.s.cfg.Repair
	st, err := sc.s.store.Stats()
	total := int64(0)
	if err == nil {
		total = st.BlockBytes
	}
	p := float64(total) / cfg.ScrubInterval.Seconds()
	return min(max(p, scrubMinPace), float64(cfg.ScrubRate))
}

// loadCursor resumes a scrub, or starts a fresh node at a random place.
func (sc *scrubber) loadCursor() blocks.ID {
	var id blocks.ID
	if b, err := sc.s.store.GetMeta(scrubCursorKey); err == nil && len(b) == len(id) {
		copy(id[:], b)
		return id
	}
	rand.Read(id[:])
	return id
}

func (sc *scrubber) saveCursor(id blocks.ID) {
	if err := sc.s.store.PutMeta(scrubCursorKey, id[:]); err != nil {
		sc.s.log.Debug().Err(err).Msg("scrub: cursor not saved")
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
