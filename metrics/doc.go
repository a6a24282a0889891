// Package metrics is a node's Prometheus instrumentation: a registry of the
// node's own (never the global one, so many nodes run in one process), the
// counters and histograms the node's parts report events to, and a
// collector that reads state (members, store, shared memory, prefetch jobs)
// when Prometheus scrapes.
//
// The packages that do the work do not import Prometheus: the rpc server
// reports through its ServerConfig.Observe hook, the object service through
// the files.Metrics interface, which *Metrics implements; the node wires
// both (node/metrics.go) and serves Handler at /metrics.
//
// Names follow Prometheus conventions: the emerge_ prefix, base units
// (seconds, bytes), _total on counters, and labels with a small fixed set
// of values (op, status, remote, state, result). Unknown rpc ops and
// statuses a hostile peer might send are all labelled "unknown", so no
// input can grow the number of series. docs/operations.md lists every
// metric.
package metrics
