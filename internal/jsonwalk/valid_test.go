package jsonwalk

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// validCases are held to json.Valid by TestValid and seed FuzzValid.
var validCases = []string{
	``, ` `, `null`, ` true `, `false`, `nul`, `nullx`, `True`, `"`, `""`, `"a"`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`,
	`"\u00e9"`, `"\u00E9"`, `"\u00g9"`, `"\u00e"`, `"\x"`, `"a` + "\x01" + `"`, `"a` + "\x7f\xff\xfe" + `"`, `"é"`,
	`"abcdefgh"`, `"abcdefghijklmnop\"q"`, `"abcdefg\"`, "\"abcdefg\x1fh\"",
	`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e5`, `1E+5`, `1e-05`, `1e`, `1e+`, `-1.5e3`, `2.5E`, `1 2`, `+1`, `0x1`,
	`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `[1,2]`, `[[]]`, `[[]`, `[]]`, `{}`, `{ }`, `{"a":1}`, `{"a" : 1 , "b":[true]}`,
	`{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{1:2}`, `{"a":1 "b":2}`, `{"a":[}`, `[{]}`, `{"a":{"b":{}}}`, `[1]x`, "\t[1]\r\n",
	`{"policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"}`,
}

func TestValid(t *testing.T) {
	for _, s := range validCases {
		if got, want := Valid([]byte(s)), json.Valid([]byte(s)); got != want || Valid(s) != want {
			t.Errorf("Valid(%q) = %v (of the string: %v), json.Valid %v", s, got, Valid(s), want)
		}
	}
	// As deep as encoding/json nests, and one deeper.
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		for _, open := range []string{"[", `{"a":`} {
			close := "]"
			if open != "[" {
				close = "}"
			}
			s := []byte(strings.Repeat(open, depth) + "1" + strings.Repeat(close, depth))
			if got, want := Valid(s), json.Valid(s); got != want || got != (depth <= maxDepth) {
				t.Errorf("%d deep %s: Valid %v, json.Valid %v", depth, open, got, want)
			}
		}
	}
	// Every sample event, whole and cut short at every 97th byte.
	files, _ := filepath.Glob("../../events/*.json")
	if len(files) == 0 {
		t.Fatal("no sample events")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for n := len(b); n >= 0; n -= 97 {
			if got, want := Valid(b[:n]), json.Valid(b[:n]); got != want {
				t.Errorf("%s[:%d]: Valid %v, json.Valid %v", filepath.Base(f), n, got, want)
			}
		}
	}
}

func FuzzValid(f *testing.F) {
	for _, s := range validCases {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if got, want := Valid(b), json.Valid(b); got != want || Valid(string(b)) != want {
			t.Errorf("Valid(%q) = %v (of the string: %v), json.Valid %v", b, got, Valid(string(b)), want)
		}
	})
}

// BenchmarkValid reads the CreateKey sample event's record, with its key
// policy, as the record decoder checks it.
func BenchmarkValid(b *testing.B) {
	data, err := os.ReadFile("../../events/01-eventbridge-kms-createkey-symmetric.json")
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name  string
		valid func([]byte) bool
	}{{"jsonwalk", Valid[[]byte]}, {"encoding_json", json.Valid}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if !bm.valid(data) {
					b.Fatal("not valid")
				}
			}
		})
	}
}
