package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/files"
	"github.com/emerge-dev/emerge/gateway"
	"github.com/emerge-dev/emerge/rpc"
)

// ErrHTTPListen marks a failure to bind http_listen (the CLI names the key).
var ErrHTTPListen = gateway.ErrListen

// startHTTP serves metrics, health checks and objects over HTTP on
// http_listen, unless http_off (or listen is an ipc path and http_listen is
// not set).
func (n *Node) startHTTP() error {
	if n.cfg.HTTPOff || n.cfg.HTTPListen == "" {
		return nil
	}
	gw, err := gateway.New(gateway.Config{Listen: n.cfg.HTTPListen, Objects: httpObjects{n}, Metrics: n.metrics.Handler(),
		Ready: n.readyErr, Observer: n.metrics, Logger: n.log.With().Str("component", "http").Logger(), S3: n.s3Config()})
	if err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.http = gw
	return nil
}

// HTTPEndpoint is the base URL of the node's HTTP interface
// (http://host:port), or "" when it has none.
func (n *Node) HTTPEndpoint() string {
	if n.http == nil {
		return ""
	}
	return n.http.URL()
}

// readyErr says why the node cannot take requests yet: it is starting or
// stopping, or it was given peers and has seen no other member yet. Once
// it has, it stays ready when the others go: it still serves what it holds.
func (n *Node) readyErr() error {
	if !n.ready.Load() {
		return errors.New("the node is starting or stopping")
	}
	if len(n.cfg.Peers) == 0 || n.joined.Load() {
		return nil
	}
	if len(n.Live()) >= 2 {
		n.joined.Store(true)
		return nil
	}
	return fmt.Errorf("no member reached yet through peers %s", strings.Join(n.cfg.Peers, ", "))
}

// httpObjects is the node's object service as the gateway sees it: a put
// or delete also updates the shared-memory hot copies, as over rpc.
type httpObjects struct{ n *Node }

func (o httpObjects) Manifest(ctx context.Context, ref blocks.Ref) (*blocks.Manifest, error) {
	if !o.n.ready.Load() {
		return nil, errNotReady
	}
	return o.n.files.Manifest(ctx, ref)
}

func (o httpObjects) ReadBlock(ctx context.Context, ref blocks.Ref, m *blocks.Manifest, i int, dst []byte) ([]byte, error) {
	return o.n.files.ReadBlock(ctx, ref, m, i, dst)
}

func (o httpObjects) Put(ctx context.Context, r io.Reader, opts files.PutOptions) (files.Stored, error) {
	if !o.n.ready.Load() {
		return files.Stored{}, errNotReady
	}
	st, err := o.n.files.Put(ctx, r, opts)
	if err == nil {
		o.n.makeHotLater(st.Ref, st.Manifest)
	}
	return st, err
}

func (o httpObjects) Delete(ctx context.Context, ref blocks.Ref) (int64, error) {
	if !o.n.ready.Load() {
		return 0, errNotReady
	}
	freed, err := o.n.files.Delete(ctx, ref)
	if err == nil {
		o.n.dropHot(ref)
	}
	return freed, err
}

var errNotReady = fmt.Errorf("%w: the node is starting or stopping", rpc.ErrUnavailable)

// httpListen is the HTTP address: set as given (host:port, http:// allowed;
// port * is 0, a free one), or derived from listen: its host, 127.0.0.1
// when listen binds every interface (the HTTP interface is for this machine
// unless asked), on listen's port + 2. An ipc listen derives nothing: no
// HTTP unless http_listen is set.
func httpListen(set, listen string) (string, error) {
	if set != "" {
		return httpAddr(strings.TrimPrefix(set, "http://"))
	}
	rest, ok := strings.CutPrefix(listen, "tcp://")
	if !ok {
		return "", nil
	}
	host, port, err := net.SplitHostPort(rest)
	if err != nil {
		return "", fmt.Errorf("cannot derive it from listen %q", listen)
	}
	switch host {
	case "*", "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	if port != "*" {
		p, err := strconv.Atoi(port)
		if err != nil || p+2 > 65535 {
			return "", fmt.Errorf("no port two after listen's %s", port)
		}
		port = strconv.Itoa(p + 2)
	}
	return httpAddr(net.JoinHostPort(host, port))
}

// httpAddr checks host:port; a port of * becomes 0.
func httpAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", fmt.Errorf("%q: want host:port", s)
	}
	if port == "*" {
		port = "0"
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return "", fmt.Errorf("%q: port %q is not a number in 0..65535", s, port)
	}
	return net.JoinHostPort(host, port), nil
}

// checkS3 wants both S3 keys or neither, and the HTTP interface they are
// served on.
func (c *Config) checkS3() error {
	switch {
	case (c.S3AccessKey == "") != (c.S3SecretKey == ""):
		return fmt.Errorf("%w: s3_access_key and s3_secret_key go together: set both, or neither (no S3)", ErrConfig)
	case c.S3AccessKey != "" && c.HTTPOff:
		return fmt.Errorf("%w: s3_access_key is set but http_off: S3 is served on http_listen", ErrConfig)
	}
	return nil
}

// s3Config is the S3 interface when keys are configured: buckets and keys
// are names (gateway.NamesNamespace), shared by every node.
func (n *Node) s3Config() *gateway.S3Config {
	if n.cfg.S3AccessKey == "" {
		return nil
	}
	n.log.Info().Str("access_key", n.cfg.S3AccessKey).
		Msg("S3 on http_listen: buckets are top-level directories of the namespace of names")
	return &gateway.S3Config{Namespace: gateway.NewNamesNamespace(n.names, n.free.schedule),
		Credentials: []gateway.Credentials{{AccessKey: n.cfg.S3AccessKey, SecretKey: n.cfg.S3SecretKey}}}
}
