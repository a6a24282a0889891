package curve

import (
	"errors"
	"fmt"

	zmq "github.com/pebbe/zmq4"
)

// Server is what a CURVE server socket (ROUTER, XPUB) needs: its keypair,
// and the keys its ZAP handler lets in (the rpc server checks them again on
// every request).
type Server struct {
	Keys  Keypair
	Allow *Allowlist
}

// Client is what a CURVE client socket (DEALER, SUB) needs: the server's
// public key and its own keypair.
type Client struct {
	ServerKey string
	Keys      Keypair
}

// Apply makes sock a CURVE server. Call it before Bind.
func (s *Server) Apply(sock *zmq.Socket) error {
	if !zmq.HasCurve() {
		return errors.New("curve: this libzmq was built without CURVE (libsodium)")
	}
	err := errors.Join(sock.SetCurveServer(1), sock.SetCurveSecretkey(s.Keys.Secret))
	if err != nil {
		return fmt.Errorf("curve server: %w", err)
	}
	return nil
}

// Apply makes sock a CURVE client of the server. Call it before Connect.
func (c *Client) Apply(sock *zmq.Socket) error {
	if !zmq.HasCurve() {
		return errors.New("curve: this libzmq was built without CURVE (libsodium)")
	}
	err := errors.Join(sock.SetCurveServerkey(c.ServerKey), sock.SetCurvePublickey(c.Keys.Public),
		sock.SetCurveSecretkey(c.Keys.Secret))
	if err != nil {
		return fmt.Errorf("curve client: %w", err)
	}
	return nil
}

// ClientFromFiles builds a client's keys from a cluster secret file and/or a
// key file. Both empty: nil (plaintext). The client key is the key file's,
// else the member key; the server key is derived from the secret, else taken
// from the key file.
func ClientFromFiles(secretFile, keyFile string) (*Client, error) {
	if secretFile == "" && keyFile == "" {
		return nil, nil
	}
	var c Client
	if secretFile != "" {
		secret, _, err := LoadSecret(secretFile)
		if err != nil {
			return nil, err
		}
		cl, err := Derive(secret)
		if err != nil {
			return nil, err
		}
		c = Client{ServerKey: cl.Server.Public, Keys: cl.Member}
	}
	if keyFile != "" {
		f, err := LoadKeyFile(keyFile)
		if err != nil {
			return nil, err
		}
		c.Keys = f.Keys
		if c.ServerKey == "" {
			c.ServerKey = f.ServerKey
		}
	}
	if c.ServerKey == "" {
		return nil, fmt.Errorf("%w: key file %s names no server key: give the cluster secret too, or remake it with emerge keygen --cluster-secret-file", ErrKey, keyFile)
	}
	return &c, nil
}
