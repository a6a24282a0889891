// Package gateway is a node's HTTP interface, for operators and the tools
// people already use:
//
//	GET  /metrics      Prometheus metrics of the node (package metrics)
//	GET  /healthz      200 while the process serves HTTP
//	GET  /readyz       200 once the store is open and the node has joined; 503 before
//	GET  /ref/<ref>    the object's bytes, streamed; Range (206), If-None-Match, HEAD; ETag is the ref
//	PUT  /ref/         the body becomes an object; 201 with its ref (POST too)
//	DELETE /ref/<ref>  delete the object network-wide
//
// The gateway holds no state of its own: it reads and writes through the
// node's object service, in process, through the small Objects interface
// (node/http.go adapts the node to it). A get streams block by block, so a
// 100 GiB object costs one block of memory; a put streams through the same
// chunker as an rpc put.
//
// Errors are a status and one line of text: 400 malformed ref or input, 404
// not found, 410 deleted, 413 too large, 416 unsatisfiable range, 503
// unavailable (too few members, node starting), 504 timed out, 507 no
// space, 500 anything else. An error after the first byte of a body was
// sent can only cut the connection short: the client sees fewer bytes than
// Content-Length said.
//
// docs/gateway.md documents the interface and the S3 decision.
package gateway
