package shm

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/emerge-dev/emerge/blocks"
)

// File names inside Dir. Only hot copies (the ref in hex) and uploads are
// ever named to clients; temp and pool files are the node's own.
const (
	tmpPrefix    = "tmp-"  // a Writer's file while it fills
	poolPrefix   = "pool-" // a retired file kept for reuse
	uploadPrefix = "up-"   // a client's upload
)

func hotName(ref blocks.Ref) string { return ref.String() }

// uploadName is unguessable, so names from a previous run never collide.
func uploadName() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on Linux
	return uploadPrefix + hex.EncodeToString(b[:])
}

func (t *Tier) seqName(prefix string) string {
	t.seq++
	return fmt.Sprintf("%s%d", prefix, t.seq)
}

// ours reports whether the tier could have created a file of this name:
// Open removes only those, so a Dir pointed at the wrong place loses
// nothing else.
func ours(name string) bool {
	if _, err := blocks.ParseRef(name); err == nil {
		return true
	}
	for _, p := range []string{tmpPrefix, poolPrefix, uploadPrefix} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
