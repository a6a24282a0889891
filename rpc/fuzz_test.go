package rpc

import (
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func FuzzParseFrames(f *testing.F) {
	seed := func(b Body, op Op) []byte { h, _ := encodeHeader(b, op, 7); return h }
	f.Add(seed(&PingReq{}, OpPing), []byte{})
	f.Add(seed(&PutObjectReq{PutParams: PutParams{BlockSize: 1 << 20, Meta: Meta{"a": "b"}}}, OpPutObject), []byte("data"))
	f.Add(seed(&GetObjectReq{Ref: make([]byte, 32), Count: 3, Manifest: true}, OpGetObject), []byte{})
	f.Add(seed(&ListRep{Items: ObjectInfos{{Ref: make([]byte, 32), Size: 5}}}, OpList), []byte{})
	f.Add(seed(&PrefetchStatusRep{Ref: make([]byte, 32), Nodes: PrefetchNodeList{{Node: "n", State: "done"}}}, OpPrefetchStatus), []byte{})
	f.Add(seed(&PrefetchIntentsRep{Intents: PrefetchIntentList{{Ref: make([]byte, 32), From: "n", Groups: Strings{"actor"}}}}, OpPrefetchList), []byte{})
	f.Add(seed(&NameListRep{Items: NameItems{{Path: "/a", Latest: NameEntry{Path: "/a", Ref: make([]byte, 32)}}}}, OpNameList), []byte{})
	f.Add(seed(&NameRemoveRep{Deleted: Refs{make([]byte, 32)}}, OpNameRemove), []byte{})
	f.Add([]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, []byte{}) // map claiming 4G entries
	f.Fuzz(func(t *testing.T, head, data []byte) {
		m, err := ParseFrames([][]byte{head, data}, DefaultLimits())
		if err != nil {
			return
		}
		// Every op body must decode or fail cleanly: never panic.
		for _, b := range []Body{&PutObjectReq{}, &GetObjectReq{}, &ListRep{}, &StatRep{}, &PutCommitReq{}, &PingRep{},
			&GroupReq{}, &PrefetchReq{}, &PrefetchStatusReq{}, &PrefetchStatusRep{}, &PrefetchIntentsRep{},
			&NameBindReq{}, &NameEntryRep{}, &NameListRep{}, &NameVersionsRep{}, &NameRemoveRep{}, &NameDigestsRep{}} {
			if m.Decode(b) == nil {
				if _, err := msgpack.Marshal(b); err != nil {
					t.Fatalf("decoded body does not re-encode: %v", err)
				}
			}
		}
	})
}
