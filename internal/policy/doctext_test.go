package policy

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/atrest/atrest/internal/samples"
)

// policyTexts are the key and file-system policies of the input fixtures
// and the sample events, as texts.
func policyTexts(t testing.TB) []string {
	var texts []string
	for _, v := range samples.Decoded(t, filepath.Join("testdata", "input-*.json"), samples.Events) {
		samples.Objects(v, func(o map[string]any) bool {
			switch p := o["policy"].(type) {
			case string:
				texts = append(texts, p)
			case map[string]any:
				texts = append(texts, string(samples.JSON(t, p)))
			}
			return true
		})
	}
	if len(texts) < 10 {
		t.Fatalf("%d policy texts found", len(texts))
	}
	return texts
}

// parsedAsDecoded fails unless ParseDocumentText, when it builds a
// document from text, builds what json.Unmarshal and NewDocumentText do:
// the same Rego value, the same sum, the same JSON form. It reports
// whether ParseDocumentText built one.
func parsedAsDecoded(t *testing.T, text string) bool {
	t.Helper()
	got, ok := ParseDocumentText(text)
	if !ok {
		return false
	}
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("parsed %q, json.Unmarshal failed: %v", text, err)
	}
	if _, isObject := v.(map[string]any); !isObject {
		t.Fatalf("parsed %q, which is not an object", text)
	}
	want, err := NewDocumentText(text, v)
	if err != nil {
		t.Fatalf("parsed %q, NewDocumentText failed: %v", text, err)
	}
	if got.term.Value.Compare(want.term.Value) != 0 {
		t.Fatalf("parsed %q\nto   %v\nwant %v", text, got.term, want.term)
	}
	if got.sum != want.sum || !got.summed {
		t.Fatalf("parsed %q: another sum", text)
	}
	gj, gerr := got.MarshalJSON()
	wj, werr := want.MarshalJSON()
	if !bytes.Equal(gj, wj) || (gerr == nil) != (werr == nil) {
		t.Fatalf("parsed %q: JSON %s (%v), want %s (%v)", text, gj, gerr, wj, werr)
	}
	return true
}

func TestParseDocumentTextAsDecoded(t *testing.T) {
	for _, text := range policyTexts(t) {
		if !parsedAsDecoded(t, text) {
			t.Errorf("left a sample policy to json.Unmarshal: %.200s", text)
		}
	}
	for _, tc := range []struct {
		name, text string
		parsed     bool
	}{
		{"a repeated key, the last read", `{"Effect":"Allow","Effect":"Deny","a":{"b":1,"b":[2]}}`, true},
		{"numbers as float64 writes them", `{"n":[1.0,1e2,-0,0.000001,1e-7,123456789012345678901234,1.5E+3]}`, true},
		{"escapes in strings", `{"s":"a\"b\\c\u00e9\ud83d\ude00\/\u2028","e":""}`, true},
		{"literals and empty containers", ` {"t":true,"f":false,"n":null,"a":[],"o":{}} `, true},
		{"not an object", `["Statement"]`, false},
		{"an escaped key", `{"St\u0061tement":[]}`, false},
		{"a key past ASCII", `{"é":1}`, false},
		{"a number past float64", `{"n":1e400}`, false},
		{"invalid UTF-8", "{\"s\":\"\xff\"}", false},
		{"not JSON", `{"Version":`, false},
		{"text after the object", `{} {}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parsedAsDecoded(t, tc.text); got != tc.parsed {
				t.Fatalf("parsed %v, want %v", got, tc.parsed)
			}
		})
	}
}

// FuzzParseDocumentText holds ParseDocumentText to json.Unmarshal and
// NewDocumentText on any text.
func FuzzParseDocumentText(f *testing.F) {
	for _, text := range policyTexts(f) {
		f.Add(text)
	}
	f.Add(`{"a":1,"a":{"b":[1.5e3,"x\"y",null]},"c":-0.0}`)
	f.Fuzz(func(t *testing.T, text string) {
		parsedAsDecoded(t, text)
	})
}
