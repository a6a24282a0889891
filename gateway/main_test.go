package gateway_test

import (
	"os"
	"testing"

	"github.com/emerge-dev/emerge/internal/tune"
)

func TestMain(m *testing.M) {
	tune.Malloc()
	os.Exit(m.Run())
}
