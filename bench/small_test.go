package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
)

const smallSize = 4 << 10

// BenchmarkSmallPut: 4 KiB puts, each of a fresh object, by C concurrent
// callers (EMERGE_BENCH_C) sharing EMERGE_BENCH_CLIENTS clients (default
// one); then, with EMERGE_REDIS_ADDR, as many Redis SETs of 4 KiB values
// over C connections.
func BenchmarkSmallPut(b *testing.B) {
	conc := envInt(b, envConcurrency, 1)
	b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { benchSmallPut(b, conc) })
}

// BenchmarkSmallGet: 4 KiB gets cycling through EMERGE_BENCH_SMALL stored
// objects by C concurrent callers; then as many Redis GETs.
func BenchmarkSmallGet(b *testing.B) {
	conc := envInt(b, envConcurrency, 1)
	b.Run(fmt.Sprintf("c=%d", conc), func(b *testing.B) { benchSmallGet(b, conc) })
}

func benchSmallPut(b *testing.B, conc int) {
	cls := smallClients(b)
	bufs := smallValues(conc)
	ctx := context.Background()
	lat := newLatencies(conc)
	u0 := usageNow(b)
	n, d := dispatch(b, conc, lat.timed(func(w, i int) error {
		binary.LittleEndian.PutUint64(bufs[w], uint64(i)+1)
		_, err := cls[w%len(cls)].PutBytes(ctx, bufs[w], client.PutOptions{})
		return err
	}))
	ops := float64(n) / d.Seconds()
	b.ReportMetric(ops, "ops/s")
	lat.report(b, "")
	usageNow(b).sub(u0).report(b, n)
	redisRef(b, ops, conc, n, nil, func(r *respConn, w, i int) error {
		binary.LittleEndian.PutUint64(bufs[w], uint64(i)+1)
		_, err := r.do(nil, []byte("SET"), smallKey(i), bufs[w])
		return err
	})
}

func benchSmallGet(b *testing.B, conc int) {
	cls := smallClients(b)
	stored := putSmall(b, cls[0], envInt(b, envSmallObjs, 1000))
	ctx := context.Background()
	lat := newLatencies(conc)
	u0 := usageNow(b)
	n, d := dispatch(b, conc, lat.timed(func(w, i int) error {
		got, err := cls[w%len(cls)].GetBytes(ctx, stored[i%len(stored)])
		if err == nil && len(got) != smallSize {
			err = fmt.Errorf("get %s: %d bytes, want %d", stored[i%len(stored)].Short(), len(got), smallSize)
		}
		return err
	}))
	ops := float64(n) / d.Seconds()
	b.ReportMetric(ops, "ops/s")
	lat.report(b, "")
	usageNow(b).sub(u0).report(b, n)
	bufs := smallValues(conc)
	setup := func(r *respConn) error { return setSmall(r, bufs[0], len(stored)) }
	redisRef(b, ops, conc, n, setup, func(r *respConn, w, i int) error {
		got, err := r.do(bufs[w], []byte("GET"), smallKey(i%len(stored)))
		if err == nil && len(got) != smallSize {
			err = fmt.Errorf("redis GET: %d bytes, want %d", len(got), smallSize)
		}
		return err
	})
}

// smallClients dials EMERGE_BENCH_CLIENTS clients to one fresh node.
func smallClients(b *testing.B) []*client.Client {
	n := startNode(b)
	cls := make([]*client.Client, envInt(b, envClients, 1))
	for i := range cls {
		cls[i] = nodetest.Client(b, n)
	}
	return cls
}

// smallValues returns one 4 KiB buffer per caller, distinct and warm.
func smallValues(conc int) [][]byte {
	out := make([][]byte, conc)
	for w := range out {
		out[w] = newObject(uint64(100+w), smallSize).data
	}
	return out
}

func smallKey(i int) []byte { return fmt.Appendf(nil, "emerge-bench:%d", i) }

// putSmall stores k distinct 4 KiB objects and returns their refs.
func putSmall(b *testing.B, c *client.Client, k int) []blocks.Ref {
	buf := newObject(7, smallSize).data
	out := make([]blocks.Ref, k)
	for i := range out {
		binary.LittleEndian.PutUint64(buf, uint64(i)+1)
		var err error
		if out[i], err = c.PutBytes(context.Background(), buf, client.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// setSmall stores k 4 KiB values under smallKey(0..k-1), once per run.
func setSmall(r *respConn, buf []byte, k int) error {
	for i := 0; i < k; i++ {
		binary.LittleEndian.PutUint64(buf, uint64(i)+1)
		if _, err := r.do(nil, []byte("SET"), smallKey(i), buf); err != nil {
			return err
		}
	}
	return nil
}

// dispatch hands iterations of b.Loop to conc workers and returns how many
// ran and the time from the first hand-out to the last completion. (The
// benchmark's own timer stops when b.Loop ends, before the last ≤conc
// operations finish, so ns/op is slightly low; ops/s uses this duration.)
func dispatch(b *testing.B, conc int, op func(w, i int) error) (int, time.Duration) {
	work := make(chan int)
	var (
		wg     sync.WaitGroup
		failed atomic.Bool
		first  error
		once   sync.Once
	)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := op(w, i); err != nil && !failed.Load() {
					once.Do(func() { first = err })
					failed.Store(true)
				}
			}
		}()
	}
	n := 0
	var start time.Time
	for b.Loop() && !failed.Load() {
		if n == 0 {
			start = time.Now()
		}
		work <- n
		n++
	}
	close(work)
	wg.Wait()
	if first != nil {
		b.Fatal(first)
	}
	return n, time.Since(start)
}

// redisRef runs n Redis operations over conc connections when
// EMERGE_REDIS_ADDR is set, after FLUSHALL and setup (may be nil) on one
// connection, untimed, and reports redis-ops/s and node/redis.
func redisRef(b *testing.B, node float64, conc, n int, setup func(*respConn) error, op func(r *respConn, w, i int) error) {
	addr := os.Getenv(envRedis)
	if addr == "" || !refs() {
		return
	}
	conns := make([]*respConn, conc)
	for w := range conns {
		c, err := dialRedis(addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		conns[w] = c
	}
	if _, err := conns[0].do(nil, []byte("FLUSHALL")); err != nil {
		b.Fatal(err)
	}
	if setup != nil {
		if err := setup(conns[0]); err != nil {
			b.Fatal(err)
		}
	}
	lat := newLatencies(conc)
	start := time.Now()
	if err := parallelN(n, conc, lat.timed(func(w, i int) error { return op(conns[w], w, i) })); err != nil {
		b.Fatal(err)
	}
	ref := float64(n) / time.Since(start).Seconds()
	b.ReportMetric(ref, "redis-ops/s")
	b.ReportMetric(node/ref, "node/redis")
	lat.report(b, "redis-")
}

// usage is what getrusage counts for the whole process (the node and its
// clients): CPU time, and context switches, voluntary and not, of every
// thread (libzmq's I/O threads included).
type usage struct {
	cpu time.Duration
	cs  int64
}

func usageNow(b *testing.B) usage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return usage{time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Nvcsw + ru.Nivcsw}
}

func (u usage) sub(v usage) usage { return usage{u.cpu - v.cpu, u.cs - v.cs} }

// report adds the CPU time and the context switches per operation: the
// cost of one operation summed over every thread, which other work on the
// machine disturbs less than rates.
func (u usage) report(b *testing.B, ops int) {
	if ops > 0 {
		b.ReportMetric(float64(u.cpu.Nanoseconds())/1e3/float64(ops), "cpu-us/op")
		b.ReportMetric(float64(u.cs)/float64(ops), "cs/op")
	}
}

// latencies records the time of every operation, one slice per worker (so
// recording takes no lock), for percentiles after the run.
type latencies [][]time.Duration

func newLatencies(workers int) latencies { return make(latencies, workers) }

// timed wraps op so that each call's duration is recorded for worker w.
func (l latencies) timed(op func(w, i int) error) func(w, i int) error {
	return func(w, i int) error {
		t := time.Now()
		err := op(w, i)
		l[w] = append(l[w], time.Since(t))
		return err
	}
}

// report adds the p50 and p99 of every recorded operation, in µs, as
// metrics named prefix+"p50-us" and prefix+"p99-us".
func (l latencies) report(b *testing.B, prefix string) {
	all := slices.Concat(l...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	at := func(q float64) float64 {
		return float64(all[min(len(all)-1, int(q*float64(len(all))))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(at(0.50), prefix+"p50-us")
	b.ReportMetric(at(0.99), prefix+"p99-us")
}
