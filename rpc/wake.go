package rpc

import (
	"fmt"
	"os"
	"sync"
	"syscall"

	zmq "github.com/pebbe/zmq4"
)

// A watcher waits for a second socket of an owner (a connection's monitor)
// whose events are rare: it waits in Go's netpoller for the socket's ZMQ_FD
// and calls notify (which wakes the owner, see sleep.go), then waits for the
// owner's rearm, which the owner sends after the last ZeroMQ call of its
// round on that socket (a call that processed every queued command). On
// rearm the watcher first checks the descriptor's level (a command queued
// since then) and only then waits for an edge, so no signal is lost, and a
// descriptor the owner has not serviced yet does not make the watcher spin.
// It never calls into ZeroMQ, so the owner stays the only goroutine that
// uses the socket.
type watcher struct {
	file   *os.File
	rc     syscall.RawConn
	notify func()
	rearm  chan struct{}
	stop   chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

// newWatcher starts watching sock's ZMQ_FD; notify is called when the
// owner should call into sock. Called by the owner.
func newWatcher(sock *zmq.Socket, notify func()) (*watcher, error) {
	f, err := zmqFile(sock)
	if err != nil {
		return nil, err
	}
	w := &watcher{file: f, notify: notify, rearm: make(chan struct{}, 1), stop: make(chan struct{})}
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
		w.notify()
		select {
		case <-w.rearm:
		case <-w.stop:
			return
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
