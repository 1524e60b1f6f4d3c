package pipeline

import (
	"bytes"
	"encoding/json"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/jsonstr"
	"github.com/atrest/atrest/internal/jsonwalk"
)

// canonicalJSON re-encodes a JSON value with sorted object keys and no
// spacing, as encoding/json writes the value it decodes (numbers as
// written, strings with its escaping, the last of duplicate keys); a value
// that does not decode is returned as it is. It reads the bytes directly:
// decoding into maps and encoding them again cost most of a record's digest.
func canonicalJSON(raw json.RawMessage) []byte {
	return appendCanonicalJSON(nil, raw)
}

// appendCanonicalJSON appends canonicalJSON(raw) to dst.
func appendCanonicalJSON(dst []byte, raw json.RawMessage) []byte {
	if len(raw) == 0 {
		return dst
	}
	c := canonicalizers.Get().(*canonicalizer)
	defer canonicalizers.Put(c)
	c.in, c.pos, c.members = raw, 0, c.members[:0]
	c.space()
	start := len(dst)
	out, ok := c.value(dst, 0)
	c.in = nil
	clear(c.members[:cap(c.members)]) // no key keeps its input alive
	if !ok {
		return append(dst[:start], raw...)
	}
	return out
}

// maxCanonicalDepth bounds nesting as encoding/json does.
const maxCanonicalDepth = 10000

type canonicalizer struct {
	in  []byte
	pos int
	// members is a stack of the members of the objects being read, the
	// innermost last; values is where an object's values wait while its
	// members are sorted. Both are kept between values (canonicalizers).
	members []member
	values  []byte
}

// canonicalizers are reused, with the room they have grown.
var canonicalizers = sync.Pool{New: func() any { return new(canonicalizer) }}

func (c *canonicalizer) space() { c.pos = jsonwalk.SpaceEnd(c.in, c.pos) }

// value appends the canonical form of the value at pos to out.
func (c *canonicalizer) value(out []byte, depth int) ([]byte, bool) {
	if c.pos >= len(c.in) || depth > maxCanonicalDepth {
		return nil, false
	}
	switch b := c.in[c.pos]; {
	case b == '{':
		return c.object(out, depth)
	case b == '[':
		return c.array(out, depth)
	case b == '"':
		if o, ok := c.canonicalString(out); ok {
			return o, true
		}
		s, ok := c.str()
		if !ok {
			return nil, false
		}
		return jsonstr.Append(out, s), true
	case b == 't':
		return c.literal(out, "true")
	case b == 'f':
		return c.literal(out, "false")
	case b == 'n':
		return c.literal(out, "null")
	default:
		return c.number(out)
	}
}

func (c *canonicalizer) literal(out []byte, lit string) ([]byte, bool) {
	if !bytes.HasPrefix(c.in[c.pos:], []byte(lit)) {
		return nil, false
	}
	c.pos += len(lit)
	return append(out, lit...), true
}

// number appends a number as written, after checking JSON's grammar.
func (c *canonicalizer) number(out []byte) ([]byte, bool) {
	end := jsonwalk.NumberEnd(c.in, c.pos)
	if end < 0 {
		return nil, false
	}
	out = append(out, c.in[c.pos:end]...)
	c.pos = end
	return out, true
}

// str reads a string token and returns its decoded value: escapes
// resolved, a lone surrogate and each invalid UTF-8 byte as U+FFFD, as
// encoding/json decodes it.
func (c *canonicalizer) str() (string, bool) {
	in := c.in
	start := c.pos + 1
	escaped, ascii := false, true
	i := start
	for ; i < len(in); i++ {
		b := in[i]
		if b == '"' {
			break
		}
		if b < 0x20 {
			return "", false
		}
		if b == '\\' {
			escaped = true
			i++ // the escaped byte: checked when unquoting
			continue
		}
		if b >= utf8.RuneSelf {
			ascii = false
		}
	}
	if i >= len(in) {
		return "", false
	}
	c.pos = i + 1
	raw := in[start:i]
	if !escaped && (ascii || utf8.Valid(raw)) {
		return string(raw), true
	}
	return jsonwalk.Unescape(raw)
}

// canonicalString appends the string token at pos as it is written when
// that is already the form jsonstr.Append gives its text: printable ASCII
// other than <, > and &, escaped only by the short escapes it writes (\",
// \\, \b, \f, \n, \r, \t). ok is false, with nothing read, for any other
// string, which str and jsonstr.Append then rewrite.
func (c *canonicalizer) canonicalString(out []byte) ([]byte, bool) {
	in := c.in
	for i := c.pos + 1; i < len(in); {
		switch b := in[i]; {
		case b == '"':
			out = append(out, in[c.pos:i+1]...)
			c.pos = i + 1
			return out, true
		case b == '\\':
			if i+1 >= len(in) {
				return out, false
			}
			switch in[i+1] {
			case '"', '\\', 'b', 'f', 'n', 'r', 't':
				i += 2
				continue
			}
			return out, false
		case b < 0x20 || b >= utf8.RuneSelf || b == '<' || b == '>' || b == '&':
			return out, false
		}
		i++
	}
	return out, false
}

func (c *canonicalizer) array(out []byte, depth int) ([]byte, bool) {
	c.pos++ // [
	out = append(out, '[')
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == ']' {
		c.pos++
		return append(out, ']'), true
	}
	for n := 0; ; n++ {
		if n > 0 {
			out = append(out, ',')
		}
		var ok bool
		if out, ok = c.value(out, depth+1); !ok {
			return nil, false
		}
		c.space()
		if c.pos >= len(c.in) {
			return nil, false
		}
		switch c.in[c.pos] {
		case ',':
			c.pos++
			c.space()
		case ']':
			c.pos++
			return append(out, ']'), true
		default:
			return nil, false
		}
	}
}

// member is an object member: its decoded key, the key's token when that
// is already its canonical form (nil otherwise), and where its canonical
// value lies in the output being written.
type member struct {
	key, token []byte
	start, end int
}

func (c *canonicalizer) object(out []byte, depth int) ([]byte, bool) {
	c.pos++ // {
	c.space()
	if c.pos < len(c.in) && c.in[c.pos] == '}' {
		c.pos++
		return append(out, '{', '}'), true
	}
	// The members' values are written after out as they come, then moved
	// into key order. This object's members are those pushed from here on;
	// a nested object's are popped before the next member is read.
	base, first := len(out), len(c.members)
	for {
		if c.pos >= len(c.in) || c.in[c.pos] != '"' {
			return nil, false
		}
		key, token, ok := c.key()
		if !ok {
			return nil, false
		}
		c.space()
		if c.pos >= len(c.in) || c.in[c.pos] != ':' {
			return nil, false
		}
		c.pos++
		c.space()
		start := len(out)
		if out, ok = c.value(out, depth+1); !ok {
			return nil, false
		}
		c.members = append(c.members, member{key, token, start, len(out)})
		c.space()
		if c.pos >= len(c.in) {
			return nil, false
		}
		if c.in[c.pos] == ',' {
			c.pos++
			c.space()
			continue
		}
		if c.in[c.pos] != '}' {
			return nil, false
		}
		c.pos++
		break
	}
	members := c.members[first:]
	c.values = append(c.values[:0], out[base:]...)
	out = out[:base]
	// Sorted by key; equal keys keep their order, so the last of each run
	// is the value encoding/json keeps.
	slices.SortStableFunc(members, func(a, b member) int { return bytes.Compare(a.key, b.key) })
	out = append(out, '{')
	n := 0
	for i, m := range members {
		if i+1 < len(members) && bytes.Equal(members[i+1].key, m.key) {
			continue // a later duplicate follows: it wins
		}
		if n > 0 {
			out = append(out, ',')
		}
		n++
		if m.token != nil {
			out = append(out, m.token...)
		} else {
			out = jsonstr.Append(out, string(m.key))
		}
		out = append(out, ':')
		out = append(out, c.values[m.start-base:m.end-base]...)
	}
	c.members = c.members[:first]
	return append(out, '}'), true
}

// key reads an object key: its decoded bytes, and its token (quotes
// included) when the token is its canonical form: printable ASCII other
// than <, > and &, with no escape. The bytes of such a key are the
// input's; any other is decoded as str does.
func (c *canonicalizer) key() (key, token []byte, ok bool) {
	in := c.in
	for i := c.pos + 1; i < len(in); i++ {
		switch b := in[i]; {
		case b == '"':
			token = in[c.pos : i+1]
			c.pos = i + 1
			return token[1 : len(token)-1], token, true
		case b < 0x20 || b >= utf8.RuneSelf || b == '<' || b == '>' || b == '&' || b == '\\':
			s, ok := c.str()
			return []byte(s), nil, ok
		}
	}
	return nil, nil, false
}
