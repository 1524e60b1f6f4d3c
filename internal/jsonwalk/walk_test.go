package jsonwalk

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// TestValue holds Value to the extent of each member value of an object
// as encoding/json delimits it (json.RawMessage): strings with escaped
// quotes and runs of backslashes, brackets inside strings, nesting, every
// scalar.
func TestValue(t *testing.T) {
	const doc = `{"a":"x\"y","b":"\\\\","c":{"d":["}]",{"e":"\\\""}],"f":null},"g":-1.5e+3,"h":true,"i":[],"j":{},"k":"é"}`
	var want map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		t.Fatal(err)
	}
	w := Walk{B: []byte(doc)}
	got := map[string]string{}
	ok := w.Object(func(key []byte) bool {
		v, ok := w.Value()
		got[string(key)] = string(v)
		return ok
	})
	if !ok || !w.End() {
		t.Fatalf("walk stopped at byte %d", w.I)
	}
	if len(got) != len(want) {
		t.Fatalf("read %d members, want %d", len(got), len(want))
	}
	for k, v := range want {
		if got[k] != string(v) {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
}

// TestRefused holds the walk to stopping on what it cannot read.
func TestRefused(t *testing.T) {
	for _, doc := range []string{
		`{"a\u0062":1}`, // an escaped key
		`{"é":1}`,       // a key past ASCII
		`{"a":"x}`,      // an unterminated string
		`{"a":[1}`,      // mismatched brackets
		`{"a":1`,        // no end
		`{"a" 1}`,       // no colon
		`{"a":}`,        // no value
		`[1,2`,
	} {
		w := Walk{B: []byte(doc)}
		ok := w.Object(func([]byte) bool { return w.Skip() })
		if ok && w.End() {
			t.Errorf("%s: read whole", doc)
		}
	}
	w := Walk{B: []byte(`[1,{"a":[]},"s"]`)}
	n := 0
	if !w.Array(func() bool { n++; return w.Skip() }) || n != 3 || !w.End() {
		t.Errorf("array: %d elements", n)
	}
}

// TestText holds Text to json.Unmarshal's reading of a string.
func TestText(t *testing.T) {
	for _, tok := range textCases {
		if !textAsUnmarshal(t, []byte(tok)) {
			t.Errorf("%s: not read", tok)
		}
	}
	if _, ok := (&Walk{B: []byte(`5`)}).Text(); ok {
		t.Error("read a number as a string")
	}
}

// textCases are read by Text as json.Unmarshal reads them (TestText), and
// seed FuzzText.
var textCases = []string{
	`"plain"`, `"a\"b\\c\n"`, `"\u00e9\ud83d\ude00\/"`, `"é"`, `""`, `"\b\f\r\t\u0000\u001F"`,
	`"\ud83d"`, `"\ude00"`, `"\ud83dx"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\ude00\ud83d"`, `"\uFFFD\uffff"`,
	`"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"`,
}

// textAsUnmarshal fails unless Text reads a valid string token as
// json.Unmarshal does; it reports whether tok was one.
func textAsUnmarshal(t *testing.T, tok []byte) bool {
	t.Helper()
	var want string
	if !utf8.Valid(tok) || json.Unmarshal(tok, &want) != nil {
		return false
	}
	w := Walk{B: tok}
	got, ok := w.Text()
	if !ok || got != want || !w.End() {
		t.Fatalf("%q: Text = %q, %v; json.Unmarshal %q", tok, got, ok, want)
	}
	return true
}

func FuzzText(f *testing.F) {
	for _, tok := range textCases {
		f.Add([]byte(tok))
	}
	f.Fuzz(func(t *testing.T, tok []byte) {
		textAsUnmarshal(t, tok)
	})
}

// BenchmarkText reads the CreateKey sample's key policy as its record
// holds it: a string of escaped JSON.
func BenchmarkText(b *testing.B) {
	tok := []byte(`"{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"key-consolepolicy-3\",\n  \"Statement\": [\n    {\n      \"Sid\": \"Enable IAM User Permissions\",\n      \"Effect\": \"Allow\",\n      \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"},\n      \"Action\": \"kms:*\",\n      \"Resource\": \"*\"\n    },\n    {\n      \"Sid\": \"Allow use of the key by EFS\",\n      \"Effect\": \"Allow\",\n      \"Principal\": {\"AWS\": \"*\"},\n      \"Action\": [\"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", \"kms:GenerateDataKey*\", \"kms:CreateGrant\", \"kms:DescribeKey\"],\n      \"Resource\": \"*\",\n      \"Condition\": {\"StringEquals\": {\"kms:ViaService\": \"elasticfilesystem.us-east-1.amazonaws.com\", \"kms:CallerAccount\": \"111122223333\"}}\n    }\n  ]\n}"`)
	b.SetBytes(int64(len(tok)))
	b.ReportAllocs()
	for b.Loop() {
		w := Walk{B: tok}
		if _, ok := w.Text(); !ok {
			b.Fatal("not read")
		}
	}
}

// FuzzUnescape holds Unescape to json.Unmarshal on the content of any
// string token, UTF-8 or not.
func FuzzUnescape(f *testing.F) {
	for _, tok := range textCases {
		f.Add([]byte(tok[1 : len(tok)-1]))
	}
	f.Add([]byte("a\xffb\\n\xe2\x80\\u00e9\xe2\x82\xac"))
	f.Fuzz(func(t *testing.T, content []byte) {
		tok := append(append([]byte{'"'}, content...), '"')
		var want string
		if !json.Valid(tok) || json.Unmarshal(tok, &want) != nil {
			return
		}
		if got, ok := Unescape(content); !ok || got != want {
			t.Fatalf("Unescape(%q) = %q, %v; json.Unmarshal %q", content, got, ok, want)
		}
	})
}
