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
type progress struct {
	w     io.Writer
	verb  string
	total int64
	show  bool
	start time.Time

	mu   sync.Mutex
	n    int64
	last time.Time
}

const progressMin = 16 << 20

func newProgress(w io.Writer, verb string, total int64) *progress {
	p := &progress{w: w, verb: verb, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.show = total < 0 || total >= progressMin
	}
	return p
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
	defer p.mu.Unlock()
	if !p.show {
		return
	}
	p.draw(true)
	fmt.Fprintln(p.w)
}

func (p *progress) draw(force bool) {
	if !p.show || (!force && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	rate := float64(p.n) / time.Since(p.start).Seconds()
	if p.total > 0 {
		fmt.Fprintf(p.w, "\r%s %s / %s  %3d%%  %s/s   ", p.verb, units.Human(p.n), units.Human(p.total),
			p.n*100/p.total, units.Human(int64(rate)))
		return
	}
	fmt.Fprintf(p.w, "\r%s %s  %s/s   ", p.verb, units.Human(p.n), units.Human(int64(rate)))
}
