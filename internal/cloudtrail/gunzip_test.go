package cloudtrail

import (
	"bufio"
	"bytes"
	stdgzip "compress/gzip"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/atrest/atrest/internal/igzip"
	"github.com/atrest/atrest/internal/trailgen"
)

// engines are the inflaters this build has: klauspost/compress's flate
// reader always, ISA-L's igzip where built with it.
func engines(t testing.TB) map[string]func() inflater {
	out := map[string]func() inflater{"flate": func() inflater { return new(flateInflater) }}
	if igzip.Available {
		out["igzip"] = func() inflater {
			st, err := igzip.New()
			if err != nil {
				t.Fatal(err)
			}
			return &igzipInflater{st: st}
		}
	}
	return out
}

// gunzipAll reads data through a gunzip with inf, the source read through
// wrap and the output read chunk bytes at a time.
func gunzipAll(data []byte, inf inflater, wrap func(io.Reader) io.Reader, chunk int) ([]byte, error) {
	z := &gunzip{inf: inf}
	if err := z.reset(bufio.NewReaderSize(wrap(bytes.NewReader(data)), 64<<10)); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	buf := make([]byte, chunk)
	for {
		n, err := z.Read(buf)
		out.Write(buf[:n])
		if err == io.EOF {
			return out.Bytes(), nil
		}
		if err != nil {
			return out.Bytes(), err
		}
	}
}

// gzipReaderAll reads data with klauspost/compress's gzip reader, which
// reads any number of members.
func gzipReaderAll(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(zr)
}

// gz is a gzip member of payload made by compress/gzip's writer at level,
// with the header hdr.
func gz(t testing.TB, payload []byte, level int, hdr stdgzip.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := stdgzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	zw.Header = hdr
	if _, err := zw.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withHeaderCRC sets FHCRC in a member made by compress/gzip (which never
// sets it) and inserts the CRC-16 of its header, plus delta.
func withHeaderCRC(t testing.TB, member []byte, delta uint16) []byte {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(member))
	if err := readGzipHeader(br); err != nil {
		t.Fatal(err)
	}
	hlen := len(member) - br.Buffered()
	hdr := append([]byte(nil), member[:hlen]...)
	hdr[3] |= gzipFlagHCRC
	out := binary.LittleEndian.AppendUint16(hdr, uint16(crc32.ChecksumIEEE(hdr))+delta)
	return append(out, member[hlen:]...)
}

func flip(data []byte, at int, mask byte) []byte {
	out := append([]byte(nil), data...)
	out[at] ^= mask
	return out
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestGunzipMatchesGzipReader holds gunzip, with each inflater of the build,
// to klauspost/compress's gzip reader: the same bytes for every stream it
// reads, an error of the same kind for every stream it refuses, read from a
// source a byte at a time or whole, into small buffers or large.
func TestGunzipMatchesGzipReader(t *testing.T) {
	var log bytes.Buffer
	if _, err := trailgen.Write(&log, trailgen.Options{Records: 2000, Relevant: 0.05, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	payload := log.Bytes()
	small := []byte(`{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"DisableKey"}]}`)
	member := gz(t, payload, stdgzip.DefaultCompression, stdgzip.Header{})
	named := gz(t, small, stdgzip.BestSpeed, stdgzip.Header{Name: "log.json", Comment: "a comment", Extra: []byte("xx\x02\x00ab")})
	n := len(member)

	cases := []struct {
		name string
		data []byte
		want error // the kind of error both readers give; nil: both read it
	}{
		{"default level", member, nil},
		{"best speed", gz(t, payload, stdgzip.BestSpeed, stdgzip.Header{}), nil},
		{"best compression", gz(t, payload, stdgzip.BestCompression, stdgzip.Header{}), nil},
		{"huffman only", gz(t, payload, stdgzip.HuffmanOnly, stdgzip.Header{}), nil},
		{"stored", gz(t, payload, stdgzip.NoCompression, stdgzip.Header{}), nil},
		{"empty member", gz(t, nil, stdgzip.DefaultCompression, stdgzip.Header{}), nil},
		{"name, comment and extra field", named, nil},
		{"header CRC", withHeaderCRC(t, named, 0), nil},
		{"three members, one empty", cat(named, gz(t, nil, 6, stdgzip.Header{}), member), nil},
		{"header CRC wrong", withHeaderCRC(t, named, 1), gzip.ErrHeader},
		{"reserved flag", flip(member, 3, 0x20), gzip.ErrHeader},
		{"method not deflate", flip(member, 2, 0x01), gzip.ErrHeader},
		{"trailer CRC wrong", flip(member, n-5, 0x01), gzip.ErrChecksum},
		{"trailer size wrong", flip(member, n-1, 0x80), gzip.ErrChecksum},
		{"cut inside the trailer", member[:n-3], io.ErrUnexpectedEOF},
		{"cut inside the deflate data", member[:n/2], io.ErrUnexpectedEOF},
		{"cut inside the header", member[:6], io.ErrUnexpectedEOF},
		{"cut inside the second header", cat(member, member[:6]), io.ErrUnexpectedEOF},
		{"garbage after a member", cat(member, []byte("garbage!!!!!")), gzip.ErrHeader},
		{"zeros after a member", cat(member, make([]byte, 16)), gzip.ErrHeader},
	}
	for engine, newInf := range engines(t) {
		for _, tc := range cases {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				want, wantErr := gzipReaderAll(tc.data)
				if !errors.Is(wantErr, tc.want) || (tc.want == nil) != (wantErr == nil) {
					t.Fatalf("the gzip reader gives %v, the case expects %v", wantErr, tc.want)
				}
				for _, read := range []struct {
					name  string
					wrap  func(io.Reader) io.Reader
					chunk int
				}{
					{"whole", func(r io.Reader) io.Reader { return r }, 128 << 10},
					{"a byte at a time into 7 bytes", iotest.OneByteReader, 7},
					{"halves into 1 byte", iotest.HalfReader, 1},
				} {
					if read.chunk == 1 && len(want) > 64<<10 {
						continue
					}
					got, err := gunzipAll(tc.data, newInf(), read.wrap, read.chunk)
					if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
						t.Fatalf("%s: error %v, want %v", read.name, err, tc.want)
					}
					if tc.want == nil && !bytes.Equal(got, want) {
						t.Fatalf("%s: %d bytes differ from the gzip reader's %d", read.name, len(got), len(want))
					}
				}
			})
		}
	}
}

// TestGunzipCutAnywhere cuts a two-member stream at every byte: each cut
// that ends on a member's end reads the members before it, every other cut
// is io.ErrUnexpectedEOF, and gunzip agrees with the gzip reader on which is
// which.
func TestGunzipCutAnywhere(t *testing.T) {
	a := gz(t, []byte(strings.Repeat(`{"eventName":"CreateKey"},`, 40)), stdgzip.BestSpeed, stdgzip.Header{})
	b := gz(t, []byte(`{"Records":[]}`), stdgzip.NoCompression, stdgzip.Header{})
	data := cat(a, b)
	for engine, newInf := range engines(t) {
		for cut := 1; cut < len(data); cut++ {
			want, wantErr := gzipReaderAll(data[:cut])
			got, err := gunzipAll(data[:cut], newInf(), func(r io.Reader) io.Reader { return r }, 4096)
			if cut == len(a) {
				if err != nil || wantErr != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s: cut at the first member's end: %v (gzip reader %v)", engine, err, wantErr)
				}
				continue
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(wantErr, io.ErrUnexpectedEOF) {
				t.Fatalf("%s: cut at %d of %d: error %v, gzip reader %v", engine, cut, len(data), err, wantErr)
			}
		}
	}
}

// TestGunzipCorruptData flips bytes inside the deflate data: every stream
// so damaged is refused, as the gzip reader refuses it, by a corrupt-input,
// checksum or cut-short error.
func TestGunzipCorruptData(t *testing.T) {
	var log bytes.Buffer
	if _, err := trailgen.Write(&log, trailgen.Options{Records: 300, Relevant: 0.05, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	member := gz(t, log.Bytes(), stdgzip.DefaultCompression, stdgzip.Header{})
	for engine, newInf := range engines(t) {
		for at := 10; at < len(member)-8; at += 97 {
			data := flip(member, at, 0xff)
			_, wantErr := gzipReaderAll(data)
			_, err := gunzipAll(data, newInf(), func(r io.Reader) io.Reader { return r }, 64<<10)
			var corrupt flate.CorruptInputError
			if err == nil || !(errors.As(err, &corrupt) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, io.ErrUnexpectedEOF)) {
				t.Fatalf("%s: byte %d flipped: error %v (gzip reader %v)", engine, at, err, wantErr)
			}
			if wantErr == nil {
				t.Fatalf("%s: byte %d flipped: the gzip reader reads it, gunzip gives %v", engine, at, err)
			}
		}
	}
}

// Where gunzip is stricter than the gzip reader, on purpose.
func TestGunzipStricterThanGzipReader(t *testing.T) {
	member := gz(t, []byte(`{"Records":[]}`), stdgzip.DefaultCompression, stdgzip.Header{})
	long := gz(t, []byte(`{"Records":[]}`), stdgzip.DefaultCompression, stdgzip.Header{Name: strings.Repeat("n", 600)})
	// A second member whose name is cut off: the gzip reader takes the
	// end of the input inside the name for the end of the stream.
	cutName := cat(member, long[:40])
	for engine, newInf := range engines(t) {
		if _, err := gzipReaderAll(cutName); err != nil {
			t.Fatalf("the gzip reader now refuses a stream cut inside a name: %v", err)
		}
		if _, err := gunzipAll(cutName, newInf(), func(r io.Reader) io.Reader { return r }, 4096); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%s: a stream cut inside a member's name: error %v, want io.ErrUnexpectedEOF", engine, err)
		}
		// RFC 1952 sets no bound on a name; the gzip reader refuses one
		// of more than 511 bytes.
		if _, err := gzipReaderAll(long); !errors.Is(err, gzip.ErrHeader) {
			t.Fatalf("the gzip reader now reads a 600-byte name: %v", err)
		}
		got, err := gunzipAll(long, newInf(), func(r io.Reader) io.Reader { return r }, 4096)
		if err != nil || string(got) != `{"Records":[]}` {
			t.Fatalf("%s: a 600-byte name: %q, %v", engine, got, err)
		}
	}
}

// endsInCutName reports whether data ends inside the name or comment of a
// member header, which the gzip reader takes for the end of the stream
// (TestGunzipStricterThanGzipReader).
func endsInCutName(data []byte) bool {
	for i := bytes.Index(data, []byte{0x1f, 0x8b, 8}); i >= 0 && len(data)-i >= 10; {
		if data[i+3]&(gzipFlagName|gzipFlagComment) != 0 {
			if _, err := gzip.NewReader(bytes.NewReader(data[i:])); err == io.EOF {
				return true
			}
		}
		next := bytes.Index(data[i+1:], []byte{0x1f, 0x8b, 8})
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return false
}

// FuzzGunzip holds gunzip, with each inflater of the build, to the gzip
// reader on any input: what the reader reads, gunzip reads the same (but
// where the input ends inside a member's name); what gunzip reads extends
// what the reader read; a checksum or a cut the reader refuses, gunzip
// refuses; so is corrupt deflate data.
func FuzzGunzip(f *testing.F) {
	small := []byte(`{"Records":[{"eventSource":"kms.amazonaws.com","eventName":"DisableKey"}]}`)
	one := gz(f, small, stdgzip.BestSpeed, stdgzip.Header{})
	named := gz(f, small, stdgzip.DefaultCompression, stdgzip.Header{Name: "n", Comment: "c", Extra: []byte("ab\x01\x00z")})
	for _, seed := range [][]byte{
		one, named, withHeaderCRC(f, named, 0), cat(one, named), cat(one, one[:12]),
		gz(f, small, stdgzip.NoCompression, stdgzip.Header{}), gz(f, small, stdgzip.HuffmanOnly, stdgzip.Header{}),
		flip(one, len(one)-5, 1), flip(one, 12, 0x40), one[:len(one)-2],
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantErr := gzipReaderAll(data)
		for engine, newInf := range engines(t) {
			got, err := gunzipAll(data, newInf(), func(r io.Reader) io.Reader { return r }, 4096)
			switch {
			case err == nil && !bytes.HasPrefix(got, want):
				t.Fatalf("%s: read %d bytes that do not begin with the gzip reader's %d (it gave %v)", engine, len(got), len(want), wantErr)
			case wantErr == nil && err == nil && !bytes.Equal(got, want):
				t.Fatalf("%s: read %d bytes, the gzip reader %d", engine, len(got), len(want))
			case wantErr == nil && err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && bytes.Equal(got, want) && endsInCutName(data)):
				t.Fatalf("%s: error %v where the gzip reader reads %d bytes", engine, err, len(want))
			case wantErr != nil && err == nil && !errors.Is(wantErr, gzip.ErrHeader):
				t.Fatalf("%s: reads %d bytes where the gzip reader gives %v", engine, len(got), wantErr)
			}
		}
	})
}

// TestGunzipAnyReadSize reads members of every compression level into
// buffers of every size from 1 to 300 bytes, with the whole input
// available: an inflater must give back all of a member, however little
// room each read leaves it at the member's end.
func TestGunzipAnyReadSize(t *testing.T) {
	payload := []byte(strings.Repeat(`{"eventName":"CreateKey","requestParameters":{"keyUsage":"ENCRYPT_DECRYPT"}},`, 300))
	for _, level := range []int{stdgzip.NoCompression, stdgzip.BestSpeed, stdgzip.DefaultCompression, stdgzip.BestCompression, stdgzip.HuffmanOnly} {
		data := cat(gz(t, payload, level, stdgzip.Header{}), gz(t, payload[:100], level, stdgzip.Header{}))
		want := append(append([]byte(nil), payload...), payload[:100]...)
		for engine, newInf := range engines(t) {
			for size := 1; size <= 300; size++ {
				got, err := gunzipAll(data, newInf(), func(r io.Reader) io.Reader { return r }, size)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("%s, level %d, %d-byte reads: %d of %d bytes, error %v", engine, level, size, len(got), len(want), err)
				}
			}
		}
	}
}
