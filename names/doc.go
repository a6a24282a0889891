// Package names is emerge's namespace: paths such as /models/policy.bin
// bound to object refs, with versions, replicated to every node without a
// server.
//
// Every write is an immutable Entry (one version of one path) stamped with
// a hybrid logical clock (HLC) and the writer's node id. The namespace is
// the set of all entries; Merge is set union keyed by (path, HLC, writer),
// so it is idempotent and commutative, and two nodes that hold the same
// entries answer every query the same way. A path's versions are its
// entries in (HLC, writer) order, numbered 1, 2, 3...: a version's number
// is its rank, so it is a function of the set and converges with it. The
// latest entry wins (last writer wins); a tombstone entry hides the name,
// or, with AllVersions, erases every earlier version.
//
// Entries spread by broadcast (Service publishes each local write through
// its Transport) and, because broadcasts get lost, by anti-entropy: the
// namespace is split into 256 buckets by a hash of the path, each with a
// digest of its sorted entry keys; Service periodically compares digests
// with a live peer and pulls the buckets that differ.
//
// Namespace persists each changed bucket through Storage (the node's block
// store meta records) and reads them back at Open.
package names
