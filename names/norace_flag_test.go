//go:build !race

package names_test

const raceEnabled = false
