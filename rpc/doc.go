// Package rpc is emerge's request/reply wire protocol over ZeroMQ: the frame
// layout and caps, the op and status numbers, the ROUTER Server that
// dispatches requests to a Handler concurrently, and Conn, a DEALER client
// that keeps many requests in flight matched by request id.
//
// Wire form (docs/protocol.md has the full table): every message is the REQ
// envelope — an empty delimiter frame — then one msgpack header frame, then
// zero or more raw data frames (block bytes are never msgpack-encoded). The
// header is a map {v, op, id, st, msg, ...op fields}. A plain ZeroMQ REQ
// socket in any language can talk to a node.
//
// Sockets are owned by one goroutine each. An owner sleeps in Go's netpoller
// on its socket's ZMQ_FD; callers hand it messages over channels and wake it
// directly (sleep.go). Handlers run on reused worker goroutines
// (workers.go), or on the owner itself when registered as never blocking
// (HandleInline, inline.go).
//
// The server admits requests fairly (admit.go): a cap per connection with a
// queue served in turn, and slots kept for control ops. With a
// curve.Server in its config the ROUTER runs CURVE and checks the key of
// every request against the allowlist; a Conn with a curve.Client runs CURVE
// and turns a refused handshake into ErrDenied at once (conn_auth.go).
package rpc
