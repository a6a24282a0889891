// Package hostid derives an identifier for the machine a process runs on. A
// node reports it; a client compares it with its own to decide whether the
// node shares its memory (and so its /dev/shm).
package hostid

import (
	"encoding/hex"
	"os"
	"strings"

	"github.com/zeebo/blake3"
)

// Get hashes /etc/machine-id (or the D-Bus copy), the kernel boot id and the
// hostname. Two processes on one booted machine agree; containers with their
// own hostname do not, which is the safe answer, because they may not share
// /dev/shm either. Set EMERGE_HOST_ID to override.
func Get() string {
	if v := os.Getenv("EMERGE_HOST_ID"); v != "" {
		return v
	}
	h := blake3.New()
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id", "/proc/sys/kernel/random/boot_id"} {
		if b, err := os.ReadFile(p); err == nil {
			h.Write([]byte(strings.TrimSpace(string(b))))
		}
	}
	name, _ := os.Hostname()
	h.Write([]byte(name))
	return hex.EncodeToString(h.Sum(nil)[:16])
}
