package rpc

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// The prefetch lists refuse counts over their caps before allocating.
func TestPrefetchListsCapped(t *testing.T) {
	big := make(PrefetchIntentList, MaxPrefetchIntents+1)
	b, err := msgpack.Marshal(&PrefetchIntentsRep{Intents: big})
	if err != nil {
		t.Fatal(err)
	}
	var rep PrefetchIntentsRep
	if err := msgpack.Unmarshal(b, &rep); err == nil {
		t.Fatalf("%d intents accepted, cap %d", len(rep.Intents), MaxPrefetchIntents)
	}
	nodes := make(PrefetchNodeList, MaxMembers+1)
	b, _ = msgpack.Marshal(&PrefetchStatusRep{Nodes: nodes})
	var st PrefetchStatusRep
	if err := msgpack.Unmarshal(b, &st); err == nil {
		t.Fatalf("%d status entries accepted, cap %d", len(st.Nodes), MaxMembers)
	}
	ok := PrefetchStatusRep{Ref: make([]byte, 32), Nodes: PrefetchNodeList{{Node: "a", State: "done", Blocks: 3}}}
	b, _ = msgpack.Marshal(&ok)
	if err := msgpack.Unmarshal(b, &st); err != nil || len(st.Nodes) != 1 || st.Nodes[0].Blocks != 3 {
		t.Fatalf("round trip: %+v %v", st, err)
	}
}
