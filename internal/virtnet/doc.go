// Package virtnet is a network of emerge nodes inside one test process:
// no sockets, yet every rpc request and reply goes through the rpc codecs
// and caps (rpc.EncodeRequest, rpc.ServeFrames, rpc.DecodeReply) and every
// bus message through the pubsub codec (a pubsub.Hub). Links have latency,
// jitter and bandwidth; the bus can lose messages; nodes can be
// partitioned, frozen (they answer nothing and are heard by no one, their
// connections stay open) and killed (their connections drop). Random draws
// come from one seed, so a failing run can be replayed with the seed it
// printed (up to goroutine scheduling).
//
// It is the idea of the virtual test network of boxo's bitswap: scale
// (a hundred nodes in seconds) for tests of the peer protocol. It never
// replaces the tests that start real nodes on real sockets.
package virtnet
