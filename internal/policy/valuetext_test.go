package policy

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// valueOf reads a JSON text as OPA reads input; ok is false when it is not
// JSON.
func valueOf(text string) (*ast.Term, bool) {
	var x any
	d := json.NewDecoder(bytes.NewReader([]byte(text)))
	d.UseNumber()
	if err := d.Decode(&x); err != nil || d.More() {
		return nil, false
	}
	v, err := ast.InterfaceToValue(x)
	if err != nil {
		return nil, false
	}
	return ast.NewTerm(v), true
}

// FuzzValueText holds the value text to what the memos need of it: two
// values with one text are equal, and a value's text does not depend on
// how its objects were built.
func FuzzValueText(f *testing.F) {
	for _, pair := range [][2]string{
		{`"a"`, `"b"`},
		{`{"a": [1, "x"], "b": null}`, `{"b": null, "a": [1, "x"]}`},
		{`["ab", "c"]`, `["a", "bc"]`},
		{`{"ab": "c"}`, `{"a": "bc"}`},
		{`[[], []]`, `[[[]]]`},
		{`{"a": {}}`, `{"a": []}`},
		{`"1"`, `1`},
		{`true`, `"true"`},
		{`null`, `"null"`},
		{`1.0`, `1`},
		{`{"k": "\u00e9"}`, `{"k": "é"}`},
	} {
		f.Add(pair[0], pair[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ta, okA := valueOf(a)
		tb, okB := valueOf(b)
		if !okA || !okB {
			return
		}
		textA, okA := appendValueText(nil, ta, nil)
		textB, okB := appendValueText(nil, tb, nil)
		if !okA || !okB {
			t.Fatalf("JSON %q or %q has no value text", a, b)
		}
		if bytes.Equal(textA, textB) && ta.Value.Compare(tb.Value) != 0 {
			t.Fatalf("%q and %q differ but share the text %q", a, b, textA)
		}
		// The same value read again, its objects built anew.
		again, _ := valueOf(a)
		if textAgain, _ := appendValueText(nil, again, nil); !bytes.Equal(textAgain, textA) {
			t.Fatalf("%q read twice: texts %q and %q", a, textA, textAgain)
		}
	})
}

// TestValueTextOfDocuments checks that a document parsed from a text is
// written as that text's hash wherever it is in a value, that two texts
// give two texts of the value, and that a value that is not data has none.
func TestValueTextOfDocuments(t *testing.T) {
	doc := func(text string) *Document {
		t.Helper()
		d, ok := ParseDocumentText(text)
		if !ok {
			t.Fatalf("parse %s", text)
		}
		return d
	}
	d1, d2, d1again := doc(`{"Statement": []}`), doc(`{"Statement": [ ]}`), doc(`{"Statement": []}`)
	in := func(d *Document) *ast.Term {
		return ast.ObjectTerm(ast.Item(ast.StringTerm("file_system"), ast.ObjectTerm(ast.Item(ast.StringTerm("policy"), d.term))))
	}
	text := func(d *Document) []byte {
		t.Helper()
		sum, _ := d.Sum()
		b, ok := appendValueText(nil, in(d), []knownDoc{{d.term, sum}})
		if !ok {
			t.Fatal("no value text")
		}
		return b
	}
	sum1, _ := d1.Sum()
	if got := text(d1); !bytes.Contains(got, append([]byte{'='}, sum1[:]...)) {
		t.Errorf("document not written as its text's hash: %q", got)
	}
	if !bytes.Equal(text(d1), text(d1again)) {
		t.Error("one text parsed twice gives two value texts")
	}
	if bytes.Equal(text(d1), text(d2)) {
		t.Error("two texts give one value text")
	}
	if sha256.Sum256(text(d1)) == sha256.Sum256(text(d2)) {
		t.Error("two texts give one hash")
	}
	// Without the document known, its value is written out.
	plain, _ := appendValueText(nil, in(d1), nil)
	if bytes.Contains(plain, sum1[:]) {
		t.Errorf("unknown document written as a hash: %q", plain)
	}
	for _, v := range []*ast.Term{ast.VarTerm("x"), ast.MustParseTerm("input.a"), ast.ArrayTerm(ast.VarTerm("x"))} {
		if _, ok := appendValueText(nil, v, nil); ok {
			t.Errorf("%v has a value text", v)
		}
	}
}
