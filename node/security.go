package node

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/internal/curve"
	"github.com/rs/zerolog"
)

// Security: CURVE on every socket when a cluster secret is configured
// (docs/security.md).
//
//   - The secret gives the server keypair of every node's ROUTER and XPUB,
//     and the member keypair anyone holding the secret connects with.
//   - security.key_file gives this node its own keypair towards its peers.
//   - The keys let in are the member key, or, when security.allow or
//     security.allow_file name any, exactly those. The allow file is re-read
//     when it changes: a key removed from it fails at its next request, and
//     its subscriptions to this node's bus are cut.
//   - Without a secret the node runs plaintext, and only on loopback or ipc
//     unless insecure is set.

// allowReload is how often the allow file is checked for changes.
const allowReload = time.Second

// security is a node's key material and ZAP handler. All nil without a
// secret.
type security struct {
	server  *curve.Server
	client  *curve.Client
	zap     *curve.ZAP
	file    string // allow file, re-read when it changes
	static  []string
	stamp   fileStamp
	failing bool // the allow file did not load last time

	stop chan struct{}
	wg   sync.WaitGroup
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// validateSecurity checks the security keys of cfg without reading files.
func (c *Config) validateSecurity() error {
	if c.SecurityClusterSecretFile == "" {
		if c.SecurityKeyFile != "" || len(c.SecurityAllow) > 0 || c.SecurityAllowFile != "" {
			return fmt.Errorf("%w: security.key_file and security.allow need security.cluster_secret_file", ErrConfig)
		}
		for _, ep := range []string{c.Listen, c.PubListen} {
			if !c.Insecure && !localEndpoint(ep) {
				return fmt.Errorf("%w: %s is reachable from other machines and no security.cluster_secret_file is set: "+
					"give one, or set insecure to run plaintext on the network", ErrConfig, ep)
			}
		}
		return nil
	}
	if err := curve.ParseAllow(c.SecurityAllow); err != nil {
		return fmt.Errorf("%w: security.%w", ErrConfig, err)
	}
	if (len(c.SecurityAllow) > 0 || c.SecurityAllowFile != "") && c.SecurityKeyFile == "" {
		return fmt.Errorf("%w: security.allow is set, so members let in only listed keys: set security.key_file to this node's key (emerge keygen)", ErrConfig)
	}
	return nil
}

// localEndpoint reports whether only this machine can reach ep: ipc, or tcp
// on a loopback address.
func localEndpoint(ep string) bool {
	if strings.HasPrefix(ep, "ipc://") || strings.HasPrefix(ep, "inproc://") {
		return true
	}
	rest, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return false
	}
	host, _, err := net.SplitHostPort(rest)
	if err != nil {
		return false
	}
	if host == "localhost" || host == "lo" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startSecurity loads the keys and starts the ZAP handler in the node's
// context; without a secret it only warns about an insecure bind.
func (n *Node) startSecurity() error {
	n.sec = &security{stop: make(chan struct{})}
	if n.cfg.SecurityClusterSecretFile == "" {
		if n.cfg.Insecure && !(localEndpoint(n.cfg.Listen) && localEndpoint(n.cfg.PubListen)) {
			n.log.Warn().Str("rpc", n.cfg.Listen).Str("pub", n.cfg.PubListen).
				Msg("insecure: plaintext on the network; anyone reaching these ports can read, write and delete every object")
		}
		return nil
	}
	if err := n.sec.load(n.cfg, n.log); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	var err error
	if n.sec.zap, err = curve.NewZAP(n.zctx, n.sec.server.Allow, n.log.With().Str("component", "zap").Logger()); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	n.log.Info().Str("key", n.sec.client.Keys.Public).Int("allowed", n.sec.server.Allow.Len()).Msg("CURVE on every socket")
	return nil
}

// load reads the secret, the key file and the allow list.
func (s *security) load(cfg Config, log zerolog.Logger) error {
	secret, loose, err := curve.LoadSecret(cfg.SecurityClusterSecretFile)
	if err != nil {
		return err
	}
	if loose {
		log.Warn().Str("file", cfg.SecurityClusterSecretFile).Msg("cluster secret readable by other users: chmod 600 it")
	}
	cl, err := curve.Derive(secret)
	if err != nil {
		return err
	}
	s.client = &curve.Client{ServerKey: cl.Server.Public, Keys: cl.Member}
	if cfg.SecurityKeyFile != "" {
		f, err := curve.LoadKeyFile(cfg.SecurityKeyFile)
		if err != nil {
			return err
		}
		s.client.Keys = f.Keys
	}
	s.file, s.static = cfg.SecurityAllowFile, cfg.SecurityAllow
	s.server = &curve.Server{Keys: cl.Server, Allow: curve.NewAllowlist()}
	if s.file == "" && len(s.static) == 0 {
		s.server.Allow.Set([]string{cl.Member.Public})
		return nil
	}
	keys, err := s.allowed()
	if err != nil {
		return err
	}
	if !slices.Contains(keys, s.client.Keys.Public) {
		log.Warn().Str("key", s.client.Keys.Public).Msg("this node's own key is not on its allow list: members with the same list refuse it")
	}
	s.server.Allow.Set(keys)
	return nil
}

// allowed is security.allow plus the allow file's keys, noting the file's
// stamp.
func (s *security) allowed() ([]string, error) {
	keys := slices.Clone(s.static)
	if s.file == "" {
		return keys, nil
	}
	st, err := os.Stat(s.file)
	if err != nil {
		return nil, fmt.Errorf("%w: allow file: %w", curve.ErrKey, err)
	}
	fromFile, err := curve.LoadAllowFile(s.file)
	if err != nil {
		return nil, err
	}
	s.stamp = fileStamp{st.ModTime(), st.Size()}
	return append(keys, fromFile...), nil
}

// startAllowWatch starts re-reading the allow file, once the bus exists.
func (n *Node) startAllowWatch() {
	if n.sec.file != "" {
		n.sec.wg.Add(1)
		go n.watchAllow()
	}
}

// watchAllow re-reads the allow file when it changes. A file that no longer
// parses leaves the list as it was (and says so, once).
func (n *Node) watchAllow() {
	defer n.sec.wg.Done()
	t := time.NewTicker(allowReload)
	defer t.Stop()
	for {
		select {
		case <-n.sec.stop:
			return
		case <-t.C:
			n.reloadAllow()
		}
	}
}

func (n *Node) reloadAllow() {
	s := n.sec
	st, err := os.Stat(s.file)
	if err == nil && (fileStamp{st.ModTime(), st.Size()}) == s.stamp {
		return
	}
	keys, err := s.allowed()
	if err != nil {
		if !s.failing {
			n.log.Error().Err(err).Msg("allow file unreadable; keeping the keys let in so far")
		}
		s.failing = true
		return
	}
	s.failing = false
	if !s.server.Allow.Set(keys) {
		return
	}
	n.log.Info().Int("allowed", len(keys)).Msg("allow list changed")
	// Subscribers passed the handshake under the old list: make them pass it
	// again. (Requests are checked one by one; see rpc.ServerConfig.Curve.)
	if b, ok := n.bus.(interface{ CutSubscribers() error }); ok {
		b.CutSubscribers()
	}
}

// stopSecurity stops the allow watcher and the ZAP handler; it must run
// before the context is terminated.
func (n *Node) stopSecurity() {
	if n.sec == nil {
		return
	}
	select {
	case <-n.sec.stop:
	default:
		close(n.sec.stop)
	}
	n.sec.wg.Wait()
	if n.sec.zap != nil {
		n.sec.zap.Close()
	}
}
