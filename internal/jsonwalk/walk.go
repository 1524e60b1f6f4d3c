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
	"unicode/utf16"
	"unicode/utf8"
)

// Walk is a position in JSON text.
type Walk struct {
	B []byte
	I int
}

func (w *Walk) space() { w.I = skipSpace(w.B, w.I) }

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

// Text reads a string and returns its text, what json.Unmarshal decodes it
// to: its raw bytes when it holds no escape, else with its escapes read
// (Unescape). The text walked must be valid JSON and valid UTF-8, as
// json.Unmarshal would otherwise replace the invalid bytes.
func (w *Walk) Text() (string, bool) {
	content, ok := w.Str()
	if !ok {
		return "", false
	}
	if bytes.IndexByte(content, '\\') < 0 {
		return string(content), true
	}
	return Unescape(content)
}

// Unescape decodes a string's content (between its quotes) as
// json.Unmarshal does: a \u escape of a UTF-16 surrogate that is not half
// of a pair, and each byte that is not UTF-8, is U+FFFD. ok is false on an
// escape JSON does not have.
func Unescape(content []byte) (string, bool) {
	out := make([]byte, 0, len(content))
	for i := 0; i < len(content); {
		j := bytes.IndexByte(content[i:], '\\')
		if j < 0 {
			j = len(content) - i
		}
		out = appendUTF8(out, content[i:i+j])
		if i += j; i == len(content) {
			break
		}
		if i+1 >= len(content) {
			return "", false
		}
		switch c := content[i+1]; c {
		case '"', '\\', '/':
			out = append(out, c)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r := hex4(content[i:])
			if r < 0 {
				return "", false
			}
			if utf16.IsSurrogate(r) {
				if pair := utf16.DecodeRune(r, hex4(content[i+6:])); pair != utf8.RuneError {
					out = utf8.AppendRune(out, pair)
					i += 12
					continue
				}
				r = utf8.RuneError
			}
			out = utf8.AppendRune(out, r)
			i += 6
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

// appendUTF8 appends run, each byte of it that is not UTF-8 as U+FFFD.
func appendUTF8(out, run []byte) []byte {
	if utf8.Valid(run) {
		return append(out, run...)
	}
	for len(run) > 0 {
		r, size := utf8.DecodeRune(run)
		out = utf8.AppendRune(out, r)
		run = run[size:]
	}
	return out
}

// hex4 reads a \uXXXX escape at the start of b, -1 when there is none.
func hex4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
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

// Members reads an object as json.Unmarshal reads one into a struct:
// fields names each field by the lower-case form of its JSON name, and a
// key matches it in any case (for a Plain key that is ASCII case folding,
// as encoding/json folds it). read is called with the walk at the value of
// each key that names a field, which read must read; other members are
// skipped. A field named twice ends the walk, as json.Unmarshal would keep
// the last: fields number at most 64.
func (w *Walk) Members(fields map[string]int, read func(f int) bool) bool {
	var seen uint64
	return w.Object(func(key []byte) bool {
		f := fieldOf(fields, key)
		if f < 0 {
			return w.Skip()
		}
		if seen&(1<<f) != 0 {
			return false
		}
		seen |= 1 << f
		return read(f)
	})
}

// fieldOf is the index of a Plain key in fields, -1 for none.
func fieldOf(fields map[string]int, key []byte) int {
	var buf [64]byte
	if len(key) > len(buf) {
		return -1 // longer than every name
	}
	lower := buf[:len(key)]
	for i, c := range key {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	if f, ok := fields[string(lower)]; ok {
		return f
	}
	return -1
}

// StringInto reads a string into dst as json.Unmarshal does: null leaves
// dst as it is.
func (w *Walk) StringInto(dst *string) bool {
	if w.Null() {
		return true
	}
	s, ok := w.Text()
	if ok {
		*dst = s
	}
	return ok
}

// StringsInto reads a list of strings into dst as json.Unmarshal does:
// null makes dst nil, [] an empty list, and a null element "".
func (w *Walk) StringsInto(dst *[]string) bool {
	if w.Null() {
		*dst = nil
		return true
	}
	list := []string{}
	ok := w.Array(func() bool {
		list = append(list, "")
		return w.StringInto(&list[len(list)-1])
	})
	*dst = list
	return ok
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
