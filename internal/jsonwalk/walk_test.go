package jsonwalk

import (
	"encoding/json"
	"testing"
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
	for _, tok := range []string{`"plain"`, `"a\"b\\c\n"`, `"\u00e9\ud83d\ude00\/"`, `"é"`, `""`} {
		var want string
		if err := json.Unmarshal([]byte(tok), &want); err != nil {
			t.Fatal(err)
		}
		w := Walk{B: []byte(tok)}
		if got, ok := w.Text(); !ok || got != want || !w.End() {
			t.Errorf("%s: %q, %v; want %q", tok, got, ok, want)
		}
	}
	if _, ok := (&Walk{B: []byte(`5`)}).Text(); ok {
		t.Error("read a number as a string")
	}
}
