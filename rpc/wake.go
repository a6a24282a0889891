package rpc

import (
	"fmt"
	"sync"
	"syscall"

	zmq "github.com/pebbe/zmq4"
)

// waker lets any goroutine wake a socket owner that is blocked in zmq_poll.
// Callers signal a cap-1 channel; the waker's own goroutine (the only user of
// the PUSH socket) turns a signal into one inproc message; the owner polls
// the PULL end, drains it, and then drains its Go queues. Because the owner
// drains the queues after the wake socket, no wake-up is lost, and many
// signals coalesce into one.
type waker struct {
	sig  chan struct{}
	stop chan struct{}
	pull *zmq.Socket // owned by the socket owner goroutine
	push *zmq.Socket // owned by the waker goroutine
	wg   sync.WaitGroup
	once sync.Once
}

func newWaker(zctx *zmq.Context) (*waker, error) {
	w := &waker{sig: make(chan struct{}, 1), stop: make(chan struct{})}
	addr := fmt.Sprintf("inproc://emerge-wake-%p", w)
	var err error
	if w.pull, err = newSocket(zctx, zmq.PULL); err != nil {
		return nil, err
	}
	if err = w.pull.Bind(addr); err != nil {
		w.pull.Close()
		return nil, fmt.Errorf("waker bind: %w", err)
	}
	if w.push, err = newSocket(zctx, zmq.PUSH); err == nil {
		err = w.push.Connect(addr)
	}
	if err != nil {
		w.pull.Close()
		if w.push != nil {
			w.push.Close()
		}
		return nil, fmt.Errorf("waker connect: %w", err)
	}
	w.wg.Add(1)
	go w.run()
	return w, nil
}

func (w *waker) run() {
	defer w.wg.Done()
	defer w.push.Close()
	for {
		select {
		case <-w.sig:
			w.push.SendBytes(nil, zmq.DONTWAIT) // a full pipe already holds a wake-up
		case <-w.stop:
			return
		}
	}
}

// Wake is safe from any goroutine and never blocks.
func (w *waker) Wake() {
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// drain empties the PULL socket; called by the owner when it is readable.
func (w *waker) drain() {
	for {
		if _, err := w.pull.RecvBytes(zmq.DONTWAIT); err != nil {
			return
		}
	}
}

// close stops the waker goroutine and closes both sockets. Called by the owner
// goroutine as it exits.
func (w *waker) close() {
	w.once.Do(func() {
		close(w.stop)
		w.wg.Wait()
		w.pull.Close()
	})
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

// isRetry reports errors after which a poll or non-blocking call is retried.
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
