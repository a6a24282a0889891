//go:build race

package gateway_test

// raceEnabled: the S3 client tests, which check compatibility with real
// tools rather than concurrency, are skipped under the race detector.
const raceEnabled = true
