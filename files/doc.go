// Package files implements object operations on top of a node's block store:
// streamed uploads (chunk, hash, store, commit), reads of an object's blocks,
// delete and list. The peer-network layer (replication, who-has discovery,
// parallel fetch with failover, prefetch) plugs in here too, so that the rpc
// handlers in node stay thin.
package files
