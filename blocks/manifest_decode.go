package blocks

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// wireReader decodes msgpack from a byte slice, checking every declared
// length against the bytes actually left before allocating anything.
// msgpack's reflective decoder trusts declared lengths: a 9-byte input that
// declares a 2 GiB bin makes it allocate 2 GiB, and a map header declaring
// 2^20 entries pre-sizes a map of that many. The first error sticks; later
// calls return zero values, so callers check err once at the end.
type wireReader struct {
	in  []byte
	r   *bytes.Reader
	d   *msgpack.Decoder
	err error
}

// errWire marks structural decoding failures (wrong shape, length past the
// end of the input, trailing bytes).
var errWire = errors.New("malformed msgpack")

func newWireReader(b []byte) *wireReader {
	// bytes.Reader is an io.ByteScanner, so the decoder reads it directly
	// without a bufio layer and r.Len() is always the true remainder.
	r := bytes.NewReader(b)
	return &wireReader{in: b, r: r, d: msgpack.NewDecoder(r)}
}

func (w *wireReader) fail(err error) {
	if w.err == nil && err != nil {
		w.err = err
	}
}

// arrayLen reads an array header and requires exactly want elements.
func (w *wireReader) arrayLen(want int) {
	if w.err != nil {
		return
	}
	n, err := w.d.DecodeArrayLen()
	w.fail(err)
	if err == nil && n != want {
		w.fail(fmt.Errorf("%w: array of %d elements, want %d", errWire, n, want))
	}
}

func (w *wireReader) int64() int64 {
	if w.err != nil {
		return 0
	}
	v, err := w.d.DecodeInt64()
	w.fail(err)
	return v
}

// view reads a str or bin of at most max bytes and returns it as a sub-slice
// of the input: no copy, no allocation. A nil value gives nil.
func (w *wireReader) view(max int) []byte {
	if w.err != nil {
		return nil
	}
	n, err := w.d.DecodeBytesLen()
	switch {
	case err != nil:
		w.fail(err)
		return nil
	case n < 0:
		return nil
	case n > max || n > w.r.Len():
		w.fail(fmt.Errorf("%w: %d-byte string with %d bytes left, limit %d", errWire, n, w.r.Len(), max))
		return nil
	}
	start := len(w.in) - w.r.Len()
	if _, err := w.r.Seek(int64(n), 1); err != nil {
		w.fail(err)
		return nil
	}
	return w.in[start : start+n : start+n]
}

func (w *wireReader) str(max int) string { return string(w.view(max)) }

// strMap reads a map of strings with at most maxEntries entries.
func (w *wireReader) strMap(maxEntries, maxKey, maxVal int) map[string]string {
	if w.err != nil {
		return nil
	}
	n, err := w.d.DecodeMapLen()
	switch {
	case err != nil:
		w.fail(err)
		return nil
	case n < 0:
		return nil
	case n > maxEntries || 2*n > w.r.Len():
		w.fail(fmt.Errorf("%w: map of %d entries with %d bytes left, limit %d", errWire, n, w.r.Len(), maxEntries))
		return nil
	}
	m := make(map[string]string, n)
	for i := 0; i < n && w.err == nil; i++ {
		k := w.str(maxKey)
		m[k] = w.str(maxVal)
	}
	return m
}

// end requires that the whole input was consumed.
func (w *wireReader) end() {
	if w.err == nil && w.r.Len() != 0 {
		w.fail(fmt.Errorf("%w: %d trailing bytes", errWire, w.r.Len()))
	}
}

// identityFields is the identity encoding as read, block ids still packed.
type identityFields struct {
	version     int64
	size        int64
	blockSize   int64
	blocks      []byte // view into the input
	contentType string
	meta        map[string]string
}

// readIdentity parses the identity encoding without trusting any length.
func readIdentity(b []byte) (identityFields, error) {
	w := newWireReader(b)
	var f identityFields
	w.arrayLen(6)
	f.version = w.int64()
	f.size = w.int64()
	f.blockSize = w.int64()
	f.blocks = w.view(MaxBlocks * IDSize)
	f.contentType = w.str(MaxContentType)
	f.meta = w.strMap(MaxMetaEntries, MaxMetaKey, MaxMetaValue)
	w.end()
	if w.err != nil {
		return f, w.err
	}
	if f.version != manifestVersion {
		return f, fmt.Errorf("version %d, want %d", f.version, manifestVersion)
	}
	if len(f.blocks)%IDSize != 0 {
		return f, fmt.Errorf("block list of %d bytes is not a multiple of %d", len(f.blocks), IDSize)
	}
	if f.blockSize < MinBlockSize || f.blockSize > MaxBlockSize {
		return f, fmt.Errorf("%w: %d", ErrBadBlockSize, f.blockSize)
	}
	return f, nil
}

// recordFields is a stored manifest record as read, identity still encoded.
type recordFields struct {
	identity []byte // view into the input
	replicas int64
	created  int64
}

// readRecord parses what MarshalRecord wrote without trusting any length.
func readRecord(b []byte) (recordFields, error) {
	w := newWireReader(b)
	var f recordFields
	w.arrayLen(3)
	f.identity = w.view(maxIdentityLen)
	f.replicas = w.int64()
	f.created = w.int64()
	w.end()
	if w.err == nil && (f.replicas < 0 || f.replicas > MaxReplicas) {
		w.fail(fmt.Errorf("replicas %d outside [0, %d]", f.replicas, MaxReplicas))
	}
	return f, w.err
}

// manifestFromFields builds a manifest, copying the block ids out.
func manifestFromFields(f identityFields) *Manifest {
	m := &Manifest{Size: f.size, BlockSize: int(f.blockSize), ContentType: f.contentType, Meta: f.meta}
	m.Blocks = make([]ID, len(f.blocks)/IDSize)
	for i := range m.Blocks {
		copy(m.Blocks[i][:], f.blocks[i*IDSize:])
	}
	if len(m.Meta) == 0 {
		m.Meta = nil
	}
	return m
}

// Summary is a manifest record without its block ids: what a listing
// shows.
type Summary struct {
	Size        int64
	BlockSize   int
	Blocks      int
	Replicas    int
	Created     time.Time // zero when the record has none
	ContentType string
	Meta        map[string]string
}

// DecodeSummary reads a record written by MarshalRecord without
// materialising its block list, trusting no length.
func DecodeSummary(rec []byte) (Summary, error) {
	r, err := readRecord(rec)
	if err != nil {
		return Summary{}, err
	}
	id, err := readIdentity(r.identity)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{Size: id.size, BlockSize: int(id.blockSize), Blocks: len(id.blocks) / IDSize,
		Replicas: int(r.replicas), ContentType: id.contentType, Meta: id.meta}
	if len(s.Meta) == 0 {
		s.Meta = nil
	}
	if r.created != 0 {
		s.Created = time.Unix(0, r.created).UTC()
	}
	return s, nil
}
