package curve

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Z85 (ZeroMQ RFC 32) is the text form of CURVE keys: 4 bytes to 5
// characters, so a 32-byte key is 40 characters.
const z85Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"

// KeyLen is the length of a CURVE key in bytes and in Z85 text.
const (
	KeyLen    = 32
	KeyZ85Len = 40
)

var z85Values = func() (v [256]int16) {
	for i := range v {
		v[i] = -1
	}
	for i, c := range []byte(z85Alphabet) {
		v[c] = int16(i)
	}
	return v
}()

// z85Encode encodes b, whose length must be a multiple of 4.
func z85Encode(b []byte) string {
	var sb strings.Builder
	for i := 0; i+4 <= len(b); i += 4 {
		v := binary.BigEndian.Uint32(b[i:])
		var chunk [5]byte
		for j := 4; j >= 0; j-- {
			chunk[j] = z85Alphabet[v%85]
			v /= 85
		}
		sb.Write(chunk[:])
	}
	return sb.String()
}

// z85Decode decodes s, whose length must be a multiple of 5.
func z85Decode(s string) ([]byte, error) {
	if len(s)%5 != 0 {
		return nil, fmt.Errorf("%w: Z85 text of %d characters, not a multiple of 5", ErrKey, len(s))
	}
	out := make([]byte, 0, len(s)/5*4)
	for i := 0; i < len(s); i += 5 {
		var v uint64
		for j := 0; j < 5; j++ {
			d := z85Values[s[i+j]]
			if d < 0 {
				return nil, fmt.Errorf("%w: %q is not a Z85 character", ErrKey, s[i+j])
			}
			v = v*85 + uint64(d)
		}
		if v > 0xffffffff {
			return nil, fmt.Errorf("%w: Z85 group %q out of range", ErrKey, s[i:i+5])
		}
		out = binary.BigEndian.AppendUint32(out, uint32(v))
	}
	return out, nil
}

// ParseKey checks that s is a Z85 key (40 characters, 32 bytes) and returns
// its bytes.
func ParseKey(s string) ([]byte, error) {
	if len(s) != KeyZ85Len {
		return nil, fmt.Errorf("%w: key %q is %d characters, want %d (Z85)", ErrKey, short(s), len(s), KeyZ85Len)
	}
	return z85Decode(s)
}

// KeyText is the Z85 form of a 32-byte key.
func KeyText(b []byte) string { return z85Encode(b) }

func short(s string) string {
	if len(s) > 48 {
		return s[:45] + "..."
	}
	return s
}
