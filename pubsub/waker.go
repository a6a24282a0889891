package pubsub

import (
	"fmt"
	"sync"
	"syscall"

	zmq "github.com/pebbe/zmq4"
)

// waker wakes the socket owner while it is blocked in zmq_poll. Any goroutine
// signals a cap-1 channel; the waker goroutine, sole user of the PAIR socket
// "send", turns a signal into one byte on it; the owner polls "recv" beside
// SUB and, once it is readable, drains it before draining its Go queues, so a
// signal given after the owner looked at the queues always wakes it again.
// Many signals coalesce into one byte.
type waker struct {
	sig  chan struct{}
	stop chan struct{}
	recv *zmq.Socket // owned by the socket owner
	send *zmq.Socket // owned by the waker goroutine
	wg   sync.WaitGroup
	once sync.Once
}

func newWaker(zctx *zmq.Context) (*waker, error) {
	w := &waker{sig: make(chan struct{}, 1), stop: make(chan struct{})}
	addr := fmt.Sprintf("inproc://emerge-pubsub-wake-%p", w)
	recv, err := newSocket(zctx, zmq.PAIR)
	if err != nil {
		return nil, err
	}
	send, err := newSocket(zctx, zmq.PAIR)
	if err != nil {
		recv.Close()
		return nil, err
	}
	if err := firstErr(recv.Bind(addr), send.Connect(addr)); err != nil {
		recv.Close()
		send.Close()
		return nil, fmt.Errorf("pubsub waker %s: %w", addr, err)
	}
	w.recv, w.send = recv, send
	w.wg.Add(1)
	go w.run()
	return w, nil
}

func (w *waker) run() {
	defer w.wg.Done()
	defer w.send.Close()
	for {
		select {
		case <-w.sig:
			// A full pipe already holds a wake-up: EAGAIN loses nothing.
			w.send.SendBytes([]byte{0}, zmq.DONTWAIT)
		case <-w.stop:
			return
		}
	}
}

// wake is safe from any goroutine and never blocks.
func (w *waker) wake() {
	select {
	case w.sig <- struct{}{}:
	default:
	}
}

// drain empties the recv socket. Owner only.
func (w *waker) drain() {
	for {
		if _, err := w.recv.RecvBytes(zmq.DONTWAIT); err != nil {
			return
		}
	}
}

// close stops the waker goroutine and closes both sockets. Owner only.
func (w *waker) close() {
	w.once.Do(func() {
		close(w.stop)
		w.wg.Wait()
		w.recv.Close()
	})
}

// newSocket makes a socket with LINGER 0, so closing it never blocks the
// context's termination on unsent messages.
func newSocket(zctx *zmq.Context, t zmq.Type) (*zmq.Socket, error) {
	s, err := zctx.NewSocket(t)
	if err != nil {
		return nil, fmt.Errorf("pubsub: new %v socket: %w", t, err)
	}
	if err := s.SetLinger(0); err != nil {
		s.Close()
		return nil, fmt.Errorf("pubsub: linger: %w", err)
	}
	return s, nil
}

func isEINTR(err error) bool  { return zmq.AsErrno(err) == zmq.Errno(syscall.EINTR) }
func isEAGAIN(err error) bool { return zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN) }
func isETERM(err error) bool  { return zmq.AsErrno(err) == zmq.ETERM }
