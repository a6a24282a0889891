package rpc

import (
	"github.com/vmihailenco/msgpack/v5"
)

// Group actions of GroupReq.
const (
	GroupList  = "ls"
	GroupJoin  = "join"
	GroupLeave = "leave"
)

// GroupReq changes or lists the groups of the answering node. Name is
// required for join and leave. The reply is a GroupRep.
type GroupReq struct {
	Header
	Action string `msgpack:"action"`
	Name   string `msgpack:"name,omitempty"`
}

// GroupRep lists the answering node's groups after the action.
type GroupRep struct {
	Header
	Node   string  `msgpack:"node"`
	Groups Strings `msgpack:"groups"`
}

// PrefetchReq asks the answering node, which holds the object, to spread
// Ref to every member of Groups and to Nodes. The reply is an empty ok.
type PrefetchReq struct {
	Header
	Ref    []byte  `msgpack:"ref"`
	Groups Strings `msgpack:"groups,omitempty"`
	Nodes  Strings `msgpack:"nodes,omitempty"`
}

// PrefetchStatusReq asks for the progress of the prefetch of Ref. With
// Local set, the answering node reports only itself (one entry, the way a
// node asks a target); otherwise it asks every live target and reports
// them all.
type PrefetchStatusReq struct {
	Header
	Ref   []byte `msgpack:"ref"`
	Local bool   `msgpack:"local,omitempty"`
}

// PrefetchNode is one target's progress.
type PrefetchNode struct {
	Node     string `msgpack:"node"`
	State    string `msgpack:"state"` // unknown, pending, running, done, failed
	Blocks   int    `msgpack:"blocks"`
	Total    int    `msgpack:"total"`
	Bytes    int64  `msgpack:"bytes"`  // of the object held by the node
	Size     int64  `msgpack:"size"`   // the object's size
	Served   int64  `msgpack:"served"` // bytes the node has served to peers (all objects)
	Attempts int    `msgpack:"attempts,omitempty"`
	Error    string `msgpack:"err,omitempty"`
	Started  int64  `msgpack:"started,omitempty"`  // unix ns
	Finished int64  `msgpack:"finished,omitempty"` // unix ns
}

// PrefetchStatusRep lists the targets' progress, and the answering node's
// egress counter (bytes served by GetBlocks).
type PrefetchStatusRep struct {
	Header
	Ref    []byte           `msgpack:"ref"`
	Source string           `msgpack:"source"`
	Groups Strings          `msgpack:"groups,omitempty"`
	Nodes  PrefetchNodeList `msgpack:"nodes"`
	Served int64            `msgpack:"served"`
}

// PrefetchIntent is a prefetch a node knows of: what to spread, to whom,
// started by whom and when.
type PrefetchIntent struct {
	Ref    []byte  `msgpack:"ref"`
	From   string  `msgpack:"from"`
	Groups Strings `msgpack:"groups,omitempty"`
	Nodes  Strings `msgpack:"nodes,omitempty"`
	At     int64   `msgpack:"at"`
}

// PrefetchIntentsRep answers PrefetchIntents: the prefetches the answering
// node knows of, for a node catching up after joining or coming back.
type PrefetchIntentsRep struct {
	Header
	Intents PrefetchIntentList `msgpack:"intents"`
}

// MaxPrefetchIntents caps the intents of one reply (and those a node keeps).
const MaxPrefetchIntents = 1024

// PrefetchNodeList is a capped list of target progress entries.
type PrefetchNodeList []PrefetchNode

// DecodeMsgpack reads at most MaxMembers entries.
func (l *PrefetchNodeList) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := capLen(d, MaxMembers)
	if err != nil || n < 0 {
		*l = nil
		return err
	}
	out := make(PrefetchNodeList, n)
	for i := range out {
		if err := d.Decode(&out[i]); err != nil {
			return err
		}
	}
	*l = out
	return nil
}

// PrefetchIntentList is a capped list of intents.
type PrefetchIntentList []PrefetchIntent

// DecodeMsgpack reads at most MaxPrefetchIntents intents.
func (l *PrefetchIntentList) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := capLen(d, MaxPrefetchIntents)
	if err != nil || n < 0 {
		*l = nil
		return err
	}
	out := make(PrefetchIntentList, n)
	for i := range out {
		if err := d.Decode(&out[i]); err != nil {
			return err
		}
	}
	*l = out
	return nil
}
