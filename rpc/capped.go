package rpc

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/vmihailenco/msgpack/v5"
)

// Meta is user metadata on the wire, decoded under blocks' caps: a hostile
// map length cannot make the decoder allocate.
type Meta map[string]string

// DecodeMsgpack reads at most blocks.MaxMetaEntries entries.
func (m *Meta) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeMapLen()
	if err != nil {
		return err
	}
	if n < 0 {
		*m = nil
		return nil
	}
	if n > blocks.MaxMetaEntries {
		return fmt.Errorf("%d metadata entries, limit %d", n, blocks.MaxMetaEntries)
	}
	out := make(Meta, n)
	for i := 0; i < n; i++ {
		k, err := d.DecodeString()
		if err != nil {
			return err
		}
		v, err := d.DecodeString()
		if err != nil {
			return err
		}
		out[k] = v
	}
	*m = out
	return blocks.ValidateMeta(out)
}

// ObjectInfos is a capped list of object summaries.
type ObjectInfos []ObjectInfo

// DecodeMsgpack reads at most MaxListLimit items.
func (l *ObjectInfos) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeArrayLen()
	if err != nil {
		return err
	}
	if n < 0 {
		*l = nil
		return nil
	}
	if n > MaxListLimit {
		return fmt.Errorf("%d list items, limit %d", n, MaxListLimit)
	}
	out := make(ObjectInfos, n)
	for i := range out {
		if err := d.Decode(&out[i]); err != nil {
			return err
		}
	}
	*l = out
	return nil
}
