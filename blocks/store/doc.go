// Package store is the node's durable block store over Badger: blocks,
// manifests, the block-use index and tombstones, with pins for writes in
// progress, a sweep of what crashes leave, and a guard that refuses writes
// before the disk is full. Only the node links it; clients import blocks.
package store
