package rpc

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"
)

// How a socket owner sleeps.
//
// The owner sleeps in Go's netpoller, on its socket's ZMQ_FD (a dup
// registered as a non-blocking os.File): the descriptor turns readable when
// a command is queued for the socket, and the owner must then call into the
// socket (a receive until EAGAIN, or ZMQ_EVENTS), which processes the
// commands. Other goroutines that queue work for the owner (a call to send,
// a handler's reply) wake it by moving the file's read deadline into the
// past, which ends the wait at once. A deadline also times the owner's own
// retries. So a round trip costs no goroutine hand-off beyond the work
// itself: the owner is woken by the netpoller or by the goroutine with work
// for it, directly.
//
// (An owner used to park in a select on channels while a watcher goroutine
// waited for the descriptor, signalled it, and waited for the owner's
// rearm: two more goroutine wake-ups per round, each of which can wake a
// thread on a machine with idle cores. The watcher remains for a second
// socket, the connection's monitor, whose events are rare.)
//
// Why not zmq_poll: a goroutine blocked in a cgo call holds its P, so the
// goroutines it makes runnable wait for sysmon to take the P back, and
// nothing but another socket could interrupt it.
//
// No readiness is lost. The owner's rounds run inside one RawConn.Read,
// between its waits for the descriptor: an edge that comes while a round
// runs is kept by the netpoller and ends the next wait at once, and every
// entry into Read (which forgets earlier edges) starts with a round, whose
// last call into the socket processes every queued command. No wake is
// lost: Wake and the owner take a lock, and a Wake that comes while the
// owner is awake sends it round again instead of to sleep.
type sleeper struct {
	file *os.File
	rc   syscall.RawConn

	mu       sync.Mutex
	sleeping bool // the owner is in (or entering) a wait
	woken    bool // a Wake since the owner last started a round
}

// newSleeper watches sock's ZMQ_FD. Called by the owner.
func newSleeper(sock *zmq.Socket) (*sleeper, error) {
	f, err := zmqFile(sock)
	if err != nil {
		return nil, err
	}
	s := &sleeper{file: f}
	if err = f.SetReadDeadline(time.Time{}); err == nil {
		s.rc, err = f.SyscallConn()
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("zmq fd: %w", err)
	}
	return s, nil
}

// zmqFile returns a dup of sock's ZMQ_FD as a file in the netpoller.
func zmqFile(sock *zmq.Socket) (*os.File, error) {
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
	return os.NewFile(uintptr(dup), "zmq-fd"), nil
}

// Run is the owner's loop: it calls step, then waits until the socket may
// have something to report, Wake is called or the time step returned passes
// (zero: no limit), and calls step again, until step reports done. step's
// last call into the socket must process every queued command (see above).
func (s *sleeper) Run(step func() (until time.Time, done bool)) error {
	round := func(uintptr) bool {
		for {
			s.awake()
			until, done := step()
			if done {
				return true
			}
			if s.doze(until) {
				return false // wait for the descriptor or the deadline
			}
		}
	}
	for {
		err := s.rc.Read(round)
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			return err // nil: done
		}
		s.mu.Lock() // woken, or until passed: clear the deadline, go round
		err = s.file.SetReadDeadline(time.Time{})
		s.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// awake marks the owner awake at the start of a round: work queued before
// now is the round's.
func (s *sleeper) awake() {
	s.mu.Lock()
	s.sleeping, s.woken = false, false
	s.mu.Unlock()
}

// doze reports whether the owner may wait now (no Wake since its round
// began), and arms the deadline for the wait.
func (s *sleeper) doze(until time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.woken {
		return false
	}
	s.file.SetReadDeadline(until) // supported: newSleeper checked
	s.sleeping = true
	return true
}

// Wake ends the owner's Sleep, or the next one if it is awake. Safe from
// any goroutine; the caller queues its work first.
func (s *sleeper) Wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.woken {
		return
	}
	s.woken = true
	if s.sleeping {
		s.file.SetReadDeadline(time.Unix(1, 0))
	}
}

// close releases the descriptor. Called by the owner before it closes the
// socket.
func (s *sleeper) close() { s.file.Close() }

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
