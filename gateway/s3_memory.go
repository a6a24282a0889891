package gateway

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// MemoryNamespace is a Namespace held in this process's memory: buckets and
// keys are this node's alone and are lost when it stops (their objects
// stay in the store). A node serves NamesNamespace; this one is for tests
// and for embedding the gateway without a names service.
type MemoryNamespace struct {
	mu      sync.Mutex
	buckets map[string]*memBucket
	uses    map[blocks.Ref]int // keys naming each ref, over every bucket
	now     func() time.Time
}

type memBucket struct {
	created time.Time
	keys    map[string]Entry
	sorted  []string // keys in order; nil when it must be rebuilt
}

// NewMemoryNamespace returns an empty namespace.
func NewMemoryNamespace() *MemoryNamespace {
	return &MemoryNamespace{buckets: map[string]*memBucket{}, uses: map[blocks.Ref]int{}, now: time.Now}
}

// CheckKey takes every key S3 does.
func (m *MemoryNamespace) CheckKey(bucket, key string) error { return nil }

func (m *MemoryNamespace) Buckets(ctx context.Context) ([]Bucket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Bucket, 0, len(m.buckets))
	for name, b := range m.buckets {
		out = append(out, Bucket{Name: name, Created: b.created})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *MemoryNamespace) Bucket(ctx context.Context, name string) (Bucket, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[name]
	if !ok {
		return Bucket{}, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	}
	return Bucket{Name: name, Created: b.created}, nil
}

func (m *MemoryNamespace) CreateBucket(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.buckets[name]; ok {
		return fmt.Errorf("%w: %s", ErrBucketExists, name)
	}
	m.buckets[name] = &memBucket{created: m.now().UTC(), keys: map[string]Entry{}}
	return nil
}

func (m *MemoryNamespace) DeleteBucket(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.buckets[name]
	switch {
	case !ok:
		return fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	case len(b.keys) > 0:
		return fmt.Errorf("%w: %s holds %d keys", ErrBucketNotEmpty, name, len(b.keys))
	}
	delete(m.buckets, name)
	return nil
}

func (m *MemoryNamespace) Get(ctx context.Context, bucket, key string) (Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucket(bucket)
	if err != nil {
		return Entry{}, err
	}
	e, ok := b.keys[key]
	if !ok {
		return Entry{}, fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
	}
	return e, nil
}

func (m *MemoryNamespace) Put(ctx context.Context, bucket string, e Entry) ([]blocks.Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucket(bucket)
	if err != nil {
		return nil, err
	}
	old, had := b.keys[e.Key]
	if !had {
		b.sorted = nil
	}
	b.keys[e.Key] = e
	m.uses[e.Ref]++
	if had {
		return m.release(old.Ref), nil
	}
	return nil, nil
}

func (m *MemoryNamespace) Delete(ctx context.Context, bucket, key string) ([]blocks.Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucket(bucket)
	if err != nil {
		return nil, err
	}
	e, ok := b.keys[key]
	if !ok {
		return nil, fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
	}
	delete(b.keys, key)
	b.sorted = nil
	return m.release(e.Ref), nil
}

// release drops one use of ref and returns it when no key names it.
func (m *MemoryNamespace) release(ref blocks.Ref) []blocks.Ref {
	m.uses[ref]--
	if m.uses[ref] > 0 {
		return nil
	}
	delete(m.uses, ref)
	return []blocks.Ref{ref}
}

func (m *MemoryNamespace) List(ctx context.Context, bucket, prefix, after string, limit int) ([]Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.bucket(bucket)
	if err != nil {
		return nil, false, err
	}
	if b.sorted == nil {
		b.sorted = make([]string, 0, len(b.keys))
		for k := range b.keys {
			b.sorted = append(b.sorted, k)
		}
		sort.Strings(b.sorted)
	}
	start := max(after, prefix)
	i := sort.SearchStrings(b.sorted, start)
	var out []Entry
	for ; i < len(b.sorted); i++ {
		k := b.sorted[i]
		if k <= after {
			continue
		}
		if !strings.HasPrefix(k, prefix) {
			break
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, b.keys[k])
	}
	return out, false, nil
}

func (m *MemoryNamespace) bucket(name string) (*memBucket, error) {
	b, ok := m.buckets[name]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	}
	return b, nil
}
