package client_test

import (
	"os"
	"testing"

	"github.com/emerge-dev/emerge/internal/leakcheck"
)

func TestMain(m *testing.M) { os.Exit(leakcheck.Main(m)) }
