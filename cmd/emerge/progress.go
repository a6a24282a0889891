package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/internal/units"
	"golang.org/x/term"
)

// progress draws a one-line bar on stderr when stderr is a terminal and the
// transfer is large enough to be worth watching; otherwise it only counts.
// The bar shows the rate and an ETA. A put through the node's shared memory
// reports nothing until the node has sealed the object (hashed and stored
// it), so such a put starts in the sealing state: a spinner and the time
// elapsed instead of a bar stuck at 0%.
type progress struct {
	w     io.Writer
	verb  string
	total int64
	show  bool
	start time.Time

	mu      sync.Mutex
	n       int64
	last    time.Time
	sealing bool
	frame   int
	ticker  *ticker // redraws the spinner while sealing
}

const (
	progressMin   = 16 << 20
	progressEvery = 100 * time.Millisecond
)

func newProgress(w io.Writer, verb string, total int64) *progress {
	p := &progress{w: w, verb: verb, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.show = total < 0 || total >= progressMin
	}
	return p
}

// sealWait switches to the sealing state until the first report of bytes
// below the total (the client fell back to streaming) or finish.
func (p *progress) sealWait() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sealing = p.total > 0
	if p.show && p.sealing && p.ticker == nil {
		p.ticker = startTicker(progressEvery, func() {
			p.mu.Lock()
			p.frame++
			p.draw(true)
			p.mu.Unlock()
		})
	}
}

func (p *progress) add(d int64) {
	p.mu.Lock()
	p.n += d
	p.draw(false)
	p.mu.Unlock()
}

func (p *progress) set(n int64) {
	p.mu.Lock()
	p.n = n
	if n < p.total {
		p.sealing = false // streaming after all: the bar is meaningful
	}
	p.draw(false)
	p.mu.Unlock()
}

func (p *progress) done() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

func (p *progress) finish(ok bool) {
	p.mu.Lock()
	t := p.ticker
	p.ticker = nil
	p.mu.Unlock()
	t.stop() // outside mu: its last tick may be waiting for it
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.show {
		return
	}
	p.sealing = false
	fmt.Fprintf(p.w, "\r%s\x1b[K\n", finalLine(p.verb, p.n, p.total, time.Since(p.start), ok))
}

func (p *progress) draw(force bool) {
	if !p.show || (!force && time.Since(p.last) < progressEvery) {
		return
	}
	p.last = time.Now()
	elapsed := time.Since(p.start)
	if p.sealing {
		fmt.Fprintf(p.w, "\r%s\x1b[K", sealLine(p.verb, p.total, elapsed, p.frame))
		return
	}
	fmt.Fprintf(p.w, "\r%s\x1b[K", barLine(p.verb, p.n, p.total, elapsed))
}

// barLine is "put 45.0 MiB / 200.0 MiB  22%  90.0 MiB/s  ETA 2s", or
// without a total "put 45.0 MiB  90.0 MiB/s  0.5s".
func barLine(verb string, n, total int64, elapsed time.Duration) string {
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	if total <= 0 {
		return fmt.Sprintf("%s %s  %s/s  %s", verb, units.Human(n), units.Human(int64(rate)), round(elapsed))
	}
	eta := "ETA -"
	if rate > 0 && n <= total {
		eta = "ETA " + round(time.Duration(float64(total-n)/rate*float64(time.Second))).String()
	}
	return fmt.Sprintf("%s %s / %s  %3d%%  %s/s  %s", verb, units.Human(n), units.Human(total), n*100/total,
		units.Human(int64(rate)), eta)
}

var spinner = []rune("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

// sealLine is "put 200.0 MiB  ⠹ sealing in the node's shared memory  3.2s".
func sealLine(verb string, total int64, elapsed time.Duration, frame int) string {
	return fmt.Sprintf("%s %s  %c sealing in the node's shared memory  %s", verb, units.Human(total),
		spinner[frame%len(spinner)], round(elapsed))
}

// finalLine replaces the bar when the transfer ends.
func finalLine(verb string, n, total int64, elapsed time.Duration, ok bool) string {
	if !ok {
		return fmt.Sprintf("%s failed after %s of %s, %s", verb, units.Human(n), sizeOrUnknown(total), round(elapsed))
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(n) / s
	}
	return fmt.Sprintf("%s %s in %s  %s/s", verb, units.Human(n), round(elapsed), units.Human(int64(rate)))
}

func sizeOrUnknown(total int64) string {
	if total < 0 {
		return "?"
	}
	return units.Human(total)
}

// round keeps a tenth of a second under a minute, whole seconds above.
func round(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}

// ticker calls f every period until stop, which waits for it to return.
type ticker struct {
	quit chan struct{}
	done chan struct{}
}

func startTicker(period time.Duration, f func()) *ticker {
	t := &ticker{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(t.done)
		tk := time.NewTicker(period)
		defer tk.Stop()
		for {
			select {
			case <-t.quit:
				return
			case <-tk.C:
				f()
			}
		}
	}()
	return t
}

func (t *ticker) stop() {
	if t == nil {
		return
	}
	close(t.quit)
	<-t.done
}
