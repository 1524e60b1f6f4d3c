package cloudtrail

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/atrest/atrest/internal/igzip"
)

// newInflater returns the inflater gzip inputs are read with: ISA-L's igzip
// where atrest is built with it (build tag isal, with cgo), about twice as
// fast as klauspost/compress on CloudTrail logs (BenchmarkInflate), and
// klauspost/compress's flate reader otherwise.
func newInflater() inflater {
	if igzip.Available {
		if st, err := igzip.New(); err == nil {
			return &igzipInflater{st: st}
		}
	}
	return new(flateInflater)
}

// igzipInflater inflates with ISA-L's igzip, reading its input straight from
// the bufio.Reader's buffer.
type igzipInflater struct {
	src *bufio.Reader
	st  *igzip.State
}

var _ inflater = (*igzipInflater)(nil)

func (z *igzipInflater) reset(src *bufio.Reader) {
	z.src = src
	if src != nil {
		z.st.Reset()
	}
}

func (z *igzipInflater) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if z.src.Buffered() == 0 {
			if _, err := z.src.Peek(1); err != nil {
				return 0, noEOF(err)
			}
		}
		in, _ := z.src.Peek(z.src.Buffered())
		consumed, n, finished, err := z.st.Inflate(in, p)
		z.src.Discard(consumed)
		switch {
		case err != nil:
			return n, gzipError(err)
		case finished:
			return n, io.EOF
		case n > 0:
			return n, nil
		case consumed == 0:
			return 0, fmt.Errorf("igzip made no progress on %d bytes of input", len(in))
		}
	}
}

// gzipError gives igzip's errors as the flate and gzip readers give them.
func gzipError(err error) error {
	var corrupt *igzip.CorruptError
	switch {
	case errors.Is(err, igzip.ErrChecksum):
		return gzip.ErrChecksum
	case errors.As(err, &corrupt):
		return flate.CorruptInputError(corrupt.Offset)
	}
	return err
}
