package shm

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/emerge-dev/emerge/blocks"
)

// model is what the tier should hold: hot refs, most recent first, and the
// bytes of open uploads.
type model struct {
	capacity int64
	sizes    []int64 // size of ref i, fixed: refs name content
	order    []int   // hot refs, most recently used first
	uploads  map[string]int64
}

func (m *model) live() int64 {
	n := int64(0)
	for _, i := range m.order {
		n += m.sizes[i]
	}
	for _, s := range m.uploads {
		n += s
	}
	return n
}

// reserve predicts Create or CreateUpload of n bytes: LRU copies go while
// they must; nothing goes when evicting everything would not do.
func (m *model) reserve(n int64) error {
	if n > m.capacity {
		return ErrTooLarge
	}
	uploads := m.live() - m.hotBytes()
	if uploads+n > m.capacity {
		return ErrNoSpace
	}
	for m.live()+n > m.capacity {
		m.order = m.order[:len(m.order)-1]
	}
	return nil
}

func (m *model) hotBytes() int64 {
	n := int64(0)
	for _, i := range m.order {
		n += m.sizes[i]
	}
	return n
}

func (m *model) use(i int) {
	m.order = slices.DeleteFunc(m.order, func(j int) bool { return j == i })
	m.order = append([]int{i}, m.order...)
}

// TestModel runs random operations against the tier and the model and
// compares them after each: same hot copies in the same LRU order, every
// open view unchanged, files matching the accounting.
func TestModel(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		runModel(t, seed, 600)
	}
}

type modelRun struct {
	t     *testing.T
	rng   *rand.Rand
	tier  *Tier
	m     *model
	views map[*View][]byte
	ups   []Upload
	data  map[int][]byte
}

// content is ref i's bytes, generated once.
func (r *modelRun) content(i int) []byte {
	if r.data[i] == nil {
		r.data[i] = content(testRef(i), r.m.sizes[i])
	}
	return r.data[i]
}

func runModel(t *testing.T, seed uint64, steps int) {
	rng := rand.New(rand.NewPCG(seed, 0))
	m := &model{capacity: 2 * mib, uploads: map[string]int64{}}
	for range 30 {
		m.sizes = append(m.sizes, rng.Int64N(3*mib/4))
	}
	m.sizes[0], m.sizes[1] = 0, m.capacity+1 // an empty object, one too large
	r := &modelRun{t: t, rng: rng, m: m, views: map[*View][]byte{}, data: map[int][]byte{},
		tier: newTier(t, Config{Capacity: m.capacity, RecycleBytes: int64(seed%3-1) * mib})}
	for step := range steps {
		r.step()
		if err := r.compare(); err != nil {
			t.Fatalf("seed %d step %d: %v", seed, step, err)
		}
	}
	for v := range r.views {
		v.Close()
	}
	st := r.tier.Stats()
	t.Logf("seed %d: %d evictions, %d recycled", seed, st.Evictions, st.Recycled)
	if st.Evictions == 0 || (st.Recycled == 0 && r.tier.cfg.RecycleBytes > 0) {
		t.Errorf("seed %d exercised too little: %+v", seed, st)
	}
}

func (r *modelRun) step() {
	i := r.rng.IntN(len(r.m.sizes))
	switch op := r.rng.IntN(10); {
	case op < 4:
		r.create(i, op == 0)
	case op < 6:
		r.acquire(i)
	case op < 7:
		r.remove(i)
	default:
		r.uploadOp(i)
	}
}

func (r *modelRun) create(i int, abort bool) {
	ref, n := testRef(i), r.m.sizes[i]
	w, err := r.tier.Create(ref, n)
	want := ErrExists
	if !slices.Contains(r.m.order, i) {
		want = r.m.reserve(n)
	}
	if !errors.Is(err, want) || (want == nil) != (err == nil) {
		r.t.Fatalf("create %d (%d bytes): %v, model says %v", i, n, err, want)
	}
	if err != nil {
		return
	}
	if abort {
		w.Write(r.content(i)[:n/2])
		w.Abort()
		return
	}
	w.Write(r.content(i))
	if err := w.Seal(); err != nil {
		r.t.Fatal(err)
	}
	r.m.use(i)
}

func (r *modelRun) acquire(i int) {
	path, size, err := r.tier.Acquire(testRef(i))
	if !slices.Contains(r.m.order, i) {
		if !errors.Is(err, ErrNotFound) {
			r.t.Fatalf("acquire %d: %v, model says not hot", i, err)
		}
		return
	}
	r.m.use(i)
	v, err := OpenView(path, size)
	if err != nil {
		r.t.Fatal(err)
	}
	if !bytes.Equal(v.Bytes(), r.content(i)) {
		r.t.Fatalf("view of %d reads wrong", i)
	}
	if len(r.views) < 4 { // keep some open across later operations
		r.views[v] = bytes.Clone(v.Bytes())
	} else {
		v.Close()
	}
}

func (r *modelRun) remove(i int) {
	err := r.tier.Remove(testRef(i))
	if hot := slices.Contains(r.m.order, i); hot != (err == nil) {
		r.t.Fatalf("remove %d: %v, model hot=%v", i, err, hot)
	}
	r.m.order = slices.DeleteFunc(r.m.order, func(j int) bool { return j == i })
}

// uploadOp creates an upload for ref i, or finishes an open one: commit
// (as ref i) or drop.
func (r *modelRun) uploadOp(i int) {
	if len(r.ups) == 0 || r.rng.IntN(2) == 0 {
		up, err := r.tier.CreateUpload(r.m.sizes[i])
		if want := r.m.reserve(r.m.sizes[i]); !errors.Is(err, want) || (want == nil) != (err == nil) {
			r.t.Fatalf("upload %d: %v, model says %v", i, err, want)
		}
		if err == nil {
			r.m.uploads[up.Name] = up.Size
			r.ups = append(r.ups, up)
		}
		return
	}
	up := r.ups[0]
	r.ups = r.ups[1:]
	delete(r.m.uploads, up.Name)
	if r.rng.IntN(3) == 0 {
		if err := r.tier.DropUpload(up.Name); err != nil {
			r.t.Fatal(err)
		}
		return
	}
	r.commit(up)
}

func (r *modelRun) commit(up Upload) {
	i := slices.Index(r.m.sizes, up.Size) // a ref whose content has this size
	ref := testRef(i)
	if _, err := WriteUpload(up.Path, bytes.NewReader(r.content(i))); err != nil {
		r.t.Fatal(err)
	}
	f, _, err := r.tier.SealUpload(up.Name)
	if err != nil {
		r.t.Fatal(err)
	}
	f.Close()
	if err := r.tier.CommitUpload(up.Name, ref); err != nil {
		r.t.Fatal(err)
	}
	if !slices.Contains(r.m.order, i) {
		r.m.order = append([]int{i}, r.m.order...)
	}
}

func (r *modelRun) compare() error {
	for v, want := range r.views {
		if !bytes.Equal(v.Bytes(), want) {
			return errors.New("an open view changed")
		}
	}
	if got, want := r.tier.order(), r.m.order; !slices.Equal(got, want) {
		r.t.Fatalf("hot copies %v, model %v", got, want)
	}
	return r.tier.check()
}

// order lists the hot copies as indexes of testRef, most recent first.
func (t *Tier) order() []int {
	t.mu.Lock()
	defer t.mu.Unlock()
	index := map[blocks.Ref]int{}
	for i := range 64 {
		index[testRef(i)] = i
	}
	var out []int
	for el := t.lru.Front(); el != nil; el = el.Next() {
		out = append(out, index[el.Value.(*entry).ref])
	}
	return out
}
