package curve

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"os"
	"strings"
	"sync/atomic"
)

// Allowlist is the set of client public keys a node lets in. Reads are
// lock-free; Set replaces the whole set. Safe for concurrent use.
type Allowlist struct {
	keys atomic.Pointer[map[string]bool]
}

// NewAllowlist returns a list holding keys.
func NewAllowlist(keys ...string) *Allowlist {
	a := &Allowlist{}
	a.Set(keys)
	return a
}

// Allowed reports whether the Z85 public key is let in.
func (a *Allowlist) Allowed(key string) bool {
	if a == nil {
		return false
	}
	return (*a.keys.Load())[key]
}

// Set replaces the list and reports whether it changed.
func (a *Allowlist) Set(keys []string) bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	old := a.keys.Swap(&m)
	return old == nil || !maps.Equal(*old, m)
}

// Len is the number of keys let in.
func (a *Allowlist) Len() int { return len(*a.keys.Load()) }

// ParseAllow checks a list of Z85 public keys.
func ParseAllow(keys []string) error {
	for _, k := range keys {
		if _, err := ParseKey(k); err != nil {
			return fmt.Errorf("allow: %w", err)
		}
	}
	return nil
}

// LoadAllowFile reads an allow file: one Z85 public key a line, optionally
// followed by a label ("<key> alice's laptop"); blank lines and lines
// starting with # are skipped (no key starts with #: a Z85 group's first
// character is at most the 83rd of the alphabet).
func LoadAllowFile(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: allow file: %w", ErrKey, err)
	}
	var keys []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k := strings.Fields(line)[0]
		if _, err := ParseKey(k); err != nil {
			return nil, fmt.Errorf("allow file %s line %d: %w", path, n, err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}
