package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
)

// The memos identify values by a hash of their value text: an encoding of
// a value that two values share only when they are equal. It is written
// for hashing, not reading: each part says what it is and how long it is,
// so no part can be read as the end of another and nothing is escaped.
//
//	null, true, false      'n', 't', 'f'
//	number                 '#', length, its text
//	string                 '"', length, its bytes
//	array                  '[', each element, ']'
//	object                 '{', each key then value in key order, '}'
//	set                    '<', each element in order, '>'
//	a known document       '=', the SHA-256 of the text it was parsed from
//
// Lengths are unsigned varints. Objects and sets are written in OPA's
// order of their keys and elements, so values read from the same JSON are
// written alike whatever order their members came in; a number is written
// as its text, so 1 and 1.0 are two texts (a miss, never a wrong answer). A
// document (a key or file-system policy parsed from a text, Document.Sum)
// is written as the hash of that text: two texts of one value are two
// digests, which costs a miss and never a wrong answer.

// knownDoc is a document's term in an input and the hash of its text.
type knownDoc struct {
	term *ast.Term
	sum  [sha256.Size]byte
}

// docsOf lists the documents of in that were parsed from a text.
func docsOf(in *Input) (docs []knownDoc) {
	add := func(p any) {
		if sum, ok := TextSum(p); ok {
			docs = append(docs, knownDoc{p.(*Document).term, sum})
		}
	}
	if in.Key != nil {
		add(in.Key.Policy)
	}
	if in.FileSystem != nil {
		add(in.FileSystem.Policy)
		if r := in.FileSystem.PolicyRelative; r != nil {
			if d, isDoc := r.Policy.(*Document); isDoc && d != in.FileSystem.Policy {
				add(d)
			}
		}
	}
	return docs
}

// appendValueText appends t's value text to buf; ok is false for a value
// that is not data (a reference, a variable, a call, a comprehension).
func appendValueText(buf []byte, t *ast.Term, docs []knownDoc) (_ []byte, ok bool) {
	w := textWriters.Get().(*textWriter)
	w.buf, w.docs, w.ok = buf, docs, true
	w.term(t)
	buf, ok = w.buf, w.ok
	w.buf, w.docs = nil, nil
	textWriters.Put(w)
	return buf, ok
}

// textWriter writes a value text. Its callbacks for the members of objects
// and sets are made once per writer, and writers are reused, so writing
// allocates nothing.
type textWriter struct {
	buf    []byte
	docs   []knownDoc
	ok     bool
	member func(k, v *ast.Term)
	elem   func(x *ast.Term)
}

var textWriters = sync.Pool{New: func() any {
	w := &textWriter{}
	w.member = func(k, v *ast.Term) { w.term(k); w.term(v) }
	w.elem = w.term
	return w
}}

func (w *textWriter) term(t *ast.Term) {
	if !w.ok {
		return
	}
	for _, d := range w.docs {
		if d.term == t {
			w.buf = append(append(w.buf, '='), d.sum[:]...)
			return
		}
	}
	switch v := t.Value.(type) {
	case ast.Null:
		w.buf = append(w.buf, 'n')
	case ast.Boolean:
		if v {
			w.buf = append(w.buf, 't')
		} else {
			w.buf = append(w.buf, 'f')
		}
	case ast.Number:
		w.buf = appendSized(append(w.buf, '#'), string(v))
	case ast.String:
		w.buf = appendSized(append(w.buf, '"'), string(v))
	case *ast.Array:
		w.buf = append(w.buf, '[')
		for i := range v.Len() {
			w.term(v.Elem(i))
		}
		w.buf = append(w.buf, ']')
	case ast.Object:
		w.buf = append(w.buf, '{')
		v.Foreach(w.member)
		w.buf = append(w.buf, '}')
	case ast.Set:
		w.buf = append(w.buf, '<')
		v.Foreach(w.elem)
		w.buf = append(w.buf, '>')
	default:
		w.ok = false
	}
}

// appendSized appends s's length and s.
func appendSized(buf []byte, s string) []byte {
	return append(binary.AppendUvarint(buf, uint64(len(s))), s...)
}
