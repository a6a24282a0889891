//go:build race

package files_test

// raceEnabled: the virtual-network tests run 25 nodes instead of 100 under
// the race detector.
const raceEnabled = true
