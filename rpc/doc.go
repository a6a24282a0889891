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
// Sockets are owned by one goroutine each; callers hand messages to the owner
// over channels and wake it through an inproc socket (see wake.go).
package rpc
