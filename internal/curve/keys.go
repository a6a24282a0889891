package curve

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrKey marks bad key material: a malformed key, key file, secret file or
// allowlist.
var ErrKey = errors.New("bad key")

// Keypair is a CURVE keypair in Z85 text.
type Keypair struct {
	Public string
	Secret string
}

// Generate makes a new random keypair.
func Generate() (Keypair, error) {
	k, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return Keypair{}, fmt.Errorf("curve: generate: %w", err)
	}
	return Keypair{Public: KeyText(k.PublicKey().Bytes()), Secret: KeyText(k.Bytes())}, nil
}

// FromSecret returns the keypair of a 32-byte X25519 secret key.
func FromSecret(secret []byte) (Keypair, error) {
	k, err := ecdh.X25519().NewPrivateKey(secret)
	if err != nil {
		return Keypair{}, fmt.Errorf("%w: %w", ErrKey, err)
	}
	return Keypair{Public: KeyText(k.PublicKey().Bytes()), Secret: KeyText(secret)}, nil
}

// Check verifies that both keys are well formed and belong together.
func (k Keypair) Check() error {
	sec, err := ParseKey(k.Secret)
	if err != nil {
		return fmt.Errorf("secret key: %w", err)
	}
	if _, err := ParseKey(k.Public); err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	want, err := FromSecret(sec)
	if err != nil {
		return err
	}
	if want.Public != k.Public {
		return fmt.Errorf("%w: the public key does not belong to the secret key", ErrKey)
	}
	return nil
}

// MinSecret is the shortest cluster secret accepted, in bytes.
const MinSecret = 16

// Cluster holds the keys a cluster secret gives.
type Cluster struct {
	// Server is every node's server keypair (ROUTER, XPUB).
	Server Keypair
	// Member is the client keypair of anyone holding the secret.
	Member Keypair
}

// Derive computes the cluster keys from a secret with HKDF-SHA256. The same
// secret always gives the same keys; the secret itself never leaves the
// machine.
func Derive(secret []byte) (Cluster, error) {
	if len(secret) < MinSecret {
		return Cluster{}, fmt.Errorf("%w: cluster secret of %d bytes, want at least %d", ErrKey, len(secret), MinSecret)
	}
	server, err := deriveKeypair(secret, "emerge curve server key v1")
	if err != nil {
		return Cluster{}, err
	}
	member, err := deriveKeypair(secret, "emerge curve member key v1")
	if err != nil {
		return Cluster{}, err
	}
	return Cluster{Server: server, Member: member}, nil
}

func deriveKeypair(secret []byte, info string) (Keypair, error) {
	b, err := hkdf.Key(sha256.New, secret, []byte("emerge cluster secret"), info, KeyLen)
	if err != nil {
		return Keypair{}, fmt.Errorf("curve: hkdf: %w", err)
	}
	return FromSecret(b)
}
