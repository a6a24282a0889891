package curve

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// LoadSecret reads a cluster secret file: its bytes, surrounding whitespace
// removed, at least MinSecret of them. Loose reports whether others than the
// owner may read the file (worth a warning).
func LoadSecret(path string) (secret []byte, loose bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, fmt.Errorf("%w: cluster secret: %w", ErrKey, err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinSecret {
		return nil, false, fmt.Errorf("%w: cluster secret %s holds %d bytes, want at least %d (emerge keygen --secret writes one)",
			ErrKey, path, len(b), MinSecret)
	}
	st, err := os.Stat(path)
	return b, err == nil && st.Mode().Perm()&0o077 != 0, nil
}

// NewSecret returns a random cluster secret: 32 bytes as 64 hex characters.
func NewSecret() []byte {
	var b [32]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]) + "\n")
}

// KeyFile is what `emerge keygen` writes: a keypair, and optionally the
// cluster's server public key, so that a client can connect without the
// cluster secret.
type KeyFile struct {
	Keys      Keypair
	ServerKey string // may be empty
}

// Key file fields, one "name = value" a line; # starts a comment.
const (
	fieldPublic = "public-key"
	fieldSecret = "secret-key"
	fieldServer = "server-key"
)

// Marshal renders the key file.
func (f KeyFile) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# emerge CURVE key, made by `emerge keygen`. Keep it secret: it admits its holder.\n")
	fmt.Fprintf(&b, "# Let this key in with security.allow: %s\n", f.Keys.Public)
	fmt.Fprintf(&b, "%s = %s\n%s = %s\n", fieldPublic, f.Keys.Public, fieldSecret, f.Keys.Secret)
	if f.ServerKey != "" {
		fmt.Fprintf(&b, "%s = %s\n", fieldServer, f.ServerKey)
	}
	return b.Bytes()
}

// WriteKeyFile writes f to a new file readable by its owner only; an
// existing file is never overwritten.
func WriteKeyFile(path string, data []byte) error {
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s exists; not overwriting a key", ErrKey, path)
	}
	if err != nil {
		return err
	}
	if _, err := fh.Write(data); err != nil {
		fh.Close()
		os.Remove(path)
		return err
	}
	return fh.Close()
}

// LoadKeyFile reads and checks a key file.
func LoadKeyFile(path string) (KeyFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return KeyFile{}, fmt.Errorf("%w: key file: %w", ErrKey, err)
	}
	f, err := parseKeyFile(b)
	if err != nil {
		return KeyFile{}, fmt.Errorf("key file %s: %w", path, err)
	}
	return f, nil
}

func parseKeyFile(b []byte) (KeyFile, error) {
	var f KeyFile
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok {
			return f, fmt.Errorf("%w: line %d: want name = value", ErrKey, n)
		}
		switch name, value = strings.TrimSpace(name), strings.TrimSpace(value); name {
		case fieldPublic:
			f.Keys.Public = value
		case fieldSecret:
			f.Keys.Secret = value
		case fieldServer:
			f.ServerKey = value
		default:
			return f, fmt.Errorf("%w: line %d: unknown field %q", ErrKey, n, name)
		}
	}
	if err := f.Keys.Check(); err != nil {
		return f, err
	}
	if f.ServerKey != "" {
		if _, err := ParseKey(f.ServerKey); err != nil {
			return f, fmt.Errorf("server key: %w", err)
		}
	}
	return f, nil
}
