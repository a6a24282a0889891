package rpc

// Put to a swarm: a put that names prefetch targets tells them, before it
// commits, that it is landing on the node that takes it (put_swarm); each
// target then asks that node which blocks have landed (put_landed) and
// pulls them from their replica holders and from each other as they land.
// See docs/mover.md, "Put to a swarm".

// States of a landing put, in PutLandedRep.State.
const (
	LandingOpen      uint8 = 0 // blocks are still landing
	LandingCommitted uint8 = 1 // the put committed as Ref; IDs lists every block
	LandingAborted   uint8 = 2 // the put failed or was aborted: drop what was pulled for it
)

// NoHolder in PutLandedRep.Holder: no other member holds the block yet.
const NoHolder = 0xff

// PutSwarmReq tells a prefetch target that a put is landing on Source,
// under the pending key Pending (the key its copies are held under until
// the ref is known). No reply body.
type PutSwarmReq struct {
	Header
	Pending []byte `msgpack:"pending"`
	Source  string `msgpack:"src"`
}

// PutLandedReq asks the node taking the put under Pending for the blocks
// that landed from position From of its landing order on.
type PutLandedReq struct {
	Header
	Pending []byte `msgpack:"pending"`
	From    int    `msgpack:"from"`
}

// PutLandedRep lists at most MaxIDs landed blocks in landing order, each
// stored on the answering node and with its replica pushes done. Holder has
// one byte per id: the index in Members of a member that took a replica
// (NoHolder: none). An unknown Pending is answered with StatusNotFound,
// which a target treats as LandingAborted.
type PutLandedRep struct {
	Header
	IDs     IDs     `msgpack:"ids"`
	Members Strings `msgpack:"members,omitempty"`
	Holder  []byte  `msgpack:"holder,omitempty"`
	State   uint8   `msgpack:"state"`
	Ref     []byte  `msgpack:"ref,omitempty"`
}
