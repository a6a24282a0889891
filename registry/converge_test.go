package registry

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestGossipConverges is a property test: K registries change their own
// records, receive conflicting and stale records, and exchange random
// subsets of their tables in random order, losing half of every exchange.
// Once the changes stop and gossip goes on, every registry must hold the
// same table (same digest, same records), each member's record must be the
// one it holds itself, and a contested record must be the tie-break winner.
func TestGossipConverges(t *testing.T) {
	seeds := 40
	if testing.Short() {
		seeds = 8
	}
	for seed := range seeds {
		t.Run(strconv.Itoa(seed), func(t *testing.T) { runGossip(t, uint64(seed)) })
	}
}

type gossipSim struct {
	t      *testing.T
	rng    *rand.Rand
	regs   []*Registry
	ghosts map[string]Member // id -> best record injected so far
}

func runGossip(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	clk := newClock()
	s := &gossipSim{t: t, rng: rng, ghosts: map[string]Member{}}
	for i := range 3 + rng.IntN(6) {
		s.regs = append(s.regs, newReg(t, "n"+strconv.Itoa(i), clk))
	}
	for range 300 {
		s.randomAction()
	}
	for round := 0; !s.converged(); round++ {
		if round > 20000 {
			t.Fatalf("no convergence after %d gossip rounds", round)
		}
		s.gossip()
	}
	s.checkFinal()
}

func (s *gossipSim) randomAction() {
	r := s.regs[s.rng.IntN(len(s.regs))]
	switch p := s.rng.IntN(100); {
	case p < 50:
		s.gossip()
	case p < 75:
		_, _ = r.SetGroups(s.randomGroups())
	case p < 80:
		_, _ = r.JoinGroup(s.randomGroups1())
	case p < 85:
		_, _ = r.LeaveGroup(s.randomGroups1())
	case p < 93:
		s.injectGhost(r)
	case p < 99:
		s.injectStale(r)
	default:
		r.Leave()
	}
}

// injectGhost gives r a record of a member that is not running, with a
// small incarnation, so that equal incarnations with different content meet.
func (s *gossipSim) injectGhost(r *Registry) {
	m := Member{ID: "ghost" + strconv.Itoa(s.rng.IntN(3)), Incarnation: uint64(1 + s.rng.IntN(3)),
		Groups: s.randomGroups(), Left: s.rng.IntN(5) == 0, RPC: "tcp://g:" + strconv.Itoa(s.rng.IntN(3))}
	r.Merge(m)
	m = m.normalized()
	if best, ok := s.ghosts[m.ID]; !ok || beats(m, best) {
		s.ghosts[m.ID] = m
	}
}

// injectStale gives r a forged record of a running member, possibly newer
// than the member's own: the member must refute it once it arrives.
func (s *gossipSim) injectStale(r *Registry) {
	victim := s.regs[s.rng.IntN(len(s.regs))].Self()
	m := mem(victim.ID, uint64(s.rng.IntN(int(victim.Incarnation)+3)), s.randomGroups()...)
	r.Merge(m)
}

func (s *gossipSim) randomGroups() []string {
	var gs []string
	for _, g := range []string{"actor", "learner", "eval", "cache"} {
		if s.rng.IntN(2) == 0 {
			gs = append(gs, g)
		}
	}
	s.rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	return gs
}

func (s *gossipSim) randomGroups1() string {
	return []string{"actor", "learner", "eval", "cache"}[s.rng.IntN(4)]
}

// gossip sends a random half of one table, shuffled, to another registry.
func (s *gossipSim) gossip() {
	from, to := s.regs[s.rng.IntN(len(s.regs))], s.regs[s.rng.IntN(len(s.regs))]
	var batch []Member
	for _, st := range from.Members() {
		if s.rng.IntN(2) == 0 {
			batch = append(batch, st.Member)
		}
	}
	s.rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
	to.MergeAll(batch)
}

func (s *gossipSim) converged() bool {
	d := s.regs[0].Digest()
	for _, r := range s.regs[1:] {
		if r.Digest() != d {
			return false
		}
	}
	return true
}

func (s *gossipSim) checkFinal() {
	t := s.t
	want := tableString(s.regs[0])
	for i, r := range s.regs {
		if got := tableString(r); got != want {
			t.Fatalf("registry %d: equal digest but table\n%s\nwant\n%s", i, got, want)
		}
		self := r.Self()
		for _, o := range s.regs {
			if st, ok := o.Get(self.ID); !ok || !st.Member.Equal(self) {
				t.Fatalf("%s's record elsewhere is %+v, its own is %+v", self.ID, st.Member, self)
			}
		}
	}
	for id, best := range s.ghosts {
		st, ok := s.regs[0].Get(id)
		if !ok || !st.Member.Equal(best) {
			t.Fatalf("ghost %s converged to %+v, tie-break winner is %+v", id, st.Member, best)
		}
	}
}

func tableString(r *Registry) string {
	var out string
	for _, st := range r.Members() {
		out += fmt.Sprintf("%+v\n", st.Member)
	}
	return out
}
