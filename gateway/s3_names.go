package gateway

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/emerge-dev/emerge/names"
)

// bucketMarker is the name that makes an empty top-level directory a
// bucket: CreateBucket binds it, listings of keys leave it out. It names
// markerRef, which no object has: nothing is stored for a bucket.
const bucketMarker = ".s3-bucket"

var markerRef = blocks.Ref(blocks.Sum([]byte("emerge: S3 bucket marker, no object")))

// Meta keys of a names entry written through S3: the ETag S3 clients
// check, and each x-amz-meta-* header under a prefix.
const (
	metaETag   = "s3-etag"
	metaHeader = "s3-meta-"
)

// NamesNamespace is the S3 view of the node's namespace of names: a bucket
// is a top-level directory, a key the rest of the path (bucket b, key
// k/x.bin is the name /b/k/x.bin). What S3 writes is replicated to every
// node and survives restarts, and the same objects are reachable by name
// from the CLI and the clients.
//
// S3 buckets are not versioned: an S3 PUT binds a version that replaces
// every earlier one (names.BindOptions.Replace), and a DELETE removes every
// version; objects no other name holds are then deleted.
type NamesNamespace struct {
	svc  *names.Service
	free func([]blocks.Ref)
}

// NewNamesNamespace serves S3 from svc. free, when set, takes the objects
// an overwrite or a DELETE leaves unnamed (the node deletes them after a
// grace that lets reads in flight finish); without it Put and Delete
// return them and the gateway deletes them at once.
func NewNamesNamespace(svc *names.Service, free func([]blocks.Ref)) *NamesNamespace {
	return &NamesNamespace{svc: svc, free: free}
}

// unused hands refs to free, if set, or returns them to the gateway.
func (m *NamesNamespace) unused(refs []blocks.Ref) []blocks.Ref {
	if m.free == nil {
		return refs
	}
	m.free(refs)
	return nil
}

func bucketDir(bucket string) string { return "/" + bucket + "/" }

// keyPath is the name of bucket/key. S3 keys that are not valid names
// (empty segments, "." or "..", '@', a trailing "/") are refused.
func keyPath(bucket, key string) (string, error) {
	p := bucketDir(bucket) + key
	if key == bucketMarker {
		return "", fmt.Errorf("%w: key %q is reserved for the bucket marker", names.ErrBadPath, key)
	}
	if err := names.ValidatePath(p); err != nil {
		return "", fmt.Errorf("key %q: %w (S3 keys are names here: no empty, \".\" or \"..\" segment, no '@', no trailing '/')", key, err)
	}
	return p, nil
}

// CheckKey refuses a key that cannot be a name (see keyPath).
func (m *NamesNamespace) CheckKey(bucket, key string) error {
	_, err := keyPath(bucket, key)
	return err
}

func (m *NamesNamespace) Buckets(ctx context.Context) ([]Bucket, error) {
	items, err := m.svc.List(ctx, "/", false)
	if err != nil {
		return nil, err
	}
	var out []Bucket
	for _, it := range items {
		if !it.Dir {
			continue
		}
		name := strings.Trim(it.Path, "/")
		if validBucket(name) != nil {
			continue // a top-level directory S3 cannot name
		}
		b, err := m.Bucket(ctx, name)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (m *NamesNamespace) Bucket(ctx context.Context, name string) (Bucket, error) {
	if err := validBucket(name); err != nil {
		return Bucket{}, err
	}
	if e, err := m.svc.Resolve(ctx, bucketDir(name)+bucketMarker); err == nil {
		return Bucket{Name: name, Created: e.Created}, nil
	}
	items, err := m.svc.List(ctx, bucketDir(name), false)
	if err != nil {
		return Bucket{}, err
	}
	if len(items) == 0 {
		return Bucket{}, fmt.Errorf("%w: %s", ErrNoSuchBucket, name)
	}
	b := Bucket{Name: name}
	for _, it := range items { // a directory made by names alone: its oldest name's time
		if !it.Dir && (b.Created.IsZero() || it.Latest.Created.Before(b.Created)) {
			b.Created = it.Latest.Created
		}
	}
	return b, nil
}

func (m *NamesNamespace) CreateBucket(ctx context.Context, name string) error {
	if err := validBucket(name); err != nil {
		return err
	}
	if _, err := m.Bucket(ctx, name); err == nil {
		return fmt.Errorf("%w: %s", ErrBucketExists, name)
	}
	_, err := m.svc.Bind(ctx, bucketDir(name)+bucketMarker, markerRef, names.BindOptions{ContentType: "application/x-directory"})
	return err
}

func (m *NamesNamespace) DeleteBucket(ctx context.Context, name string) error {
	if _, err := m.Bucket(ctx, name); err != nil {
		return err
	}
	keys, _, err := m.List(ctx, name, "", "", 1)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return fmt.Errorf("%w: %s", ErrBucketNotEmpty, name)
	}
	if _, _, err := m.svc.Remove(ctx, bucketDir(name)+bucketMarker, true); err != nil &&
		!errors.Is(err, names.ErrNotFound) && !errors.Is(err, names.ErrRemoved) {
		return err
	}
	return nil
}

func (m *NamesNamespace) Get(ctx context.Context, bucket, key string) (Entry, error) {
	p, err := keyPath(bucket, key)
	if err != nil {
		return Entry{}, err
	}
	e, err := m.svc.Resolve(ctx, p)
	if errors.Is(err, names.ErrNotFound) || errors.Is(err, names.ErrRemoved) {
		return Entry{}, m.noKey(ctx, bucket, key)
	}
	if err != nil {
		return Entry{}, err
	}
	return fromName(key, e), nil
}

func (m *NamesNamespace) Put(ctx context.Context, bucket string, e Entry) ([]blocks.Ref, error) {
	p, err := keyPath(bucket, e.Key)
	if err != nil {
		return nil, err
	}
	meta := map[string]string{metaETag: e.ETag}
	for k, v := range e.Meta {
		meta[metaHeader+k] = v
	}
	_, unused, err := m.svc.Freeing(p, func() (names.Entry, error) {
		return m.svc.Bind(ctx, p, e.Ref, names.BindOptions{ContentType: e.ContentType, Size: e.Size, Meta: meta,
			Replace: true})
	})
	if err != nil {
		return nil, err
	}
	return m.unused(unused), nil
}

func (m *NamesNamespace) Delete(ctx context.Context, bucket, key string) ([]blocks.Ref, error) {
	p, err := keyPath(bucket, key)
	if err != nil {
		return nil, err
	}
	_, unused, err := m.svc.Remove(ctx, p, true)
	if errors.Is(err, names.ErrNotFound) || errors.Is(err, names.ErrRemoved) {
		return nil, m.noKey(ctx, bucket, key)
	}
	return m.unused(unused), err
}

// noKey is the error of a missing key: no such bucket, or no such key.
func (m *NamesNamespace) noKey(ctx context.Context, bucket, key string) error {
	if _, err := m.Bucket(ctx, bucket); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s/%s", ErrNoSuchKey, bucket, key)
}

func (m *NamesNamespace) List(ctx context.Context, bucket, prefix, after string, limit int) ([]Entry, bool, error) {
	if _, err := m.Bucket(ctx, bucket); err != nil {
		return nil, false, err
	}
	dir := bucketDir(bucket)
	items, err := m.svc.List(ctx, dir, true)
	if err != nil {
		return nil, false, err
	}
	var out []Entry
	for _, it := range items {
		key := strings.TrimPrefix(it.Path, dir)
		if it.Dir || key == bucketMarker || !strings.HasPrefix(key, prefix) || key <= after {
			continue
		}
		out = append(out, fromName(key, it.Latest))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	more := limit > 0 && len(out) > limit
	if more {
		out = out[:limit]
	}
	return out, more, nil
}

// fromName is the S3 entry of key from its latest version. A name bound
// outside S3 has no MD5: its ETag is the ref, which S3 clients take for an
// opaque tag.
func fromName(key string, e names.Entry) Entry {
	out := Entry{Key: key, Ref: e.Ref, Size: e.Size, ETag: e.Meta[metaETag], Modified: e.Created,
		ContentType: e.ContentType}
	if out.ETag == "" {
		out.ETag = e.Ref.String()
	}
	for k, v := range e.Meta {
		if h, ok := strings.CutPrefix(k, metaHeader); ok {
			if out.Meta == nil {
				out.Meta = map[string]string{}
			}
			out.Meta[h] = v
		}
	}
	return out
}
