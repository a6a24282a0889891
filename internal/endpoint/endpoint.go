// Package endpoint reads the ZeroMQ endpoints people type. Everywhere an
// endpoint is taken (the CLI's --node, client.Dial, the node's listen,
// pub_listen and peers), host:port means tcp://host:port, so the form every
// other network tool takes works too. Endpoints with a scheme (tcp://,
// ipc://, inproc://) pass through unchanged.
package endpoint

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrBad marks an endpoint that is neither scheme://address nor host:port.
var ErrBad = errors.New("bad endpoint")

// Dial normalises an endpoint to connect to: host:port becomes
// tcp://host:port, and :port the same port on 127.0.0.1.
func Dial(s string) (string, error) { return normalise(s, "127.0.0.1") }

// Listen normalises an endpoint to bind: host:port becomes tcp://host:port,
// and :port the port on every interface (tcp://*:port). A port of * picks a
// free one.
func Listen(s string) (string, error) { return normalise(s, "*") }

func normalise(s, emptyHost string) (string, error) {
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		if scheme == "" || rest == "" {
			return "", bad(s)
		}
		return s, nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil || !validPort(port) {
		return "", bad(s)
	}
	if host == "" {
		host = emptyHost
	}
	if host == "*" {
		return "tcp://*:" + port, nil
	}
	return "tcp://" + net.JoinHostPort(host, port), nil
}

func validPort(p string) bool {
	if p == "*" {
		return true
	}
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func bad(s string) error {
	return fmt.Errorf("%w %q: want host:port or tcp://host:port", ErrBad, s)
}

// NextPort is the endpoint on the port after ep's: where a node binds its
// broadcast socket when pub_listen is not set. A port of * stays *; an ipc
// path gets ".pub" appended.
func NextPort(ep string) (string, error) {
	if path, ok := strings.CutPrefix(ep, "ipc://"); ok {
		return "ipc://" + path + ".pub", nil
	}
	rest, ok := strings.CutPrefix(ep, "tcp://")
	if !ok {
		return "", fmt.Errorf("%w %q: cannot derive the next port", ErrBad, ep)
	}
	i := strings.LastIndexByte(rest, ':')
	if i < 0 {
		return "", bad(ep)
	}
	host, port := rest[:i], rest[i+1:]
	if port == "*" {
		return ep, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n <= 0 || n >= 65535 {
		return "", fmt.Errorf("%w %q: no port after %s", ErrBad, ep, port)
	}
	return "tcp://" + host + ":" + strconv.Itoa(n+1), nil
}
