//go:build race

package names_test

// raceEnabled: the virtual-network test runs 16 nodes instead of 50 under
// the race detector.
const raceEnabled = true
