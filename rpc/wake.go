package rpc

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"
)

// How a socket owner sleeps and wakes.
//
// An owner is a goroutine parked in a select on Go channels: work from other
// goroutines (calls to send, handler replies) arrives on channels, and word
// that its socket may have something to report arrives on a channel fed by a
// watcher. ZeroMQ exposes that as ZMQ_FD, a descriptor (the socket's command
// mailbox) that turns readable when a command is queued for the socket; the
// owner must then call into the socket (a receive until EAGAIN, or
// ZMQ_EVENTS), which processes the commands. This is the pattern zmq_poll
// itself uses. The watcher waits for the descriptor in Go's netpoller (a dup
// registered as a non-blocking os.File) and never calls into ZeroMQ, so the
// owner stays the only goroutine that uses the socket.
//
// Why not zmq_poll: a goroutine blocked in a cgo call holds its P, so the
// goroutines it makes runnable (a handler, a caller waiting for its reply)
// wait for sysmon to take the P back, and any other goroutine could only wake
// the owner through a second socket (an inproc PUSH, itself owned by yet
// another goroutine). Parked in Go, an owner costs no thread and is woken by
// a channel send.
//
// The handshake: the watcher signals ready once, then waits for the owner's
// rearm, which the owner sends after the last ZeroMQ call of a round (a call
// that processed every queued command). On rearm the watcher first checks the
// descriptor's level (a command queued since then) and only then waits for an
// edge, so no signal is lost, and a descriptor the owner has not serviced yet
// does not make the watcher spin.
type watcher struct {
	file  *os.File
	rc    syscall.RawConn
	ready chan<- struct{}
	rearm chan struct{}
	stop  chan struct{}
	wg    sync.WaitGroup
	once  sync.Once
}

// newWatcher starts watching sock's ZMQ_FD; ready is signalled (without
// blocking) when the owner should call into sock. Called by the owner.
func newWatcher(sock *zmq.Socket, ready chan<- struct{}) (*watcher, error) {
	fd, err := sock.GetFd()
	if err != nil {
		return nil, fmt.Errorf("zmq fd: %w", err)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup zmq fd: %w", err)
	}
	// The descriptor is non-blocking (libzmq makes it so), so os.NewFile
	// registers it with the netpoller.
	w := &watcher{file: os.NewFile(uintptr(dup), "zmq-fd"), ready: ready,
		rearm: make(chan struct{}, 1), stop: make(chan struct{})}
	if w.rc, err = w.file.SyscallConn(); err != nil {
		w.file.Close()
		return nil, fmt.Errorf("zmq fd: %w", err)
	}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

func (w *watcher) run() {
	defer w.wg.Done()
	for {
		if err := w.rc.Read(readable); err != nil {
			return // file closed
		}
		signal(w.ready)
		select {
		case <-w.rearm:
		case <-w.stop:
			return
		}
	}
}

// readable reports whether fd is readable now; RawConn.Read waits for the
// next edge when it is not.
func readable(fd uintptr) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(p, 0)
		if err != unix.EINTR {
			return n > 0 || err != nil
		}
	}
}

// Rearm tells the watcher that the owner has serviced the socket.
func (w *watcher) Rearm() { signal(w.rearm) }

// close stops the watcher and waits for it. Called by the owner before it
// closes the socket.
func (w *watcher) close() {
	w.once.Do(func() {
		close(w.stop)
		w.file.Close()
		w.wg.Wait()
	})
}

// signal sends on a cap-1 channel without blocking: a full channel already
// holds the news.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func newSocket(zctx *zmq.Context, t zmq.Type) (*zmq.Socket, error) {
	s, err := zctx.NewSocket(t)
	if err != nil {
		return nil, fmt.Errorf("zmq socket: %w", err)
	}
	if err := s.SetLinger(0); err != nil {
		s.Close()
		return nil, fmt.Errorf("zmq linger: %w", err)
	}
	return s, nil
}

// isRetry reports errors after which a non-blocking call is retried.
func isRetry(err error) bool {
	return zmq.AsErrno(err) == zmq.Errno(syscall.EINTR)
}

// isAgain reports EAGAIN: a non-blocking call found nothing to do.
func isAgain(err error) bool {
	return zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN)
}

// isTerm reports that the ZeroMQ context is being terminated.
func isTerm(err error) bool {
	return zmq.AsErrno(err) == zmq.ETERM
}
