package state

import (
	"bytes"
)

// idFieldsOf reads the members of raw (requestParameters or
// responseElements) that idFields holds, as json.Unmarshal into an idFields
// would read them from valid JSON, without decoding the rest: a key policy
// in requestParameters is skipped by looking for quotes, not read byte by
// byte. ok is false when raw holds what the walk leaves to json.Unmarshal:
// a key with an escape or a byte past ASCII, an id that is not a plain ASCII
// string or null, a keyMetadata that is not an object or null, or text that
// is neither an object nor null. Its result is trusted only for ids that pass their
// checks (ValidateIDs): a failing one is read again by json.Unmarshal, so
// that malformed JSON is judged as before.
func idFieldsOf(raw []byte) (f idFields, ok bool) {
	w := idWalk{b: raw}
	if w.null() {
		return f, w.end()
	}
	ok = w.object(func(key []byte) bool {
		var dst *string
		switch {
		case bytes.EqualFold(key, []byte("fileSystemId")):
			dst = &f.FileSystemID
		case bytes.EqualFold(key, []byte("fileSystemArn")):
			dst = &f.FileSystemARN
		case bytes.EqualFold(key, []byte("kmsKeyId")):
			dst = &f.KMSKeyID
		case bytes.EqualFold(key, []byte("keyId")):
			dst = &f.KeyID
		case bytes.EqualFold(key, []byte("targetKeyId")):
			dst = &f.TargetKeyID
		case bytes.EqualFold(key, []byte("keyMetadata")):
			if w.null() {
				f.KeyMetadata = nil
				return true
			}
			// A repeated keyMetadata object is merged into the first one,
			// as json.Unmarshal fills the struct it already points to.
			if f.KeyMetadata == nil {
				f.KeyMetadata = &struct {
					KeyID string `json:"keyId"`
					ARN   string `json:"arn"`
				}{}
			}
			md := f.KeyMetadata
			return w.object(func(key []byte) bool {
				switch {
				case bytes.EqualFold(key, []byte("keyId")):
					return w.id(&md.KeyID)
				case bytes.EqualFold(key, []byte("arn")):
					return w.id(&md.ARN)
				}
				return w.skip()
			})
		default:
			return w.skip()
		}
		return w.id(dst)
	})
	return f, ok && w.end()
}

// idWalk walks JSON text that is assumed valid: it checks only what it
// needs to find its way.
type idWalk struct {
	b []byte
	i int
}

func (w *idWalk) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\n', '\r':
			w.i++
		default:
			return
		}
	}
}

// peek is the next byte past white space, 0 at the end.
func (w *idWalk) peek() byte {
	w.space()
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

// end reports whether only white space is left.
func (w *idWalk) end() bool {
	w.space()
	return w.i == len(w.b)
}

// str reads a string's raw content: from its opening quote to the first
// quote after an even run of backslashes.
func (w *idWalk) str() (s []byte, ok bool) {
	if w.peek() != '"' {
		return nil, false
	}
	from := w.i + 1
	j := from
	for {
		q := bytes.IndexByte(w.b[j:], '"')
		if q < 0 {
			return nil, false
		}
		j += q
		n := 0
		for j-1-n >= from && w.b[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			w.i = j + 1
			return w.b[from:j], true
		}
		j++
	}
}

// plain reports whether s is printable ASCII with no escape: its raw bytes
// are its text.
func plain(s []byte) bool {
	for _, c := range s {
		if c < 0x20 || c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// null reads a null, if one is next.
func (w *idWalk) null() bool {
	if w.peek() == 'n' && bytes.HasPrefix(w.b[w.i:], []byte("null")) {
		w.i += 4
		return true
	}
	return false
}

// id reads a plain string into dst; null leaves dst as it is.
func (w *idWalk) id(dst *string) bool {
	if w.null() {
		return true
	}
	s, ok := w.str()
	if !ok || !plain(s) {
		return false
	}
	*dst = string(s)
	return true
}

// object reads an object, calling member with each key (plain) with the
// walk at its value, which member must read.
func (w *idWalk) object(member func(key []byte) bool) bool {
	if w.peek() != '{' {
		return false
	}
	w.i++
	if w.peek() == '}' {
		w.i++
		return true
	}
	for {
		key, ok := w.str()
		if !ok || !plain(key) || w.peek() != ':' {
			return false
		}
		w.i++
		if !member(key) {
			return false
		}
		switch w.peek() {
		case ',':
			w.i++
		case '}':
			w.i++
			return true
		default:
			return false
		}
	}
}

// skip steps over one value of any kind.
func (w *idWalk) skip() bool {
	switch c := w.peek(); c {
	case '"':
		_, ok := w.str()
		return ok
	case '{', '[':
		var stack []byte
		for {
			switch c := w.peek(); c {
			case '"':
				if _, ok := w.str(); !ok {
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
					w.i++
					return true
				}
			case 0:
				return false
			}
			w.i++
		}
	default:
		from := w.i
		for w.i < len(w.b) && isScalar(w.b[w.i]) {
			w.i++
		}
		return w.i > from
	}
}

// isScalar reports whether c may appear in a number or a literal.
func isScalar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}
