// Package bench holds emerge's foundation benchmarks: puts and gets through
// one in-process node, each reported next to reference figures measured in
// the same benchmark invocation (Badger alone, the store.Store alone, raw
// loopback TCP, Redis), as ratios via b.ReportMetric.
//
// Nothing here runs under a plain `go test ./...`: the benchmarks need
// -bench, and the few Tests are quick checks of the reference code. Run
// everything with `make bench` (bench/run.sh); docs/benchmarks.md records
// the figures and how to read them.
package bench
