// Package membership runs the membership protocol of one node over its
// registry: join through a seed, heartbeats on the bus, liveness ticks,
// member-table pulls when heartbeat digests differ, a bus subscription to
// every member, leave, and the table persisted so a restarted node knows
// the network before anyone answers. It serves the peer ops join (12),
// registry (13) and members (14).
//
// It talks to other nodes through an rpc.Caller and a pubsub.Bus: the
// ZeroMQ ones in a node, a virtual network in tests.
package membership
