package rpc

import (
	"os"
	"testing"

	"github.com/emerge-dev/emerge/internal/tune"
)

func TestMain(m *testing.M) {
	if os.Getenv("EMERGE_NO_TUNE") == "" {
		tune.Malloc()
	}
	os.Exit(m.Run())
}
