package main

import (
	"os"
	"testing"

	"github.com/emerge-dev/emerge/internal/leakcheck"
	"github.com/emerge-dev/emerge/internal/tune"
)

func TestMain(m *testing.M) {
	tune.Malloc()
	os.Exit(leakcheck.Main(m))
}
