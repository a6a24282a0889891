package shm

import (
	"fmt"
	"io"
	"os"
)

// copyBuf is the buffer size for readers that cannot write themselves.
const copyBuf = 1 << 20

// offsetWriter turns sequential writes into WriteAt calls, refusing to
// pass limit.
type offsetWriter struct {
	w     io.WriterAt
	off   int64
	limit int64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > o.limit-o.off {
		return 0, fmt.Errorf("%w: reader has more than %d bytes", ErrOverflow, o.limit)
	}
	n, err := o.w.WriteAt(p, o.off)
	o.off += int64(n)
	return n, err
}

// copyIn copies r to EOF into o. A reader that holds its bytes in memory
// (bytes.Reader, bytes.Buffer) writes them in one call, with no copy
// through a buffer.
func copyIn(o *offsetWriter, r io.Reader) (int64, error) {
	if wt, ok := r.(io.WriterTo); ok {
		if _, isFile := r.(*os.File); !isFile {
			return wt.WriteTo(o)
		}
	}
	buf := make([]byte, min(copyBuf, max(o.limit-o.off, 0)+1))
	return io.CopyBuffer(struct{ io.Writer }{o}, struct{ io.Reader }{r}, buf)
}
