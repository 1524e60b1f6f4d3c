//go:build unix

package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/atrest/atrest/internal/trailgen"
)

// benchRecords is the size of the generated logs the benchmarks read.
const benchRecords = 20000

// genLog is a generated log file of benchRecords records, the given share of
// them of interest, gzip or plain.
func genLog(relevant float64, gz bool) []byte {
	var buf bytes.Buffer
	if _, err := trailgen.Write(&buf, trailgen.Options{Records: benchRecords, Relevant: relevant, Seed: 1, Gzip: gz}); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

var (
	benchGzip  = sync.OnceValue(func() []byte { return genLog(0.01, true) })
	benchPlain = sync.OnceValue(func() []byte { return genLog(0.01, false) })
	benchAll   = sync.OnceValue(func() []byte { return genLog(1, false) })
)

// cpuTime is the CPU time (user and system, every thread) the process has
// used so far. Benchmarks report it per operation beside the wall time,
// which a machine shared with other work inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// report adds records/s of CPU and CPU ns/op to a benchmark's output.
func report(b *testing.B, cpu0 time.Duration, records int) {
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if records > 0 && cpu > 0 {
		b.ReportMetric(float64(records)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	}
}

// BenchmarkGunzip is the floor: inflating the log and nothing else.
func BenchmarkGunzip(b *testing.B) {
	data, size := benchGzip(), len(benchPlain())
	b.SetBytes(int64(size))
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
	report(b, cpu0, benchRecords)
}

// BenchmarkInflate inflates the log with each inflater of the build through
// gunzip, as the decoder reads it (a 64 KB bufio.Reader over the input,
// 128 KB reads), beside klauspost/compress's gzip reader.
func BenchmarkInflate(b *testing.B) {
	data, size := benchGzip(), len(benchPlain())
	run := func(b *testing.B, open func(*bufio.Reader) (io.Reader, error)) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		br := bufio.NewReaderSize(nil, 64<<10)
		buf := make([]byte, 128<<10)
		cpu0 := cpuTime()
		for b.Loop() {
			br.Reset(bytes.NewReader(data))
			r, err := open(br)
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for {
				m, err := r.Read(buf)
				n += m
				if err == io.EOF {
					break
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			if n != size {
				b.Fatalf("inflated %d bytes, want %d", n, size)
			}
		}
		report(b, cpu0, benchRecords)
	}
	b.Run("gzip.Reader", func(b *testing.B) {
		run(b, func(br *bufio.Reader) (io.Reader, error) { return gzip.NewReader(br) })
	})
	for engine, newInf := range engines(b) {
		b.Run("gunzip-"+engine, func(b *testing.B) {
			z := &gunzip{inf: newInf()}
			run(b, func(br *bufio.Reader) (io.Reader, error) { return z, z.reset(br) })
		})
	}
}

// decodeBench decodes data once per iteration and checks the count.
func decodeBench(b *testing.B, data []byte, size int) {
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var d Decoder
	cpu0 := cpuTime()
	for b.Loop() {
		st, err := d.Decode(context.Background(), "bench", bytes.NewReader(data),
			func(*Record, Shape) error { return nil }, nil)
		if err != nil || st.Records != benchRecords || st.Errors != 0 {
			b.Fatalf("stats %+v, err %v", st, err)
		}
	}
	report(b, cpu0, benchRecords)
}

// BenchmarkDecodeGzip decodes the gzip log end to end: gunzip, scan, skip
// and decode of the 1 % of interest.
func BenchmarkDecodeGzip(b *testing.B) { decodeBench(b, benchGzip(), len(benchPlain())) }

// BenchmarkDecodePlain decodes the log uncompressed: the scanner and skip.
func BenchmarkDecodePlain(b *testing.B) { decodeBench(b, benchPlain(), len(benchPlain())) }

// BenchmarkDecodeRelevant decodes a plain log of records that are all of
// interest: the full decode of each record.
func BenchmarkDecodeRelevant(b *testing.B) { decodeBench(b, benchAll(), len(benchAll())) }

// BenchmarkDecodeEventBridge decodes one EventBridge event carrying a
// CreateKey record: the envelope and the record, as a Lambda receives it.
func BenchmarkDecodeEventBridge(b *testing.B) {
	data, err := os.ReadFile("../../events/01-eventbridge-kms-createkey-symmetric.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if _, err := (&Decoder{}).Decode(b.Context(), "event", bytes.NewReader(data), func(*Record, Shape) error { n++; return nil }, nil); err != nil || n != 1 {
			b.Fatalf("%d records, %v", n, err)
		}
	}
}

// BenchmarkScan scans the generated log's records (benchPlain, in place)
// marking blocks (scanBlocks) and reading bytes (scanBytes): the scan
// alone, without deciding or decoding anything.
func BenchmarkScan(b *testing.B) {
	data := benchPlain()
	for _, bm := range []struct {
		name string
		ref  bool
	}{{"blocks", false}, {"bytes", true}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				sc := newBytesScanner(data)
				if c, ok := sc.skipSpace(); !ok || c != '{' {
					b.Fatal("the log does not start with an object")
				}
				sc.r += bytes.Index(data, []byte(`[`)) + 1
				n := 0
				for {
					c, ok := sc.skipSpace()
					if !ok || c == ']' {
						break
					}
					if c == ',' {
						sc.r++
						continue
					}
					var err error
					if bm.ref {
						_, err = sc.scanWith(1<<20, DefaultMaxDepth, sc.scanBytes)
					} else {
						_, err = sc.scanBlocks(1<<20, DefaultMaxDepth)
					}
					if err != nil {
						b.Fatal(err)
					}
					n++
				}
				if n != benchRecords {
					b.Fatalf("scanned %d records, want %d", n, benchRecords)
				}
			}
		})
	}
}
