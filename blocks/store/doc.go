// Package store is the node's durable block store over Badger: blocks,
// manifests, the block-use index and tombstones, with pins for writes in
// progress, a sweep of what crashes leave, and a guard that refuses writes
// before the disk is full. A background loop gives deleted space back when
// the disk is short of it (value-log GC, rotating Badger's head file by
// reopening the database when GC alone cannot) and evicts cached copies
// (objects committed with UseCache), least recently read first, past a
// byte cap or below a free-space watermark. Only the node links it; clients
// import blocks.
package store
