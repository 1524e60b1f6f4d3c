package cloudtrail

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// chunkReader returns at most n bytes a read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c chunkReader) Read(p []byte) (int, error) {
	return c.r.Read(p[:min(len(p), c.n)])
}

// scanAll scans data as a sequence of values, the way the decoder walks an
// array (a comma or colon between them is stepped over), through scanner a
// with scanBlocks and scanner b with scanBytes, and fails at the first
// difference: in the next byte, the result, the error or the position. The
// keys noted are compared for the values scanned without error: a caller
// reads them of no other.
func scanAll(t *testing.T, a, b *scanner, limit, maxDepth int) {
	t.Helper()
	for n := 0; n < 64; n++ {
		ca, oka := a.skipSpace()
		cb, okb := b.skipSpace()
		if ca != cb || oka != okb || a.offset() != b.offset() {
			t.Fatalf("value %d: next byte %q %v at %d, scanBytes %q %v at %d", n, ca, oka, a.offset(), cb, okb, b.offset())
		}
		if !oka {
			return
		}
		if ca == ',' || ca == ':' {
			a.r++
			b.r++
			continue
		}
		ra, ea := a.scanBlocks(limit, maxDepth)
		rb, eb := b.scanWith(limit, maxDepth, b.scanBytes)
		if ea != eb {
			t.Fatalf("value %d at %d: error %v, scanBytes %v", n, rb.start, ea, eb)
		}
		if ra.start != rb.start || ra.size != rb.size || ra.tooLarge != rb.tooLarge || !bytes.Equal(ra.raw, rb.raw) || (ra.raw == nil) != (rb.raw == nil) {
			t.Fatalf("value %d: scanned %d+%d large %v %q\nscanBytes %d+%d large %v %q", n,
				ra.start, ra.size, ra.tooLarge, ra.raw, rb.start, rb.size, rb.tooLarge, rb.raw)
		}
		if ea == nil && ra.info != rb.info {
			t.Fatalf("value %d %q: noted %+v\nscanBytes %+v", n, rb.raw, ra.info, rb.info)
		}
		if a.offset() != b.offset() {
			t.Fatalf("value %d: ends at %d, scanBytes at %d", n, a.offset(), b.offset())
		}
		if ea != nil && ea != errTooDeep {
			return
		}
	}
}

// scanBoth runs scanAll on data in place, and streamed through the
// smallest buffer in reads of chunk bytes.
func scanBoth(t *testing.T, data []byte, chunk, limit, maxDepth int) {
	t.Helper()
	scanAll(t, newBytesScanner(data), newBytesScanner(bytes.Clone(data)), limit, maxDepth)
	a := newScanner(chunkReader{bytes.NewReader(data), chunk}, limit)
	b := newScanner(chunkReader{bytes.NewReader(data), chunk}, limit)
	defer a.release()
	defer b.release()
	scanAll(t, a, b, limit, maxDepth)
}

// scanSeeds are inputs that reach each branch: escapes at block edges,
// strings crossing reads, scalars and marks where a value is due, brackets
// past the depth limit, mismatches and truncation.
func scanSeeds(t testing.TB) []string {
	pad := func(n int) string { return strings.Repeat("x", n) }
	seeds := []string{
		`{"eventName":"CreateKey","eventSource":"kms.amazonaws.com","x":[1,{"y":"\\\""}]}`,
		`{"a":{"b":"q\"}"},"eventName":"X"}`, `[[["\\"]]]`, `"s"`, `1`, `true,false`,
		`{"eventName":1,"eventTime":true,"eventID":null,"eventSource":{"a":1},"eventVersion":[1]}`,
		`{"eventName"::"x"}`, `{"eventName": 5 "x"}`, `{"eventName":,"eventSource":"s"}`,
		`{"eventName" : "a" , "EventSource" : "b"}`, `{"\u0065ventName":"A"}`, `{"eventName":"A\u0042"}`,
		`{"a":\{"b":1}}`, `{"a":"\\\\\\"}"}`, `{"eventName":"A","eventName":"B"}`,
		`{"a":[1}`, `{"a":{"b":[1}}`, `{"a":"` + pad(70), `{"a":["\`, `{"a":[[[[[[1]]]]]]}`,
		`[` + strings.Repeat(`"\\",`, 40) + `1]`, `{"` + pad(61) + `\"":"\\"}`,
		`{"a":"` + pad(62) + `\\","eventName":"E"}`, `{"a":"` + pad(63) + `\\\"","eventName":"E"}`,
		`{"eventName":"` + pad(200) + `"}`, `{"x":` + pad(100) + `}`,
		`{"a":{"b":{"c":"}}}"}},"eventName":"Deep"}` + "\n" + `{"eventName":"Next"}`,
		`[\"x"]`, `{"a":\"eventName":"b"}`, `{{"x":1}"eventName":"E"}`, `{"eventName"[1]:"E"}`,
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "*.json"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	return seeds
}

// TestScanBlocksMatchBytes holds scanBlocks to scanBytes on the
// seeds and the test data's events, with every read length up to 70 bytes,
// size limits below and above the values, and depth limits of 1 to 5.
func TestScanBlocksMatchBytes(t *testing.T) {
	for _, s := range scanSeeds(t) {
		for chunk := 1; chunk <= 70; chunk++ {
			for _, limit := range []int{8, 40, 200, 1 << 20} {
				for _, depth := range []int{1, 2, 3, 5, 128} {
					scanBoth(t, []byte(s), chunk, limit, depth)
				}
			}
		}
	}
}

// FuzzScanBlocks holds scanBlocks to scanBytes on any input: the same
// values, noted keys, errors and positions.
func FuzzScanBlocks(f *testing.F) {
	for _, s := range scanSeeds(f) {
		f.Add([]byte(s), uint8(7), uint16(300), uint8(4))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8, limit uint16, depth uint8) {
		scanBoth(t, data, int(chunk)%80+1, int(limit), int(depth)%8+1)
	})
}

// TestMatchKeyFolds holds matchKey, which tells the keys CloudTrail spells
// apart exactly first, to matching them as encoding/json does: eventSource
// and the others case-insensitively, an SNS record's EventSource exactly.
func TestMatchKeyFolds(t *testing.T) {
	fold := func(k string) int {
		if k == "EventSource" {
			return keySNSSource
		}
		for i, name := range keyNames {
			if i != keySNSSource && strings.EqualFold(k, name) {
				return i
			}
		}
		return -1
	}
	keys := []string{"eventType", "eventCategory", "errorCode", "errorMessage", "edgeDeviceDetails",
		"EVENTTYPE", "eventtime", "EventName", "EVENTSOURCE", "eventsource", "EventSource", "eventid", "EventID",
		"eventVersionX", "event", "", "e", "awsRegion", "eventNam", "ÉventName"}
	keys = append(keys, keyNames[:]...)
	for _, k := range keys {
		if got, want := matchKey([]byte(k)), fold(k); got != want {
			t.Errorf("matchKey(%q) = %d, want %d", k, got, want)
		}
	}
}

// TestScanBlocksMatchBytesPastTheBuffer holds scanBlocks to scanBytes on
// values larger than the largest buffer a scanner grows to, so that the
// value is dropped while it is scanned (the buffer is full), with escapes,
// brackets in strings and noted keys on either side of where it is.
func TestScanBlocksMatchBytesPastTheBuffer(t *testing.T) {
	big := strings.Repeat(`ab\"{[x]}\\`, 20000) // 220 KB of string content
	nested := strings.Repeat(`{"k":[`, 40) + `"` + big + `"` + strings.Repeat(`]}`, 40)
	inputs := []string{
		`{"eventName":"A","x":"` + big + `","eventSource":"s"} {"eventName":"B"}`,
		`{"x":` + nested + `,"eventName":"C"} [1,2]`,
		`["` + big + `"`, // truncated past the buffer
	}
	for _, in := range inputs {
		for _, chunk := range []int{1 << 10, 4093, 1 << 16} {
			for _, limit := range []int{100, 1 << 20} {
				scanBoth(t, []byte(in), chunk, limit, 128)
			}
			// A scanner sized for small values asked for a large one: its
			// buffer fills, and the value is dropped there.
			a := newScanner(chunkReader{strings.NewReader(in), chunk}, 1000)
			b := newScanner(chunkReader{strings.NewReader(in), chunk}, 1000)
			scanAll(t, a, b, 1<<20, 128)
			a.release()
			b.release()
		}
	}
}
