// Package client is emerge's Go client. It talks to one node over the rpc
// protocol; that node does the network work (finding owners, fetching,
// replicating).
//
//	c, err := client.Dial(ctx, "tcp://127.0.0.1:7700", nil)
//	ref, err := c.Put(ctx, file, client.PutOptions{})
//	r, err := c.Get(ctx, ref) // io.ReadCloser, streams block by block
//
// Puts stream: at most Window blocks are in flight, so an object of any size
// passes through a few blocks of memory. Gets stream the same way and verify
// every block from a node on another machine against its id before handing
// it out; a node on this machine (same host id) has verified each block
// itself, so its blocks are not hashed twice on one machine (Options.VerifyLocal).
//
// When the node runs on this machine (same host id), large objects skip the
// socket: Get reads the node's shared-memory hot copy, Put fills a
// shared-memory upload, and GetView hands out the hot copy's memory itself.
// Whatever cannot use shared memory streams instead (see shm.go and
// docs/architecture.md); Options.NoShm turns it off.
package client
