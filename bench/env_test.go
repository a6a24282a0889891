package bench

import (
	"encoding/binary"
	"io"
	"os"
	"strconv"
	"testing"

	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/testdata"
	"github.com/emerge-dev/emerge/node"
)

// Environment knobs; bench/run.sh sets them.
const (
	envConcurrency = "EMERGE_BENCH_C"       // concurrent callers of the small-object benchmarks (default 1)
	envRedis       = "EMERGE_REDIS_ADDR"    // host:port of a scratch Redis; unset skips the Redis reference
	envSmallObjs   = "EMERGE_BENCH_SMALL"   // distinct objects a small-get benchmark cycles through (default 1000)
	envClients     = "EMERGE_BENCH_CLIENTS" // clients the C callers of the small-object benchmarks share (default 1)
	envNoRefs      = "EMERGE_BENCH_NOREFS"  // 1 skips every reference (to profile the node alone)
)

const (
	mib       = 1 << 20
	blockSize = mib // the node's default block size, and the reference value size
)

func envInt(b testing.TB, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 1 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}

// refs reports whether to measure the references.
func refs() bool { return os.Getenv(envNoRefs) == "" }

// startNode runs one node alone (one replica: a put needs no peer) with the
// production Badger sizes (nodetest's defaults are shrunk for tests that run
// many nodes) in a fresh directory, shared memory off: these benchmarks
// measure the streamed path (bench/shm_test.go measures shared memory).
func startNode(b testing.TB) *node.Node {
	def := node.DefaultConfig()
	return nodetest.Start(b, func(c *node.Config) {
		c.Replicas = 1
		c.MemTableSize = def.MemTableSize
		c.BlockCacheSize = def.BlockCacheSize
		c.ValueLogFileSize = def.ValueLogFileSize
		c.ShmOff = true
	})
}

// object is an object's bytes held in memory (already touched, so the
// benchmarks measure emerge and not page faults). stamp makes every block
// unique to one iteration, so that no put is deduplicated.
type object struct {
	data []byte
}

func newObject(seed uint64, size int) *object {
	o := &object{data: make([]byte, size)}
	io.ReadFull(testdata.New(seed, int64(size)), o.data)
	return o
}

// stamp writes iteration i into the first 8 bytes of every block.
func (o *object) stamp(i int) {
	for off := 0; off < len(o.data); off += blockSize {
		binary.LittleEndian.PutUint64(o.data[off:], uint64(i)+1)
	}
}

// blocks splits the object into blockSize values.
func (o *object) blocks() [][]byte {
	var out [][]byte
	for off := 0; off < len(o.data); off += blockSize {
		out = append(out, o.data[off:min(off+blockSize, len(o.data))])
	}
	return out
}
