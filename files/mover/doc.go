// Package mover moves blocks between this node and its peers: one
// scheduler for every purpose (a get pulling an object in order, a prefetch
// pulling rarest-or-random first, a put or a repair pushing copies to the
// members placement names). What differs between them is a Policy: which
// blocks may start, where each may go (candidates in tiers) and how many
// requests each peer may have in flight. What every purpose needs is done
// here, once:
//
//   - one goroutine (Run) owns the scheduling state; transfers run on their
//     own goroutines and report back over a channel;
//   - failover: a block whose transfer fails goes to the next candidate; a
//     peer that errors (unreachable, timed out, failing) is not asked again
//     by this mover, one that only lacks the block is;
//   - liveness: transfers in flight to a peer that stops being alive (the
//     registry calls it suspect or dead) are canceled at once and moved on,
//     so a frozen member costs about the suspect time, not a timeout;
//   - who-has: blocks with no candidate left are looked up (Locate), and the
//     members found become candidates;
//   - the no-progress deadline: the mover fails when blocks are stuck and no
//     block has landed for NoProgress;
//   - a byte-rate limit and a cap on transfers in flight, both optional;
//   - cancellation, and every goroutine joined before Run returns.
//
// docs/mover.md explains the states a block goes through and each policy.
package mover
