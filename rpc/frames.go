package rpc

import (
	"syscall"

	zmq "github.com/pebbe/zmq4"
)

// sendFrames sends [rid] "" head data... as one multipart message without
// blocking; rid is nil on a DEALER. It returns how many frames the socket
// took: a refusal of the first frame (n == 0) leaves nothing queued, so the
// message can be sent again later. ZeroMQ copies every frame.
func sendFrames(sock *zmq.Socket, rid, head []byte, data [][]byte) (n int, err error) {
	if rid != nil {
		if _, err := sock.SendBytes(rid, zmq.SNDMORE|zmq.DONTWAIT); err != nil {
			return n, err
		}
		n++
	}
	flag := zmq.SNDMORE | zmq.DONTWAIT
	if _, err := sock.SendBytes(nil, flag); err != nil {
		return n, err
	}
	n++
	if len(data) == 0 {
		flag = zmq.DONTWAIT
	}
	if _, err := sock.SendBytes(head, flag); err != nil {
		return n, err
	}
	n++
	for i, d := range data {
		if i == len(data)-1 {
			flag = zmq.DONTWAIT
		}
		if _, err := sock.SendBytes(d, flag); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// isRefused reports the errors with which a ROUTER (with ROUTER_MANDATORY)
// or a DEALER refuses a message it may take later: EAGAIN, the peer's pipe is
// full; EHOSTUNREACH, the pipe is not writable yet (it was full and the
// socket has not yet processed the command saying it has room again) or the
// peer is gone.
func isRefused(err error) bool {
	e := zmq.AsErrno(err)
	return e == zmq.Errno(syscall.EAGAIN) || e == zmq.Errno(syscall.EHOSTUNREACH)
}
