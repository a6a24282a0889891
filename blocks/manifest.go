package blocks

import (
	"bytes"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// Block size limits and the default.
const (
	MinBlockSize     = 64 << 10
	MaxBlockSize     = 64 << 20
	DefaultBlockSize = 1 << 20
)

// Manifest limits: every decoded count and length is capped.
const (
	// MaxBlocks caps the block count of one object: 2 TiB at the default
	// block size, 128 GiB at the smallest.
	MaxBlocks = 1 << 21
	// MaxMetaEntries, MaxMetaKey and MaxMetaValue cap user metadata.
	MaxMetaEntries = 64
	MaxMetaKey     = 256
	MaxMetaValue   = 4096
	// MaxContentType caps the content type string.
	MaxContentType = 256
	// MaxReplicas caps the requested replica count.
	MaxReplicas = 64
)

// manifestVersion is the first element of the identity encoding.
const manifestVersion = 1

// Manifest describes one object. Size, BlockSize, Blocks, ContentType and
// Meta are its identity: they are what Encode writes and what Ref hashes, so
// the same bytes put twice with the same options give the same ref. Replicas
// and Created are per-put policy and bookkeeping, kept in the stored record
// (MarshalRecord) but outside the identity; see docs/architecture.md.
type Manifest struct {
	Size        int64
	BlockSize   int
	Blocks      []ID
	ContentType string
	Meta        map[string]string

	Replicas int
	Created  time.Time
}

// manifestWire is the identity encoding: a msgpack array in fixed order,
// block ids concatenated into one bin, metadata keys sorted.
type manifestWire struct {
	_msgpack    struct{} `msgpack:",as_array"` // the name _msgpack is what makes as_array apply
	Version     int
	Size        int64
	BlockSize   int
	Blocks      []byte
	ContentType string
	Meta        map[string]string
}

// recordWire is how a manifest is stored: the identity bytes, then policy.
type recordWire struct {
	_msgpack struct{} `msgpack:",as_array"`
	Identity []byte
	Replicas int
	Created  int64 // unix nanoseconds
}

// NumBlocks is the number of blocks an object of size bytes has.
func NumBlocks(size int64, blockSize int) int {
	if size <= 0 {
		return 0
	}
	return int((size + int64(blockSize) - 1) / int64(blockSize))
}

// BlockLen is the length of block i of the object.
func (m *Manifest) BlockLen(i int) int {
	if i < len(m.Blocks)-1 {
		return m.BlockSize
	}
	return int(m.Size - int64(m.BlockSize)*int64(len(m.Blocks)-1))
}

// Validate checks the manifest against the limits and its own invariants.
func (m *Manifest) Validate() error {
	switch {
	case m.BlockSize < MinBlockSize || m.BlockSize > MaxBlockSize:
		return fmt.Errorf("%w: %w: %d", ErrBadManifest, ErrBadBlockSize, m.BlockSize)
	case m.Size < 0:
		return fmt.Errorf("%w: negative size %d", ErrBadManifest, m.Size)
	case len(m.Blocks) > MaxBlocks:
		return fmt.Errorf("%w: %d blocks, limit %d", ErrBadManifest, len(m.Blocks), MaxBlocks)
	case len(m.Blocks) != NumBlocks(m.Size, m.BlockSize):
		return fmt.Errorf("%w: %d blocks for %d bytes at block size %d", ErrBadManifest, len(m.Blocks), m.Size, m.BlockSize)
	case len(m.ContentType) > MaxContentType:
		return fmt.Errorf("%w: content type longer than %d", ErrBadManifest, MaxContentType)
	case m.Replicas < 0 || m.Replicas > MaxReplicas:
		return fmt.Errorf("%w: replicas %d outside [0, %d]", ErrBadManifest, m.Replicas, MaxReplicas)
	}
	return ValidateMeta(m.Meta)
}

// ValidateMeta checks user metadata against the caps.
func ValidateMeta(meta map[string]string) error {
	if len(meta) > MaxMetaEntries {
		return fmt.Errorf("%w: %d metadata entries, limit %d", ErrBadManifest, len(meta), MaxMetaEntries)
	}
	for k, v := range meta {
		if k == "" || len(k) > MaxMetaKey || len(v) > MaxMetaValue {
			return fmt.Errorf("%w: metadata key %q: key must be 1..%d bytes, value at most %d", ErrBadManifest, clip(k), MaxMetaKey, MaxMetaValue)
		}
	}
	return nil
}

// Encode returns the identity encoding (what Ref hashes).
func (m *Manifest) Encode() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	ids := make([]byte, 0, len(m.Blocks)*IDSize)
	for i := range m.Blocks {
		ids = append(ids, m.Blocks[i][:]...)
	}
	w := manifestWire{Version: manifestVersion, Size: m.Size, BlockSize: m.BlockSize, Blocks: ids, ContentType: m.ContentType}
	if len(m.Meta) > 0 {
		w.Meta = m.Meta
	}
	var buf bytes.Buffer
	enc := msgpack.NewEncoder(&buf)
	enc.SetSortMapKeys(true)
	if err := enc.Encode(&w); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	return buf.Bytes(), nil
}

// Ref returns the object's ref: the hash of its identity encoding.
func (m *Manifest) Ref() (Ref, error) {
	b, err := m.Encode()
	if err != nil {
		return Ref{}, err
	}
	return Ref(Sum(b)), nil
}

// DecodeManifest parses an identity encoding. Hostile input gets
// ErrBadManifest, never a panic or an allocation beyond the input's size.
// Only the canonical encoding (what Encode writes) is accepted, so a
// manifest has exactly one encoding and Sum(b) is always its Ref.
func DecodeManifest(b []byte) (*Manifest, error) {
	if len(b) > maxIdentityLen {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadManifest, len(b), maxIdentityLen)
	}
	f, err := readIdentity(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadManifest, err)
	}
	m := manifestFromFields(f)
	canon, err := m.Encode() // validates
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(canon, b) {
		return nil, fmt.Errorf("%w: not the canonical encoding", ErrBadManifest)
	}
	return m, nil
}

// maxIdentityLen bounds an encoded manifest: the block list plus generous
// room for metadata.
const maxIdentityLen = MaxBlocks*IDSize + MaxMetaEntries*(MaxMetaKey+MaxMetaValue+16) + 1024

// MarshalRecord encodes the manifest with its policy fields, for storage and
// for transfer between nodes.
func (m *Manifest) MarshalRecord() ([]byte, error) {
	id, err := m.Encode()
	if err != nil {
		return nil, err
	}
	r := recordWire{Identity: id, Replicas: m.Replicas}
	if !m.Created.IsZero() {
		r.Created = m.Created.UnixNano()
	}
	return msgpack.Marshal(&r)
}

// UnmarshalRecord decodes what MarshalRecord wrote and returns the manifest
// with its ref.
func UnmarshalRecord(b []byte) (*Manifest, Ref, error) {
	f, err := readRecord(b)
	if err != nil {
		return nil, Ref{}, fmt.Errorf("%w: record: %w", ErrBadManifest, err)
	}
	m, err := DecodeManifest(f.identity)
	if err != nil {
		return nil, Ref{}, err
	}
	m.Replicas = int(f.replicas)
	if f.created != 0 {
		m.Created = time.Unix(0, f.created).UTC()
	}
	return m, Ref(Sum(f.identity)), nil
}
