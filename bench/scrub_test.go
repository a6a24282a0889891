package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/client"
	"github.com/emerge-dev/emerge/internal/nodetest"
	"github.com/emerge-dev/emerge/internal/units"
	"github.com/emerge-dev/emerge/node"
)

// Environment knobs of BenchmarkGetUnderScrub.
const (
	envScrubMiB  = "EMERGE_BENCH_SCRUB_MIB"  // size of the object the gets read (default 256)
	envScrubFill = "EMERGE_BENCH_SCRUB_FILL" // MiB stored besides it, for the scrub to read too (default 768)
	envScrubGets = "EMERGE_BENCH_SCRUB_GETS" // gets timed per mode and round (default 12)
)

// scrubMode is one way the node under the gets scrubs.
type scrubMode struct {
	name     string
	interval time.Duration
	rate     units.ByteSize
	mustRun  bool // wait for the scrub to start; it must check blocks during the timed gets
}

// scrubModes: off; week, the shipped defaults (a pass every 7 days: on a
// node this small the pace is the 64 KiB/s floor, so after its first batch
// of 16 blocks the scrub waits minutes; it is not waited for); rate32, the
// default scrub_rate cap reached (scrub_interval 1s makes the pace the cap,
// 32 MiB/s, as on a node storing about 19 TiB); high, scrub_rate 4 GiB/s with
// scrub_interval 1s (the pace is then the bytes stored per second, 1 GiB/s
// by default, 1 GiB stored: more than the scrub hashes next to the gets).
func scrubModes() []scrubMode {
	def := node.DefaultConfig()
	return []scrubMode{
		{name: "off", interval: -1, rate: def.ScrubRate},
		{name: "week", interval: def.ScrubInterval, rate: def.ScrubRate},
		{name: "rate32", interval: time.Second, rate: def.ScrubRate, mustRun: true},
		{name: "high", interval: time.Second, rate: 4 << 30, mustRun: true},
	}
}

// BenchmarkGetUnderScrub: Client.GetTo(io.Discard) of one stored object
// through one node while that node's scrub re-hashes everything it stores,
// against the same gets with the scrub off. One data directory holds the
// object and some filler; each iteration is a round that opens a node on
// that directory once per scrub mode (off, week, rate32, high, each round
// starting one mode further), waits until its scrub has started, times
// EMERGE_BENCH_SCRUB_GETS gets and closes it, so the modes alternate and
// share whatever else the machine does; each round is logged. Per mode: MB/s and cpu-ns/B (median over rounds), the
// scrub's own rate during the timed gets (blocks checked, from the node's
// health, times the block size), and MODE/off (median of the per-round
// ratios of MB/s).
func BenchmarkGetUnderScrub(b *testing.B) {
	size := envInt(b, envScrubMiB, 256) * mib
	fill := envInt(b, envScrubFill, 768) * mib
	gets := envInt(b, envScrubGets, 12)
	dir := b.TempDir()
	ctx := context.Background()
	ref := seedScrubDir(b, dir, size, fill)
	modes := scrubModes()
	mbs := make(map[string][]float64)
	cpus := make(map[string][]float64)
	scrubs := make(map[string][]float64)
	ratios := make(map[string][]float64)
	rounds := 0
	for b.Loop() {
		b.StopTimer() // each mode times its own gets
		round := map[string]float64{}
		rounds++
		for k := range modes {
			// each round starts one mode further, so that no mode always
			// follows the same one (a node's first seconds after opening)
			m := modes[(k+rounds-1)%len(modes)]
			n := startScrubNode(b, dir, m)
			c, err := client.Dial(ctx, n.Endpoint(), &client.Options{NoShm: true})
			if err != nil {
				b.Fatal(err)
			}
			if m.mustRun {
				nodetest.WaitFor(b, time.Minute, "the scrub to start", func() bool { return scrubChecked(b, c) > 0 })
			}
			checked0 := scrubChecked(b, c)
			start, cpu0 := time.Now(), cpuTime(b)
			for range gets {
				k, err := c.GetTo(ctx, ref, io.Discard)
				if err != nil || k != int64(size) {
					b.Fatalf("%s: get: %d bytes of %d, %v", m.name, k, size, err)
				}
			}
			took, cpu := time.Since(start), cpuTime(b)-cpu0
			checked := scrubChecked(b, c) - checked0
			c.Close()
			nodetest.CheckStore(b, n)
			n.Close()
			if m.mustRun && checked == 0 {
				b.Fatalf("%s: the scrub checked no block during the timed gets", m.name)
			}
			total := int64(gets) * int64(size)
			round[m.name] = rate(total, took)
			mbs[m.name] = append(mbs[m.name], round[m.name])
			cpus[m.name] = append(cpus[m.name], float64(cpu)/float64(total))
			scrubs[m.name] = append(scrubs[m.name], rate(checked*blockSize, took))
		}
		line := fmt.Sprintf("round %d:", rounds)
		for _, m := range modes {
			line += fmt.Sprintf(" %s %.0f MB/s", m.name, round[m.name])
			if m.name != "off" {
				line += fmt.Sprintf(" scrub %.0f MB/s", scrubs[m.name][len(scrubs[m.name])-1])
				ratios[m.name] = append(ratios[m.name], round[m.name]/round["off"])
				line += fmt.Sprintf(" (%.2f)", round[m.name]/round["off"])
			}
		}
		b.Log(line)
		b.StartTimer()
	}
	for _, m := range modes {
		b.ReportMetric(median(mbs[m.name]), m.name+"-MB/s")
		b.ReportMetric(median(cpus[m.name]), m.name+"-cpu-ns/B")
		if m.name != "off" {
			b.ReportMetric(median(scrubs[m.name]), m.name+"-scrub-MB/s")
			b.ReportMetric(median(ratios[m.name]), m.name+"/off")
		}
	}
}

// seedScrubDir stores the object the gets read (size bytes) and fill bytes
// of other objects in dir, through a node with the scrub off, then closes it.
func seedScrubDir(b *testing.B, dir string, size, fill int) blocks.Ref {
	n := startScrubNode(b, dir, scrubMode{name: "seed", interval: -1, rate: node.DefaultConfig().ScrubRate})
	defer n.Close()
	c, err := client.Dial(context.Background(), n.Endpoint(), &client.Options{NoShm: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	obj := newObject(5, size)
	ref, err := c.Put(context.Background(), bytes.NewReader(obj.data), client.PutOptions{})
	if err != nil {
		b.Fatal(err)
	}
	checkObject(b, c, ref, obj.data)
	const part = 64 * mib
	for i := 0; i*part < fill; i++ {
		f := newObject(uint64(100+i), min(part, fill-i*part))
		if _, err := c.Put(context.Background(), bytes.NewReader(f.data), client.PutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	return ref
}

// startScrubNode opens a node alone on dir (production Badger sizes, no
// shared memory, as startNode) that scrubs as m says. The caller closes it.
func startScrubNode(b *testing.B, dir string, m scrubMode) *node.Node {
	cfg := nodetest.Config(b)
	def := node.DefaultConfig()
	cfg.DataDir = dir
	cfg.Replicas = 1
	cfg.MemTableSize = def.MemTableSize
	cfg.BlockCacheSize = def.BlockCacheSize
	cfg.ValueLogFileSize = def.ValueLogFileSize
	cfg.ShmOff = true
	cfg.ScrubInterval = m.interval
	cfg.ScrubRate = m.rate
	n, err := node.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(context.Background()); err != nil {
		n.Close()
		b.Fatalf("%s: %v", m.name, err)
	}
	return n
}

// scrubChecked is the node's count of blocks scrubbed since it started.
func scrubChecked(b *testing.B, c *client.Client) int64 {
	h, err := c.Health(context.Background())
	if err != nil {
		b.Fatal(fmt.Errorf("health: %w", err))
	}
	return h.ScrubChecked
}

// median of vs (0 for none); vs is left unchanged.
func median(vs []float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
