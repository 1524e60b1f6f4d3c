package cloudtrail

import (
	"bufio"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

// A gzip stream (RFC 1952) is one or more members, each a header, deflate
// data and a trailer holding the CRC-32 and size of what it inflates to.
// gunzip reads the headers itself and hands each member's deflate data to an
// inflater: klauspost/compress's flate reader, or ISA-L's igzip where atrest
// is built with it (internal/igzip, inflate.go). Both are held to the same
// framing and the same errors, and to klauspost/compress's gzip reader, by
// TestGunzipMatchesGzipReader and FuzzGunzip.

// inflater inflates the deflate data of one gzip member at a time.
type inflater interface {
	// reset starts a member whose deflate data begins at src's next byte.
	reset(src *bufio.Reader)
	// read inflates into p. After the member's last byte it reads the
	// trailer and returns io.EOF when the trailer's CRC-32 and size match
	// what was inflated (gzip.ErrChecksum otherwise); src's next byte is
	// then the one after the trailer. A member cut short is
	// io.ErrUnexpectedEOF; bad deflate data is a flate.CorruptInputError.
	read(p []byte) (int, error)
}

// gunzip reads a gzip stream of any number of members.
type gunzip struct {
	src      *bufio.Reader
	inf      inflater
	inMember bool
	err      error // sticky: io.EOF after the last member, or the failure
}

// reset starts reading the stream at src's next byte, which must be that of
// a member header. A header that cannot be read is the error.
func (z *gunzip) reset(src *bufio.Reader) error {
	if z.inf == nil {
		z.inf = newInflater()
	}
	z.src, z.inMember, z.err = src, false, nil
	if err := z.member(); err != nil {
		z.err = noEOF(err)
		return z.err
	}
	return nil
}

// member reads a member header and starts inflating its deflate data.
func (z *gunzip) member() error {
	if err := readGzipHeader(z.src); err != nil {
		return err
	}
	z.inf.reset(z.src)
	z.inMember = true
	return nil
}

// Read implements io.Reader. The stream ends (io.EOF) where the input ends
// after a member's trailer; anything else after a trailer must be another
// member.
func (z *gunzip) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, z.err
	}
	for z.err == nil {
		if !z.inMember {
			if z.err = z.member(); z.err != nil {
				break
			}
		}
		n, err := z.inf.read(p)
		if err == io.EOF {
			z.inMember = false
			err = nil
		}
		z.err = err
		if n > 0 {
			return n, nil
		}
	}
	return 0, z.err
}

// release drops the source so that a pooled gunzip holds no input.
func (z *gunzip) release() {
	z.src, z.inMember, z.err = nil, false, io.ErrClosedPipe
	if z.inf != nil {
		z.inf.reset(nil)
	}
}

// gzip header flags (RFC 1952, section 2.3.1).
const (
	gzipFlagHCRC     = 1 << 1
	gzipFlagExtra    = 1 << 2
	gzipFlagName     = 1 << 3
	gzipFlagComment  = 1 << 4
	gzipFlagReserved = 0xe0
)

// readGzipHeader reads one member header from src. An input that ends before
// the header's first byte is io.EOF; one that ends inside it is
// io.ErrUnexpectedEOF. A header that is not gzip with the deflate method,
// sets a reserved flag or fails its own CRC (FHCRC) is gzip.ErrHeader. The
// optional name, comment and extra field are skipped, whatever their length.
func readGzipHeader(src *bufio.Reader) error {
	var fixed [10]byte
	if n, err := io.ReadFull(src, fixed[:]); err != nil {
		if n == 0 && err == io.EOF {
			return io.EOF
		}
		return err
	}
	if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 {
		return gzip.ErrHeader
	}
	flags := fixed[3]
	digest := crc32.ChecksumIEEE(fixed[:])
	if flags&gzipFlagExtra != 0 {
		var xlen [2]byte
		if _, err := io.ReadFull(src, xlen[:]); err != nil {
			return noEOF(err)
		}
		digest = crc32.Update(digest, crc32.IEEETable, xlen[:])
		var err error
		if digest, err = skipGzipBytes(src, int(binary.LittleEndian.Uint16(xlen[:])), digest); err != nil {
			return err
		}
	}
	for _, f := range []byte{gzipFlagName, gzipFlagComment} {
		if flags&f == 0 {
			continue
		}
		var err error
		if digest, err = skipGzipString(src, digest); err != nil {
			return err
		}
	}
	if flags&gzipFlagHCRC != 0 {
		var hcrc [2]byte
		if _, err := io.ReadFull(src, hcrc[:]); err != nil {
			return noEOF(err)
		}
		if binary.LittleEndian.Uint16(hcrc[:]) != uint16(digest) {
			return gzip.ErrHeader
		}
	}
	if flags&gzipFlagReserved != 0 {
		return gzip.ErrHeader
	}
	return nil
}

// skipGzipBytes skips n bytes of src, adding them to digest.
func skipGzipBytes(src *bufio.Reader, n int, digest uint32) (uint32, error) {
	for n > 0 {
		b, err := src.Peek(min(n, src.Size()))
		digest = crc32.Update(digest, crc32.IEEETable, b)
		n -= len(b)
		src.Discard(len(b))
		if err != nil && n > 0 {
			return digest, noEOF(err)
		}
	}
	return digest, nil
}

// skipGzipString skips a zero-terminated string of src, adding it and its
// terminator to digest.
func skipGzipString(src *bufio.Reader, digest uint32) (uint32, error) {
	for {
		b, err := src.ReadSlice(0)
		digest = crc32.Update(digest, crc32.IEEETable, b)
		switch {
		case err == nil:
			return digest, nil
		case errors.Is(err, bufio.ErrBufferFull):
		default:
			return digest, noEOF(err)
		}
	}
}

// noEOF turns io.EOF, an input that ended inside something, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// flateInflater inflates with klauspost/compress's flate reader, checking
// the trailer itself.
type flateInflater struct {
	src  *bufio.Reader
	fr   io.ReadCloser
	crc  uint32
	size uint32
}

var _ inflater = (*flateInflater)(nil)

func (f *flateInflater) reset(src *bufio.Reader) {
	f.src, f.crc, f.size = src, 0, 0
	if src == nil {
		return
	}
	if f.fr == nil {
		f.fr = flate.NewReader(src)
		return
	}
	f.fr.(flate.Resetter).Reset(src, nil)
}

func (f *flateInflater) read(p []byte) (int, error) {
	n, err := f.fr.Read(p)
	f.crc = crc32.Update(f.crc, crc32.IEEETable, p[:n])
	f.size += uint32(n)
	if err != io.EOF {
		return n, err
	}
	var trailer [8]byte
	if _, err := io.ReadFull(f.src, trailer[:]); err != nil {
		return n, noEOF(err)
	}
	if binary.LittleEndian.Uint32(trailer[:4]) != f.crc || binary.LittleEndian.Uint32(trailer[4:]) != f.size {
		return n, gzip.ErrChecksum
	}
	return n, io.EOF
}
