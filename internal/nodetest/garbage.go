package nodetest

import (
	"bytes"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/internal/testdata"
	zmq "github.com/pebbe/zmq4"
)

// Garbage sends junk at a node's rpc endpoint until stop is closed: malformed
// ZeroMQ messages on a DEALER (counting the replies, which should be
// bad_request) and raw bytes on plain TCP connections (counting the
// connections). It returns both counts.
func Garbage(endpoint string, stop <-chan struct{}) (zmqReplies, tcpConns int) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); zmqReplies = zmqGarbage(endpoint, stop) }()
	go func() { defer wg.Done(); tcpConns = tcpGarbage(endpoint, stop) }()
	wg.Wait()
	return zmqReplies, tcpConns
}

func zmqGarbage(endpoint string, stop <-chan struct{}) int {
	zctx, _ := zmq.NewContext()
	defer zctx.Term()
	d, _ := zctx.NewSocket(zmq.DEALER)
	defer d.Close()
	d.SetLinger(0)
	d.SetRcvtimeo(2 * time.Second)
	d.Connect(endpoint)
	junk := [][]any{
		{[]byte("no delimiter")},
		{[]byte{}, []byte("\xc1 not msgpack")},
		{[]byte{}, []byte{0x81, 0xa1, 'v', 0xcc, 0xff}},
		{[]byte{}, bytes.Repeat([]byte{0xdd}, 100)},
	}
	replies := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return replies
		default:
		}
		d.SendMessage(junk[i%len(junk)]...)
		if r, err := d.RecvMessageBytes(0); err == nil && len(r) >= 2 {
			replies++
		}
	}
}

func tcpGarbage(endpoint string, stop <-chan struct{}) int {
	addr := strings.TrimPrefix(endpoint, "tcp://")
	for i := 0; ; i++ {
		select {
		case <-stop:
			return i
		default:
		}
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue
		}
		conn.SetDeadline(time.Now().Add(200 * time.Millisecond))
		conn.Write(testdata.Bytes(uint64(i), 4096))
		conn.Read(make([]byte, 64))
		conn.Close()
	}
}
