//go:build race

package store

// raceEnabled: the race detector slows the store ~20 times; long tests
// run fewer steps under it.
const raceEnabled = true
