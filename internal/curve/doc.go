// Package curve holds emerge's key material for CurveZMQ: Z85 text keys,
// keypairs, the keys derived from a cluster secret (HKDF-SHA256), key files
// written by `emerge keygen`, the allowlist of client keys a node lets in,
// the socket options of CURVE servers and clients, and a ZAP handler that
// applies the allowlist.
//
// The model (docs/security.md has the threat model):
//
//   - A cluster secret (a file of at least 16 bytes) gives two keypairs: the
//     server keypair, shared by every node's ROUTER and XPUB, and the member
//     keypair, which anyone holding the secret uses as a client (DEALER, SUB).
//   - A node or client may instead use its own keypair (a key file). A key
//     file may carry the cluster's server public key, so a client can
//     connect without holding the secret.
//   - A node's ZAP handler lets in the member key, or, when an allowlist is
//     configured, exactly the listed keys; the rpc server checks the key of
//     every request again, so a key removed from the list fails at its next
//     call.
//
// The ZAP handler is per ZeroMQ context: libzmq asks the handler bound at
// inproc://zeromq.zap.01 in the socket's own context, so nodes running in one
// process (one context each) each have their own.
package curve
