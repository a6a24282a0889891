package shm

// poolFile is a retired file kept so that its pages, already backed by the
// host, can be written again at memory speed (see doc.go).
type poolFile struct {
	name string
	size int64
}

// pool holds retired files, oldest first.
type pool struct {
	files []*poolFile
	bytes int64
}

func (p *pool) push(f *poolFile) {
	p.files = append(p.files, f)
	p.bytes += f.size
}

// recycleSlack lets a small object take a pool file somewhat larger than
// twice its size.
const recycleSlack = 1 << 20

// bestFit picks the file to reuse for n bytes: the smallest at least n
// long, unless that is over twice n (truncating it would free pages a
// larger object could have used); else the longest shorter one. nil when
// none fits or n is 0.
func (p *pool) bestFit(n int64) *poolFile {
	if n == 0 {
		return nil
	}
	var above, below *poolFile
	for _, f := range p.files {
		switch {
		case f.size >= n && (above == nil || f.size < above.size):
			above = f
		case f.size < n && (below == nil || f.size > below.size):
			below = f
		}
	}
	if above != nil && above.size <= 2*n+recycleSlack {
		return above
	}
	return below
}

func (p *pool) remove(f *poolFile) {
	for i, g := range p.files {
		if g == f {
			p.files = append(p.files[:i], p.files[i+1:]...)
			p.bytes -= f.size
			return
		}
	}
}

// oldestExcept returns the oldest file other than keep, or nil.
func (p *pool) oldestExcept(keep *poolFile) *poolFile {
	for _, f := range p.files {
		if f != keep {
			return f
		}
	}
	return nil
}
