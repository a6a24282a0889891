package pubsub

import (
	"fmt"

	"github.com/emerge-dev/emerge/blocks"
	"github.com/vmihailenco/msgpack/v5"
)

// idList is block ids on the wire: one msgpack bin holding the ids back to
// back, IDSize bytes each. It encodes straight from and decodes straight
// into the ids, without an intermediate byte slice.
type idList []blocks.ID

// EncodeMsgpack writes the bin header, then each id.
func (l idList) EncodeMsgpack(e *msgpack.Encoder) error {
	if err := e.EncodeBytesLen(len(l) * blocks.IDSize); err != nil {
		return err
	}
	w := e.Writer()
	for i := range l {
		if _, err := w.Write(l[i][:]); err != nil {
			return err
		}
	}
	return nil
}

// DecodeMsgpack checks the declared length against MaxIDs before it
// allocates.
func (l *idList) DecodeMsgpack(d *msgpack.Decoder) error {
	n, err := d.DecodeBytesLen()
	switch {
	case err != nil:
		return err
	case n <= 0: // nil or empty
		*l = nil
		return nil
	case n%blocks.IDSize != 0:
		return fmt.Errorf("ids: %d bytes is not a multiple of %d", n, blocks.IDSize)
	case n > MaxIDs*blocks.IDSize:
		return tooLarge("ids", n/blocks.IDSize, MaxIDs)
	}
	ids := make(idList, n/blocks.IDSize)
	for i := range ids {
		if err := d.ReadFull(ids[i][:]); err != nil {
			return err
		}
	}
	*l = ids
	return nil
}

// ids returns the list as domain ids, nil when empty.
func (l idList) ids() []blocks.ID {
	if len(l) == 0 {
		return nil
	}
	return l
}
