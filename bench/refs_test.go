package bench

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/blocks/store"
)

// kv is a reference block store: raw Badger or store.Store.
type kv interface {
	put(id blocks.ID, v []byte) error
	get(id blocks.ID, dst []byte) ([]byte, error)
}

// rawBadger is a badger.DB opened with the options store.Store uses.
type rawBadger struct{ db *badger.DB }

// badgerOptions mirrors store.Config.badgerOptions (blocks/store/
// config.go) for a directory store with default sizes; keep in step.
func badgerOptions(dir string) badger.Options {
	c := store.DefaultConfig(dir)
	return badger.DefaultOptions(dir).
		WithSyncWrites(false).
		WithValueThreshold(1024). // blocks.valueThreshold
		WithValueLogFileSize(c.ValueLogFileSize).
		WithMemTableSize(c.MemTableSize).
		WithBlockCacheSize(c.BlockCacheSize).
		WithMetricsEnabled(false).
		WithCompactL0OnClose(true).
		WithLogger(nil)
}

func openRawBadger(b testing.TB) *rawBadger {
	db, err := badger.Open(badgerOptions(b.TempDir()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return &rawBadger{db: db}
}

// put writes one value in its own transaction, keyed as store.Store keys
// a block ('b' + id).
func (r *rawBadger) put(id blocks.ID, v []byte) error {
	return r.db.Update(func(txn *badger.Txn) error { return txn.Set(append([]byte{'b'}, id[:]...), v) })
}

func (r *rawBadger) get(id blocks.ID, dst []byte) ([]byte, error) {
	err := r.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(append([]byte{'b'}, id[:]...))
		if err == nil {
			dst, err = item.ValueCopy(dst)
		}
		return err
	})
	return dst, err
}

// emergeStore is store.Store's PutBlock and GetBlock, as the node calls them.
type emergeStore struct{ s *store.Store }

func openStore(b testing.TB) *emergeStore {
	cfg := store.DefaultConfig(b.TempDir())
	cfg.GCInterval = -1
	s, err := store.Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return &emergeStore{s: s}
}

func (s *emergeStore) put(id blocks.ID, v []byte) error { return s.s.PutBlock(id, v) }

func (s *emergeStore) get(id blocks.ID, dst []byte) ([]byte, error) { return s.s.GetBlock(id, dst) }

// valueIDs are the ids of round 0: the values' real hashes, because
// store.GetBlock verifies what it reads. Later rounds are only written.
func valueIDs(vals [][]byte) []blocks.ID {
	ids := make([]blocks.ID, len(vals))
	for j, v := range vals {
		ids[j] = blocks.Sum(v)
	}
	return ids
}

// valueID names value j of round r: round 0 from ids, later rounds made
// up (the stores trust ids on put, so no hashing in the timed loop).
func valueID(ids []blocks.ID, r, j int) blocks.ID {
	if r == 0 {
		return ids[j]
	}
	return fakeID(r, j)
}

// fakeID names value j of round r > 0, or a value never written.
func fakeID(r, j int) blocks.ID {
	var id blocks.ID
	binary.BigEndian.PutUint64(id[:], uint64(r))
	binary.BigEndian.PutUint64(id[8:], uint64(j))
	id[31] = 0xee
	return id
}

// kvWrite writes vals rounds times under fresh ids with par writers and
// returns the time taken.
func kvWrite(s kv, vals [][]byte, rounds, par int) (time.Duration, error) {
	ids := valueIDs(vals)
	start := time.Now()
	err := parallelN(rounds*len(vals), par, func(_ int, i int) error {
		r, j := i/len(vals), i%len(vals)
		return s.put(valueID(ids, r, j), vals[j])
	})
	return time.Since(start), err
}

// kvRead reads round 0 of kvWrite rounds times with par readers, each into
// its own warm buffer, checking lengths, and returns the time taken.
func kvRead(s kv, vals [][]byte, rounds, par int) (time.Duration, error) {
	bufs := make([][]byte, par)
	for w := range bufs {
		bufs[w] = warm(blockSize)
	}
	ids := valueIDs(vals)
	start := time.Now()
	err := parallelN(rounds*len(vals), par, func(w int, i int) error {
		j := i % len(vals)
		got, err := s.get(ids[j], bufs[w])
		if err == nil && len(got) != len(vals[j]) {
			err = fmt.Errorf("value %d: read %d bytes, wrote %d", j, len(got), len(vals[j]))
		}
		return err
	})
	return time.Since(start), err
}

// parallelN runs op for i in [0, n) on par goroutines; op gets its worker
// number. It returns the first error; the others stop taking work.
func parallelN(n, par int, op func(w, i int) error) error {
	var (
		next  atomic.Int64
		first error
		once  sync.Once
		wg    sync.WaitGroup
	)
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := op(w, i); err != nil {
					once.Do(func() { first = err })
					next.Store(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// tcpCopy sends total bytes over one loopback TCP connection in 1 MiB
// writes, read on the far side in 1 MiB reads, both from warm buffers, and
// returns the time from the first write to the last byte read.
func tcpCopy(total int64) (time.Duration, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	got := make(chan error, 1)
	var received int64
	rbuf := warm(mib)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			defer conn.Close()
			received, err = drain(conn, total, rbuf)
		}
		got <- err
	}()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	d, err := tcpSend(conn, total, warm(mib), got)
	if err == nil && received != total {
		err = fmt.Errorf("tcp reference: received %d bytes of %d", received, total)
	}
	return d, err
}

// drain reads total bytes from r into buf (no io.Copy: io.Discard would
// read in 8 KiB pieces).
func drain(r io.Reader, total int64, buf []byte) (int64, error) {
	var n int64
	for n < total {
		k, err := r.Read(buf[:min(int64(len(buf)), total-n)])
		n += int64(k)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func tcpSend(conn net.Conn, total int64, buf []byte, got <-chan error) (time.Duration, error) {
	start := time.Now()
	for left := total; left > 0; {
		n, err := conn.Write(buf[:min(int64(len(buf)), left)])
		if err != nil {
			return 0, err
		}
		left -= int64(n)
	}
	err := <-got
	return time.Since(start), err
}

// warm returns a buffer of n bytes whose pages are already touched.
func warm(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}
