// Command smallput stores many small distinct objects in one node, for the
// "1M small objects" row of bench/scale.sh:
//
//	smallput -node tcp://127.0.0.1:7700 -n 1000000 -size 1024 -c 32
//
// Object i holds i (8 bytes, little endian) followed by -size-8 bytes of
// -seed, so every object is new to the node. C workers share one client;
// the command prints "OBJECTS SECONDS" and exits non-zero on the first
// failed put.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emerge-dev/emerge/client"
)

func main() {
	node := flag.String("node", os.Getenv("EMERGE_NODE"), "rpc endpoint of the node (env EMERGE_NODE)")
	n := flag.Int64("n", 100000, "objects to put")
	size := flag.Int("size", 1024, "bytes per object (at least 8)")
	conc := flag.Int("c", 32, "concurrent puts")
	seed := flag.Uint64("seed", 1, "distinguishes runs: objects of different seeds differ")
	progress := flag.Duration("progress", 0, "print the count done at this interval (0: never)")
	flag.Parse()
	if *node == "" || *n < 1 || *size < 16 || *conc < 1 {
		fmt.Fprintln(os.Stderr, "smallput: need -node, -n >= 1, -size >= 16, -c >= 1")
		os.Exit(2)
	}
	ctx := context.Background()
	cl, err := client.Dial(ctx, *node, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "smallput:", err)
		os.Exit(1)
	}
	defer cl.Close()
	var next, done atomic.Int64
	var failed atomic.Pointer[error]
	var wg sync.WaitGroup
	stop := make(chan struct{})
	if *progress > 0 {
		go func() {
			t := time.NewTicker(*progress)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					fmt.Fprintf(os.Stderr, "smallput: %d\n", done.Load())
				}
			}
		}()
	}
	t0 := time.Now()
	for w := 0; w < *conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, *size)
			binary.LittleEndian.PutUint64(buf[8:], *seed)
			for {
				i := next.Add(1) - 1
				if i >= *n || failed.Load() != nil {
					return
				}
				binary.LittleEndian.PutUint64(buf, uint64(i))
				if _, err := cl.PutBytes(ctx, buf, client.PutOptions{}); err != nil {
					err = fmt.Errorf("put %d: %w", i, err)
					failed.CompareAndSwap(nil, &err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	close(stop)
	if p := failed.Load(); p != nil {
		fmt.Fprintln(os.Stderr, "smallput:", *p)
		os.Exit(1)
	}
	fmt.Printf("%d %.3f\n", done.Load(), time.Since(t0).Seconds())
}
