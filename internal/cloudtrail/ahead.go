package cloudtrail

import (
	"io"
	"runtime"
	"sync"
)

// Inflating a gzip log costs about as much CPU as scanning and judging it.
// On a machine with more than one core, an aheadReader inflates in its own
// goroutine into a small ring of reused buffers while the caller scans the
// bytes already inflated; on one core it would only add hand-offs, so the
// caller reads the gzip stream itself.

const (
	aheadBufSize = 128 << 10
	aheadBufs    = 4 // at most aheadBufs*aheadBufSize bytes in flight
)

// aheadPool holds the ring buffers for reuse across streams.
var aheadPool = sync.Pool{New: func() any { return new([aheadBufSize]byte) }}

// aheadChunk is one filled buffer: buf[:n], then err (nil, io.EOF or the
// source's error).
type aheadChunk struct {
	buf *[aheadBufSize]byte
	n   int
	err error
}

// aheadReader is an io.Reader over r that reads r in a goroutine of its own.
// close must be called once reading is over, early or not: it stops the
// goroutine and waits for it, after which r may be reused.
type aheadReader struct {
	full   chan aheadChunk          // filled buffers, in order
	free   chan *[aheadBufSize]byte // buffers to fill
	done   chan struct{}            // closed by close: stop reading
	exited chan struct{}            // closed by the goroutine on its way out
	cur    aheadChunk               // the buffer being read from
	off    int
	err    error // sticky: the error after the last byte
}

// readAhead returns r itself (and a no-op close) on one core or when the
// caller asks to read inline, an aheadReader over r otherwise.
func readAhead(r io.Reader, inline bool) (io.Reader, func()) {
	if inline || runtime.GOMAXPROCS(0) < 2 {
		return r, func() {}
	}
	a := &aheadReader{
		full:   make(chan aheadChunk, aheadBufs),
		free:   make(chan *[aheadBufSize]byte, aheadBufs),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
	for range aheadBufs {
		a.free <- aheadPool.Get().(*[aheadBufSize]byte)
	}
	go a.fill(r)
	return a, a.close
}

// fill reads r into free buffers and hands them on until r fails or ends,
// or close is called.
func (a *aheadReader) fill(r io.Reader) {
	defer close(a.exited)
	for {
		var buf *[aheadBufSize]byte
		select {
		case buf = <-a.free:
		case <-a.done:
			return
		}
		n := 0
		var err error
		for n < len(buf) && err == nil {
			var m int
			m, err = r.Read(buf[n:])
			n += m
		}
		// full has room for every buffer: this never blocks.
		a.full <- aheadChunk{buf: buf, n: n, err: err}
		if err != nil {
			return
		}
	}
}

// Read implements io.Reader.
func (a *aheadReader) Read(p []byte) (int, error) {
	for a.cur.buf == nil || a.off == a.cur.n {
		if a.cur.buf != nil {
			a.free <- a.cur.buf
			a.cur = aheadChunk{}
		}
		if a.err != nil {
			return 0, a.err
		}
		a.cur, a.off = <-a.full, 0
		a.err = a.cur.err
	}
	n := copy(p, a.cur.buf[a.off:a.cur.n])
	a.off += n
	return n, nil
}

// close stops the reading goroutine, waits for it to end and returns the
// buffers to the pool.
func (a *aheadReader) close() {
	close(a.done)
	<-a.exited
	if a.cur.buf != nil {
		aheadPool.Put(a.cur.buf)
		a.cur = aheadChunk{}
	}
	for {
		select {
		case c := <-a.full:
			aheadPool.Put(c.buf)
		case b := <-a.free:
			aheadPool.Put(b)
		default:
			a.err = io.ErrClosedPipe
			return
		}
	}
}
