package blocks

import (
	"encoding/hex"
	"fmt"

	"github.com/zeebo/blake3"
)

// IDSize is the length in bytes of a block id and of a ref.
const IDSize = 32

// ID identifies a block: the BLAKE3-256 hash of its bytes. BLAKE3 was chosen
// over SHA-256 after measuring both on the target machine; see
// docs/benchmarks.md ("Block hash").
type ID [IDSize]byte

// Ref identifies an object: the hash of its manifest's identity encoding.
type Ref [IDSize]byte

// Sum returns the id of a block holding b.
func Sum(b []byte) ID { return ID(blake3.Sum256(b)) }

// Verify reports ErrHashMismatch when b does not hash to id.
func Verify(id ID, b []byte) error {
	if Sum(b) != id {
		return fmt.Errorf("%w: block %s", ErrHashMismatch, id.Short())
	}
	return nil
}

func (id ID) String() string               { return hex.EncodeToString(id[:]) }
func (r Ref) String() string               { return hex.EncodeToString(r[:]) }
func (id ID) Short() string                { return hex.EncodeToString(id[:6]) }
func (r Ref) Short() string                { return hex.EncodeToString(r[:6]) }
func (id ID) IsZero() bool                 { return id == ID{} }
func (r Ref) IsZero() bool                 { return r == Ref{} }
func (r Ref) MarshalText() ([]byte, error) { return []byte(r.String()), nil }
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses the 64-character hex form.
func (r *Ref) UnmarshalText(b []byte) error {
	v, err := ParseRef(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// UnmarshalText parses the 64-character hex form.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseRef parses the 64-character hex form of a ref.
func ParseRef(s string) (Ref, error) {
	b, err := parseHex(s)
	return Ref(b), err
}

// ParseID parses the 64-character hex form of a block id.
func ParseID(s string) (ID, error) {
	b, err := parseHex(s)
	return ID(b), err
}

func parseHex(s string) ([IDSize]byte, error) {
	var out [IDSize]byte
	if len(s) != 2*IDSize {
		return out, fmt.Errorf("%w: %q: want %d hex characters, got %d", ErrBadRef, clip(s), 2*IDSize, len(s))
	}
	if _, err := hex.Decode(out[:], []byte(s)); err != nil {
		return out, fmt.Errorf("%w: %q: not hex", ErrBadRef, clip(s))
	}
	return out, nil
}

// clip keeps error messages one line and short whatever the user typed.
func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}
