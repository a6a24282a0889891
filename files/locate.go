package files

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/rpc"
)

// locations remembers which members hold which blocks (and manifests),
// learned from who-has answers and pushes. It is bounded: when full, it
// forgets everything and relearns, which only costs a broadcast.
type locations struct {
	mu  sync.Mutex
	m   map[blocks.ID][]string
	max int
}

func newLocations(max int) *locations { return &locations{m: make(map[blocks.ID][]string), max: max} }

func (l *locations) add(id blocks.ID, member string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, have := range l.m[id] {
		if have == member {
			return
		}
	}
	if len(l.m) >= l.max {
		l.m = make(map[blocks.ID][]string)
	}
	l.m[id] = append(l.m[id], member)
}

func (l *locations) get(id blocks.ID) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.m[id]...)
}

// query is a who-has in flight: answers land in found.
type query struct {
	mu     sync.Mutex
	want   map[blocks.ID]bool
	found  map[blocks.ID][]string
	first  time.Time // when the first answer naming a wanted id arrived
	signal chan struct{}
	// enough holders per id end the settle early: every wanted id has been
	// named by that many members (0: always settle in full).
	enough int
	full   chan struct{}
}

func (q *query) missing() []blocks.ID {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []blocks.ID
	for id := range q.want {
		if len(q.found[id]) == 0 {
			out = append(out, id)
		}
	}
	return out
}

// whoHas broadcasts a who-has for ids and gathers the answers, repeating the
// broadcast with backoff while some id has no owner, until every id has one
// or wait runs out. After the first answers it waits a moment for more
// holders, unless every id already has enough of them (the object's replica
// count for a fetch, one for a manifest). It returns the owners found
// (member ids) per id.
func (s *Service) whoHas(ctx context.Context, ids []blocks.ID, wait time.Duration, enough int) map[blocks.ID][]string {
	return s.ask(ctx, ids, wait, enough).result()
}

// Locate runs a who-has for ids as a fetch of an object with the default
// replica count does (always a broadcast: the location cache is neither read
// nor needed) and returns the owners found and how long the first answer
// took (0 if none came). It is for diagnostics and benchmarks.
func (s *Service) Locate(ctx context.Context, ids []blocks.ID, wait time.Duration) (map[blocks.ID][]string, time.Duration) {
	start := time.Now()
	q := s.ask(ctx, ids, wait, s.cfg.Replicas)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.first.IsZero() {
		return q.resultLocked(), 0
	}
	return q.resultLocked(), q.first.Sub(start)
}

// ask is whoHas; it returns the finished query.
func (s *Service) ask(ctx context.Context, ids []blocks.ID, wait time.Duration, enough int) *query {
	q := &query{want: map[blocks.ID]bool{}, found: map[blocks.ID][]string{}, signal: make(chan struct{}, 1),
		enough: enough, full: make(chan struct{}, 1)}
	for _, id := range ids {
		q.want[id] = true
	}
	reqID := s.queryID.Add(1)
	s.qmu.Lock()
	s.queries[reqID] = q
	s.qmu.Unlock()
	defer func() {
		s.qmu.Lock()
		delete(s.queries, reqID)
		s.qmu.Unlock()
	}()
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	backoff := 20 * time.Millisecond
	for {
		missing := q.missing()
		if len(missing) == 0 {
			return q
		}
		s.broadcastWhoHas(ctx, reqID, missing)
		select {
		case <-ctx.Done():
			return q
		case <-deadline.C:
			return q
		case <-q.signal:
			s.settle(ctx, q) // first answers: give slower holders a moment
		case <-time.After(backoff):
			backoff = min(2*backoff, time.Second)
		}
	}
}

// settle waits briefly for more answers once the first ones arrived, so a
// fetch can spread over several owners; it ends as soon as every id has
// enough holders.
func (s *Service) settle(ctx context.Context, q *query) {
	t := time.NewTimer(settleTime)
	defer t.Stop()
	select {
	case <-t.C:
	case <-q.full:
	case <-ctx.Done():
	}
}

// settleTime is how long a who-has waits for more holders after the first
// answers, at most.
const settleTime = 10 * time.Millisecond

// isFull reports whether every wanted id has enough holders; q.mu held.
func (q *query) isFull() bool {
	if q.enough <= 0 {
		return false
	}
	for id := range q.want {
		if len(q.found[id]) < q.enough {
			return false
		}
	}
	return true
}

func (q *query) result() map[blocks.ID][]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.resultLocked()
}

func (q *query) resultLocked() map[blocks.ID][]string {
	out := make(map[blocks.ID][]string, len(q.found))
	for id, ms := range q.found {
		out[id] = append([]string(nil), ms...)
	}
	return out
}

func (s *Service) broadcastWhoHas(ctx context.Context, reqID uint64, ids []blocks.ID) {
	self := s.net.Self()
	m := pubsub.Message{Type: pubsub.TypeWhoHas, From: self.ID, ReqID: reqID, ReplyTo: self.RPC, IDs: ids}
	for _, part := range pubsub.SplitIDs(m, pubsub.MaxIDs) {
		if err := s.net.Publish(ctx, part); err != nil {
			s.log.Debug().Err(err).Msg("who-has broadcast")
		}
	}
}

// IHave records a who-has answer from member node.
func (s *Service) IHave(reqID uint64, node string, ids []blocks.ID) {
	for _, id := range ids {
		s.locs.add(id, node)
	}
	s.qmu.Lock()
	q := s.queries[reqID]
	s.qmu.Unlock()
	if q == nil {
		return
	}
	q.mu.Lock()
	for _, id := range ids {
		if q.want[id] && !slices.Contains(q.found[id], node) {
			q.found[id] = append(q.found[id], node)
			if q.first.IsZero() {
				q.first = time.Now()
			}
		}
	}
	full := q.isFull()
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	if full {
		select {
		case q.full <- struct{}{}:
		default:
		}
	}
}

// HandleWhoHas answers a who-has heard on the bus with the ids this node
// holds, as blocks or as manifests, directly to the asker over rpc.
//
// An asker repeats its who-has (with backoff) until answers arrive; under
// load, answers arrive late and the repeats pile up, and with a hundred
// askers and as many holders each repeat would cost every holder an rpc.
// So a holder answers a given question (asker, request id) once, again
// only if it holds more of the ids than it said, or if the answer failed.
func (s *Service) HandleWhoHas(m pubsub.Message) {
	held := s.held(m.IDs)
	if len(held) == 0 || m.ReplyTo == "" || !s.answers.begin(m.From, m.ReqID, len(held), s.cfg.Now()) {
		return
	}
	s.goBG(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 2*time.Second)
		defer cancel()
		req := &rpc.IHaveReq{ReqID: m.ReqID, Node: s.net.Self().ID, IDs: rpc.PackIDs(held)}
		_, err := s.net.Call(ctx, m.ReplyTo, rpc.OpIHave, req, nil)
		if err != nil {
			s.log.Debug().Err(err).Str("peer", m.From).Msg("who-has answer not delivered")
		}
		s.answers.end(m.From, m.ReqID, err == nil)
	})
}

// answered remembers the who-has questions this node answered lately.
type answered struct {
	mu   sync.Mutex
	keep time.Duration
	m    map[answerKey]answer
}

type answerKey struct {
	from  string
	reqID uint64
}

type answer struct {
	held int       // ids named in the answer
	at   time.Time // when it was sent
	busy bool      // the answer is on its way
}

// maxAnswered bounds the questions remembered.
const maxAnswered = 4096

// begin reports whether to answer (from, reqID) with held ids, and marks
// the answer on its way.
func (a *answered) begin(from string, reqID uint64, held int, now time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := answerKey{from, reqID}
	if prev, ok := a.m[k]; ok && (prev.busy || (held <= prev.held && now.Sub(prev.at) < a.keep)) {
		return false
	}
	if len(a.m) >= maxAnswered {
		for k, v := range a.m {
			if !v.busy && now.Sub(v.at) >= a.keep {
				delete(a.m, k)
			}
		}
		if len(a.m) >= maxAnswered {
			return true // too many questions at once: answer without remembering
		}
	}
	a.m[k] = answer{held: held, at: now, busy: true}
	return true
}

// end records how the answer went: a failed one may be sent again.
func (a *answered) end(from string, reqID uint64, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := answerKey{from, reqID}
	if !ok {
		delete(a.m, k)
		return
	}
	if v, found := a.m[k]; found {
		v.busy = false
		a.m[k] = v
	}
}

// held returns those of ids stored here as a block or a manifest.
func (s *Service) held(ids []blocks.ID) []blocks.ID {
	has, err := s.store.HasBlocks(ids)
	if err != nil {
		return nil
	}
	var out []blocks.ID
	for i, id := range ids {
		if has[i] {
			out = append(out, id)
			continue
		}
		if _, _, err := s.store.Manifest(blocks.Ref(id)); err == nil {
			out = append(out, id)
		}
	}
	return out
}
