package files

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/pubsub"
	"github.com/emerge-dev/emerge/registry"
	"github.com/emerge-dev/emerge/rpc"
)

func waitState(t *testing.T, s *Service, ref blocks.Ref, want string) rpc.PrefetchNode {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := s.PrefetchLocal(ref)
		if st.State == want {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("prefetch of %s: state %q (%s), want %q", ref.Short(), st.State, st.Error, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A node alone in group actor: its own prefetch is done at once (it holds
// everything), the intent survives a restart of the service, a prefetch of
// an object nobody holds fails after bounded retries, and a delete drops
// the intent and keeps the object out.
func TestPrefetchAlone(t *testing.T) {
	st, err := store.Open(store.Config{Dir: t.TempDir(), MemTableSize: 4 << 20, BlockCacheSize: 1 << 20,
		ValueLogFileSize: 16 << 20, GCInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	self := registry.Member{ID: "a", Groups: []string{"actor"}}
	cfg := Config{Store: st, BlockSize: bs, Replicas: 1, Net: solo{self: self}, LocateTimeout: 50 * time.Millisecond,
		PrefetchAnnounce: 20 * time.Millisecond}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put, err := s.Put(ctx, testdata.New(1, 5*bs+3), PutOptions{})
	ref := put.Ref
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Prefetch(ctx, ref, nil, nil); !errors.Is(err, rpc.ErrBadRequest) {
		t.Fatalf("prefetch without targets: %v", err)
	}
	if err := s.Prefetch(ctx, ref, []string{"actor"}, nil); err != nil {
		t.Fatal(err)
	}
	done := waitState(t, s, ref, StateDone)
	if done.Blocks != 6 || done.Bytes != 5*bs+3 {
		t.Fatalf("done: %+v", done)
	}

	var unknown blocks.Ref
	unknown[0] = 7
	s.HandlePrefetch(pubsub.Message{Type: pubsub.TypePrefetch, From: "b", Ref: unknown, Groups: []string{"actor"}})
	failed := waitState(t, s, unknown, StateFailed)
	if failed.Attempts < 2 || failed.Error == "" {
		t.Fatalf("failed: %+v", failed)
	}
	s.HandlePrefetch(pubsub.Message{Type: pubsub.TypePrefetch, From: "b", Ref: unknown, Groups: []string{"actor"}})
	if st := s.PrefetchLocal(unknown); st.State != StateRunning {
		t.Fatalf("a repeated announcement did not restart the failed job: %+v", st)
	}
	waitState(t, s, unknown, StateFailed)
	s.Close()

	s2, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got := len(s2.Intents()); got != 2 {
		t.Fatalf("%d intents after a restart, want 2", got)
	}
	waitState(t, s2, ref, StateDone) // resumed by the announce tick
	s2.HandleDelete(pubsub.Message{Type: pubsub.TypeDelete, From: "b", Ref: unknown, At: time.Now()})
	if got := len(s2.Intents()); got != 1 {
		t.Fatalf("%d intents after a delete, want 1", got)
	}
	// A repeat of the prefetch recorded before the delete is not taken; one
	// made after it (the object put again) is.
	before := time.Now().Add(-time.Minute)
	s2.HandlePrefetch(pubsub.Message{Type: pubsub.TypePrefetch, From: "b", Ref: unknown, Groups: []string{"actor"}, At: before})
	if got := len(s2.Intents()); got != 1 {
		t.Fatalf("a deleted object's prefetch was recorded: %d intents", got)
	}
	s2.HandlePrefetch(pubsub.Message{Type: pubsub.TypePrefetch, From: "b", Ref: unknown, Groups: []string{"actor"},
		At: time.Now().Add(time.Second)})
	if got := len(s2.Intents()); got != 2 {
		t.Fatalf("a prefetch made after the delete was not recorded: %d intents", got)
	}
}
