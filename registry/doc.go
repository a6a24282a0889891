// Package registry is emerge's member table: who is in the network, at which
// endpoints, on which machine, in which groups, and whether this node has
// heard from them lately. It also decides placement: which members own a
// block (rendezvous hashing), and persists the table as a snapshot.
//
// It is a pure state machine. It sends nothing and starts no goroutine; the
// node feeds it what the bus and rpc bring (Merge, Heard), drives its clock
// (Tick) and acts on what it returns (a pull flag, events). Time comes from
// Config.Now and from Tick's argument, so tests control it completely.
//
// # Model (SWIM/serf style)
//
// Each member owns its record (Member) and is the only one to change it,
// raising its Incarnation every time. Nodes gossip records; Merge keeps the
// higher incarnation, and for equal incarnations with different content a
// deterministic tie-break (Left wins, then the larger canonical encoding), so
// every node converges on the same table whatever order records arrive in.
// A node that sees a record about itself that would beat its own (a stale
// record from before a restart, say) refutes it by raising its incarnation
// above it.
//
// Liveness is local and never gossiped: Alive while heartbeats arrive,
// Suspect after SuspectAfter without one, Dead after DeadAfter, Left when the
// member's own record says it left gracefully. A heartbeat (Heard) of an
// incarnation at least the stored one makes the member Alive again; a higher
// incarnation also asks the caller to pull the newer record. Dead and Left
// members stay in the table, so a restart is recognised, until RemoveAfter;
// then they are pruned and a tombstone stops second-hand gossip from bringing
// them back (a heartbeat from the member itself clears the tombstone).
//
// Learned second-hand: a member first learned from gossip (Merge) starts
// Alive with its timers running from that moment, as in memberlist; if it is
// in fact gone, it turns Suspect and Dead on the usual schedule. A higher
// incarnation learned second-hand is also treated as a sign of life. Members
// restored from a snapshot start Suspect instead: the snapshot may be old,
// and placement should not prefer them until they are heard first-hand (they
// still count as live, so a restarted node can place blocks at once).
//
// Digest hashes the gossiped records only, never liveness, so two nodes with
// the same table have the same digest; a heartbeat carrying a different
// digest tells the node to pull the table.
//
// # Placement
//
// Place and Rank use rendezvous (highest random weight) hashing: every member
// gets a 64-bit score from the key and its id, and the top n scores own the
// key. The score function is part of the protocol: every node must compute
// the same one, and changing it moves every block. It is a 64-bit mix, not a
// cryptographic hash (see place.go and BenchmarkPlace for why).
package registry
