package rpc

import (
	"testing"

	zmq "github.com/pebbe/zmq4"
)

type zmqContext = zmq.Context

func benchServerMux(b *testing.B, mux *Mux) (*Server, *zmq.Context) {
	zctx, _ := zmq.NewContext()
	s, err := NewServer(ServerConfig{Context: zctx, Listen: "tcp://127.0.0.1:*", Handler: mux})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(); zctx.Term() })
	return s, zctx
}
