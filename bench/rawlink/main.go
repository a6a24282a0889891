// Command rawlink moves bytes over one plain TCP connection: the reference
// of bench/prefetch-netns.sh, which times it through one rate-limited link
// to show what the link really gives.
//
//	rawlink -listen 10.77.0.2:7799          # accept one connection, read to EOF
//	rawlink -send 10.77.0.2:7799 -bytes N   # send N bytes, then close
//
// The receiver prints "BYTES SECONDS", timed from the accept to EOF. The
// sender retries the connect for -wait, so it may start first.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

func main() {
	listen := flag.String("listen", "", "address to accept one connection on")
	send := flag.String("send", "", "address to send to")
	n := flag.Int64("bytes", 0, "bytes to send")
	wait := flag.Duration("wait", 10*time.Second, "how long the sender retries its connect")
	flag.Parse()
	var err error
	switch {
	case *listen != "" && *send == "":
		err = receive(*listen)
	case *send != "" && *listen == "":
		err = transmit(*send, *n, *wait)
	default:
		err = errors.New("give -listen ADDR or -send ADDR -bytes N")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "rawlink:", err)
		os.Exit(1)
	}
}

func receive(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	start := time.Now()
	got, err := io.CopyBuffer(io.Discard, conn, make([]byte, 1<<20))
	if err != nil {
		return err
	}
	fmt.Printf("%d %.3f\n", got, time.Since(start).Seconds())
	return nil
}

func transmit(addr string, n int64, wait time.Duration) error {
	conn, err := dial(addr, wait)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i) // touched once, before the transfer
	}
	for left := n; left > 0; {
		k, err := conn.Write(buf[:min(left, int64(len(buf)))])
		if err != nil {
			return err
		}
		left -= int64(k)
	}
	return conn.(*net.TCPConn).CloseWrite()
}

func dial(addr string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil || time.Now().After(deadline) {
			return conn, err
		}
		time.Sleep(50 * time.Millisecond) // the receiver is not listening yet
	}
}
