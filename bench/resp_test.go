package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"time"
)

// respConn is a minimal Redis client (RESP2 over one TCP connection,
// unpipelined), enough for SET and GET of binary values. It mirrors what
// redis-benchmark does per connection, from Go.
type respConn struct {
	conn net.Conn
	r    *bufio.Reader
	w    *bufio.Writer
}

func dialRedis(addr string) (*respConn, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("redis at %s: %w", addr, err)
	}
	return &respConn{conn: c, r: bufio.NewReaderSize(c, 64<<10), w: bufio.NewWriterSize(c, 64<<10)}, nil
}

func (c *respConn) Close() error { return c.conn.Close() }

// do sends one command and returns the reply: a status or bulk string's
// bytes (appended to dst[:0]), or an error for an error reply or a nil bulk.
func (c *respConn) do(dst []byte, args ...[]byte) ([]byte, error) {
	fmt.Fprintf(c.w, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(c.w, "$%d\r\n", len(a))
		c.w.Write(a)
		c.w.WriteString("\r\n")
	}
	if err := c.w.Flush(); err != nil {
		return nil, err
	}
	return c.reply(dst)
}

func (c *respConn) reply(dst []byte) ([]byte, error) {
	line, err := c.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	if len(line) < 3 {
		return nil, fmt.Errorf("redis: short reply %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return append(dst[:0], body...), nil
	case '-':
		return nil, fmt.Errorf("redis: %s", body)
	case '$':
		return c.bulk(dst, body)
	}
	return nil, fmt.Errorf("redis: unexpected reply %q", line)
}

func (c *respConn) bulk(dst, lenText []byte) ([]byte, error) {
	n, err := strconv.Atoi(string(lenText))
	if err != nil || n < 0 {
		return nil, fmt.Errorf("redis: bulk length %q (nil: key missing)", lenText)
	}
	if cap(dst) < n+2 {
		dst = make([]byte, n+2)
	}
	dst = dst[:n+2]
	if _, err := io.ReadFull(c.r, dst); err != nil {
		return nil, err
	}
	return dst[:n], nil
}
