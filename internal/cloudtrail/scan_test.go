package cloudtrail

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// scanOne scans the first value of in through a scanner of the smallest
// buffer, fed one byte a read, so that every string and bracket may cross a
// buffer boundary.
func scanOne(in string, limit, maxDepth int) (scanResult, error) {
	sc := newScanner(iotest.OneByteReader(strings.NewReader(in)), limit)
	defer sc.release()
	if _, ok := sc.skipSpace(); !ok {
		return scanResult{}, errTruncated
	}
	return sc.scanValue(limit, maxDepth)
}

// TestScanValueNested holds the skip of nested values to their exact ends:
// escaped quotes, runs of backslashes, brackets inside strings, depth and
// bracket errors, each across buffer boundaries.
func TestScanValueNested(t *testing.T) {
	pad := strings.Repeat("x", 700) // longer than the smallest buffer
	tests := []struct {
		name    string
		in      string
		wantErr error
		wantEnd int // length of the scanned value when no error
	}{
		{name: "escaped quote in a nested string", in: `{"a":{"b":"q\"` + pad + `\"}"},"eventName":"X"} tail`},
		{name: "even backslash run ends the string", in: `{"a":["` + pad + `\\\\"],"eventName":"X"} tail`},
		{name: "odd backslash run escapes the quote", in: `{"a":["` + pad + `\\\"]}"],"eventName":"X"} tail`},
		{name: "brackets inside nested strings", in: `{"a":{"b":["}]{[","` + pad + `"]},"eventName":"X"} tail`},
		{name: "nesting at the limit", in: `{"a":[[[{"b":"` + pad + `"}]]]} tail`},
		{name: "nested array of scalars", in: `{"a":[1,true,null,-2.5e3,{"c":false}],"b":2} tail`},
		{name: "mismatched bracket in a nested value", in: `{"a":{"b":[1}}`, wantErr: errMismatched},
		{name: "truncated inside a nested string", in: `{"a":{"b":"` + pad, wantErr: errTruncated},
		{name: "truncated after a backslash", in: `{"a":["\`, wantErr: errTruncated},
		{name: "nesting past the limit", in: `{"a":[[[[[[1]]]]]]} tail`, wantErr: errTooDeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := scanOne(tc.in, 4096, 5)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("error %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			want := strings.TrimSuffix(tc.in, " tail")
			if string(res.raw) != want {
				t.Fatalf("scanned %q\nwant %q", res.raw, want)
			}
			if !json.Valid(res.raw) {
				t.Fatalf("scanned value is not valid JSON: %q", res.raw)
			}
			if name, ok := res.info.str(res.raw, keyEventName); strings.Contains(want, `"eventName"`) && (!ok || string(name) != "X") {
				t.Fatalf("eventName noted as %q, %v; want X", name, ok)
			}
		})
	}
}

// FuzzScanValue holds the scanner to encoding/json: every valid JSON value
// scans to exactly its bytes, and its top-level eventName is the one
// encoding/json reads.
func FuzzScanValue(f *testing.F) {
	for _, s := range []string{`{"a":{"b":"q\"}"},"eventName":"X"}`, `[[["\\"]]]`, `{"eventName":"CreateKey","x":[{"y":"\\\""}]}`, `"s"`, `1`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in := bytes.TrimSpace(data)
		if len(in) == 0 || !json.Valid(in) {
			return
		}
		res, err := scanOne(string(in)+" ", 1<<20, 10000)
		if err != nil {
			t.Fatalf("scan of valid JSON %q: %v", in, err)
		}
		if !bytes.Equal(res.raw, in) {
			t.Fatalf("scanned %q, want %q", res.raw, in)
		}
		var obj struct {
			EventName *string `json:"eventName"`
		}
		if json.Unmarshal(in, &obj) != nil || res.info.unsure || res.info.dup != 0 {
			return
		}
		name, ok := res.info.str(res.raw, keyEventName)
		if obj.EventName != nil && ok && string(name) != *obj.EventName {
			t.Fatalf("eventName %q, encoding/json reads %q", name, *obj.EventName)
		}
	})
}

// TestScanEscapedKeys holds which top-level keys with an escape make the
// scan unsure: only those that may spell a noted key (starting with an e,
// an E or an escape). Each input is scanned in place, where every closing
// quote is found in the buffer, and byte by byte, where most are not; both
// must agree.
func TestScanEscapedKeys(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantUnsure bool
		wantName   string // the noted eventName when the scan is sure
		// valueEscaped: eventName's value holds an escape
		valueEscaped bool
	}{
		{name: "escaped first letter of eventName", in: `{"\u0065ventName":"CreateKey","eventName":"Decrypt"}`, wantUnsure: true},
		{name: "escape inside eventName", in: `{"eventName":"Decrypt","e\u0076entName":"CreateKey"}`, wantUnsure: true},
		{name: "escape in a key starting with E", in: `{"Event\u004eame":"CreateKey","eventName":"Decrypt"}`, wantUnsure: true},
		{name: "escape in a key no noted key can be", in: `{"us\u0065rAgent":"a\"b","eventName":"Decrypt"}`, wantName: "Decrypt"},
		{name: "escaped quote in a key no noted key can be", in: `{"x\"eventName":"CreateKey","eventName":"Decrypt"}`, wantName: "Decrypt"},
		{name: "escape in the value of a key not noted", in: `{"userAgent":"\u0041","EVENTNAME":"Decrypt"}`, wantName: "Decrypt"},
		{name: "escape in eventName's value", in: `{"eventName":"Cre\u0061teKey"}`, wantName: "CreateKey", valueEscaped: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !json.Valid([]byte(tc.in)) {
				t.Fatalf("test input is not JSON: %s", tc.in)
			}
			sc := newBytesScanner([]byte(tc.in + " "))
			inPlace, err := sc.scanValue(1<<20, 100)
			if err != nil {
				t.Fatal(err)
			}
			byByte, err := scanOne(tc.in+" ", 1<<20, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range []scanResult{inPlace, byByte} {
				if res.info.unsure != tc.wantUnsure {
					t.Fatalf("unsure %v, want %v", res.info.unsure, tc.wantUnsure)
				}
				if tc.wantUnsure {
					continue
				}
				var obj struct{ EventName string }
				if err := json.Unmarshal(res.raw, &obj); err != nil || obj.EventName != tc.wantName {
					t.Fatalf("encoding/json reads eventName %q (%v), want %q", obj.EventName, err, tc.wantName)
				}
				name, ok := res.info.str(res.raw, keyEventName)
				if tc.valueEscaped {
					// Its raw bytes are not its text: left to the full decode.
					if ok || !res.info.v[keyEventName].escaped {
						t.Fatalf("escaped eventName noted as the plain string %q", name)
					}
					continue
				}
				if !ok || string(name) != tc.wantName {
					t.Fatalf("eventName noted as %q, %v; want %q", name, ok, tc.wantName)
				}
			}
		})
	}
}
