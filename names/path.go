package names

import (
	"fmt"
	"strconv"
	"strings"
)

// Caps on paths.
const (
	// MaxPath caps a path's length in bytes.
	MaxPath = 1024
	// MaxSegment caps one segment (a directory or file name).
	MaxSegment = 255
)

// IsPath tells a name from a ref on the command line and in APIs: names
// start with "/", refs never do.
func IsPath(s string) bool { return strings.HasPrefix(s, "/") }

// ValidatePath checks that p is an absolute, clean path naming an entry:
// it starts with "/", has no empty, "." or ".." segment, does not end with
// "/", holds no '@' (it introduces a version) and no control character, and
// fits MaxPath and MaxSegment.
func ValidatePath(p string) error {
	if err := validatePrefix(p); err != nil {
		return err
	}
	if p == "/" || strings.HasSuffix(p, "/") {
		return fmt.Errorf("%w: %q ends with / (a directory, not a name)", ErrBadPath, p)
	}
	return nil
}

// ValidatePrefix checks a listing prefix: "/" or a valid path, optionally
// ending with "/".
func ValidatePrefix(p string) error {
	if p == "/" {
		return nil
	}
	return validatePrefix(strings.TrimSuffix(p, "/"))
}

func validatePrefix(p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty path", ErrBadPath)
	case len(p) > MaxPath:
		return fmt.Errorf("%w: path of %d bytes, limit %d", ErrBadPath, len(p), MaxPath)
	case !IsPath(p):
		return fmt.Errorf("%w: %q is not absolute (names start with /)", ErrBadPath, p)
	case p == "/":
		return nil
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if err := validateSegment(p, seg); err != nil {
			return err
		}
	}
	return nil
}

func validateSegment(p, seg string) error {
	switch {
	case seg == "":
		return fmt.Errorf("%w: %q has an empty segment (//)", ErrBadPath, p)
	case seg == "." || seg == "..":
		return fmt.Errorf("%w: %q has a %q segment", ErrBadPath, p, seg)
	case len(seg) > MaxSegment:
		return fmt.Errorf("%w: a segment of %q has %d bytes, limit %d", ErrBadPath, p, len(seg), MaxSegment)
	case strings.ContainsRune(seg, '@'):
		return fmt.Errorf("%w: %q contains @ (reserved for path@version)", ErrBadPath, p)
	}
	for _, r := range seg {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%w: %q contains a control character", ErrBadPath, p)
		}
	}
	return nil
}

// ParseTarget splits "path" or "path@N" into the path and the version (0:
// the latest), and validates both.
func ParseTarget(s string) (string, int, error) {
	p, v, ok := strings.Cut(s, "@")
	if !ok {
		return s, 0, ValidatePath(s)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return "", 0, fmt.Errorf("%w: %q: version %q is not a positive integer", ErrBadPath, s, v)
	}
	return p, n, ValidatePath(p)
}
