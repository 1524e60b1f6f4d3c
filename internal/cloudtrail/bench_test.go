package cloudtrail

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// benchLog is a generated gzip log file of 20,000 records, 1 % of interest.
var benchLog = sync.OnceValues(func() ([]byte, int) {
	var plain bytes.Buffer
	if _, err := newLogGen(1, 0.01).writeLog(&plain, 20000); err != nil {
		panic(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	return gz.Bytes(), plain.Len()
})

const benchRecords = 20000

// BenchmarkGunzip is the floor: inflating the log and nothing else.
func BenchmarkGunzip(b *testing.B) {
	data, size := benchLog()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodeGzip decodes the same log end to end.
func BenchmarkDecodeGzip(b *testing.B) {
	data, size := benchLog()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var d Decoder
	for b.Loop() {
		st, err := d.Decode(context.Background(), "bench", bytes.NewReader(data),
			func(*Record, Shape) error { return nil }, nil)
		if err != nil || st.Records != benchRecords || st.Errors != 0 {
			b.Fatalf("stats %+v, err %v", st, err)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkDecodePlain decodes the log uncompressed: the scanner alone.
func BenchmarkDecodePlain(b *testing.B) {
	data, _ := benchLog()
	zr, _ := gzip.NewReader(bytes.NewReader(data))
	plain, _ := io.ReadAll(zr)
	b.SetBytes(int64(len(plain)))
	b.ReportAllocs()
	var d Decoder
	for b.Loop() {
		st, err := d.Decode(context.Background(), "bench", bytes.NewReader(plain),
			func(*Record, Shape) error { return nil }, nil)
		if err != nil || st.Records != benchRecords {
			b.Fatalf("stats %+v, err %v", st, err)
		}
	}
	b.ReportMetric(float64(benchRecords)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
