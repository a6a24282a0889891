package gateway

import (
	"context"
	"errors"
	"time"

	"github.com/emerge-dev/emerge/blocks"
)

// Errors of a Namespace.
var (
	ErrNoSuchBucket    = errors.New("no such bucket")
	ErrNoSuchKey       = errors.New("no such key")
	ErrBucketExists    = errors.New("bucket already exists")
	ErrBucketNotEmpty  = errors.New("bucket not empty")
	ErrInvalidBucket   = errors.New("invalid bucket name")
	ErrNamespaceClosed = errors.New("namespace closed")
)

// Bucket is a top-level directory of the namespace.
type Bucket struct {
	Name    string
	Created time.Time
}

// Entry is what a key of a bucket names: an object, and what S3 clients
// expect to read back about it.
type Entry struct {
	Key         string
	Ref         blocks.Ref
	Size        int64
	ETag        string // without quotes: hex MD5 of the bytes, or hex MD5 of the parts' MD5s + "-N"
	Modified    time.Time
	ContentType string
	Meta        map[string]string // x-amz-meta-* headers: lower-case names without the prefix
}

// Namespace maps buckets and keys to objects: the S3 view of the node's
// namespace, where a bucket is a top-level directory. Implementations are
// safe for concurrent use.
//
// Put and Delete return the refs no key names any more: the gateway
// deletes those objects (a Namespace that keeps old versions returns none).
type Namespace interface {
	Buckets(ctx context.Context) ([]Bucket, error)
	Bucket(ctx context.Context, name string) (Bucket, error) // ErrNoSuchBucket
	CreateBucket(ctx context.Context, name string) error     // ErrBucketExists
	DeleteBucket(ctx context.Context, name string) error     // ErrNoSuchBucket, ErrBucketNotEmpty
	Get(ctx context.Context, bucket, key string) (Entry, error)
	Put(ctx context.Context, bucket string, e Entry) (unused []blocks.Ref, err error)
	Delete(ctx context.Context, bucket, key string) (unused []blocks.Ref, err error) // ErrNoSuchKey
	// List returns up to limit entries of bucket whose keys start with
	// prefix and sort after after, in key order (bytewise), and whether
	// more follow.
	List(ctx context.Context, bucket, prefix, after string, limit int) ([]Entry, bool, error)
	// CheckKey refuses a key the namespace cannot hold; the gateway asks
	// before it stores anything.
	CheckKey(bucket, key string) error
}
