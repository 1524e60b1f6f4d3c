// Package jsonwalk steps through JSON text that is known to be valid (its
// caller has checked it, or falls back to encoding/json on any doubt),
// reading the members it is asked for and skipping the rest by looking
// for quotes and brackets rather than decoding byte by byte.
//
// A Walk checks only what it needs to find its way: on text that is not
// valid JSON its readings mean nothing, and callers trust them only where
// encoding/json would have agreed (each caller says how).
package jsonwalk

import (
	"bytes"
	"encoding/json"
)

// Walk is a position in JSON text.
type Walk struct {
	B []byte
	I int
}

func (w *Walk) space() {
	for w.I < len(w.B) {
		switch w.B[w.I] {
		case ' ', '\t', '\n', '\r':
			w.I++
		default:
			return
		}
	}
}

// Peek is the next byte past white space, 0 at the end.
func (w *Walk) Peek() byte {
	w.space()
	if w.I < len(w.B) {
		return w.B[w.I]
	}
	return 0
}

// End reports whether only white space is left.
func (w *Walk) End() bool {
	w.space()
	return w.I == len(w.B)
}

// Str reads a string, returning its raw content (escapes as written): it
// ends at the first quote after an even run of backslashes.
func (w *Walk) Str() (content []byte, ok bool) {
	if w.Peek() != '"' {
		return nil, false
	}
	from := w.I + 1
	j := from
	for {
		q := bytes.IndexByte(w.B[j:], '"')
		if q < 0 {
			return nil, false
		}
		j += q
		n := 0
		for j-1-n >= from && w.B[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			w.I = j + 1
			return w.B[from:j], true
		}
		j++
	}
}

// Text reads a string and returns its text: its raw bytes when it holds no
// escape, else what json.Unmarshal decodes it to. The text walked must be
// valid UTF-8, as json.Unmarshal would otherwise replace the invalid bytes.
func (w *Walk) Text() (string, bool) {
	from := w.I
	content, ok := w.Str()
	if !ok {
		return "", false
	}
	if bytes.IndexByte(content, '\\') < 0 {
		return string(content), true
	}
	var s string
	if json.Unmarshal(w.B[from:w.I], &s) != nil {
		return "", false
	}
	return s, true
}

// Plain reports whether s is printable ASCII with no escape: its raw bytes
// are its text, and it folds to another case as encoding/json folds it.
func Plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// Null reads a null, if one is next.
func (w *Walk) Null() bool {
	if w.Peek() == 'n' && bytes.HasPrefix(w.B[w.I:], []byte("null")) {
		w.I += 4
		return true
	}
	return false
}

// Object reads an object, calling member with each key, which must be
// Plain, with the walk at the key's value, which member must read.
func (w *Walk) Object(member func(key []byte) bool) bool {
	if w.Peek() != '{' {
		return false
	}
	w.I++
	if w.Peek() == '}' {
		w.I++
		return true
	}
	for {
		key, ok := w.Str()
		if !ok || !Plain(key) || w.Peek() != ':' {
			return false
		}
		w.I++
		if !member(key) {
			return false
		}
		switch w.Peek() {
		case ',':
			w.I++
		case '}':
			w.I++
			return true
		default:
			return false
		}
	}
}

// Array reads an array, calling elem with the walk at each element, which
// elem must read.
func (w *Walk) Array(elem func() bool) bool {
	if w.Peek() != '[' {
		return false
	}
	w.I++
	if w.Peek() == ']' {
		w.I++
		return true
	}
	for {
		if !elem() {
			return false
		}
		switch w.Peek() {
		case ',':
			w.I++
		case ']':
			w.I++
			return true
		default:
			return false
		}
	}
}

// Value skips one value of any kind and returns its text.
func (w *Walk) Value() ([]byte, bool) {
	w.space()
	from := w.I
	if !w.Skip() {
		return nil, false
	}
	return w.B[from:w.I], true
}

// Skip steps over one value of any kind.
func (w *Walk) Skip() bool {
	switch c := w.Peek(); c {
	case '"':
		_, ok := w.Str()
		return ok
	case '{', '[':
		var stack []byte
		for {
			switch c := w.Peek(); c {
			case '"':
				if _, ok := w.Str(); !ok {
					return false
				}
				continue
			case '{', '[':
				stack = append(stack, c)
			case '}', ']':
				if len(stack) == 0 || (c == '}') != (stack[len(stack)-1] == '{') {
					return false
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					w.I++
					return true
				}
			case 0:
				return false
			}
			w.I++
		}
	default:
		from := w.I
		for w.I < len(w.B) && isScalar(w.B[w.I]) {
			w.I++
		}
		return w.I > from
	}
}

// isScalar reports whether c may appear in a number or a literal.
func isScalar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}
