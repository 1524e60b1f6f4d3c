package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"unicode/utf8"
)

// scanner finds the boundaries of JSON values in a byte stream without
// decoding them. It reads through one reused buffer; the value being scanned
// is kept contiguous ("pinned") so that it can be handed out as a slice
// without a copy, up to a size limit past which it is scanned and dropped.
//
// While it scans an object it notes where the values of a few top-level keys
// (eventName, eventSource, ...) lie, so that a record of no interest can be
// rejected without a full decode.
type scanner struct {
	src    io.Reader
	buf    []byte
	r, w   int   // unread bytes are buf[r:w]
	base   int64 // input offset of buf[0]
	err    error // sticky error from src; io.EOF at the end
	maxBuf int   // the buffer never grows past this
	stack  []byte
	// lineStart is the offset of the first byte after the last run of white
	// space that held a newline.
	lineStart int64
	// pooled is the buffer taken from scanBufPool, returned by release.
	pooled *[scanBufSize]byte
}

// Scan outcomes other than success.
var (
	errTruncated  = errors.New("unexpected end of input")
	errMismatched = errors.New("mismatched brackets")
	errTooDeep    = errors.New("nesting too deep")
	errBadValue   = errors.New("invalid value")
)

const scanBufSize = 128 << 10

// scanBufPool holds buffers of scanBufSize bytes for reuse across streams.
var scanBufPool = sync.Pool{New: func() any { return new([scanBufSize]byte) }}

func newScanner(src io.Reader, maxValue int) *scanner {
	size := scanBufSize
	if maxValue+1 < size {
		size = maxValue + 1
	}
	if size < 512 {
		size = 512
	}
	s := &scanner{src: src, maxBuf: maxValue + scanBufSize}
	if size == scanBufSize {
		s.pooled = scanBufPool.Get().(*[scanBufSize]byte)
		s.buf = s.pooled[:]
	} else {
		s.buf = make([]byte, size)
	}
	return s
}

// release hands a pooled buffer back. The scanner and every slice it
// returned must not be used afterwards.
func (s *scanner) release() {
	if s.pooled != nil {
		scanBufPool.Put(s.pooled)
		s.pooled = nil
	}
	s.buf = nil
}

// newBytesScanner scans b in place.
func newBytesScanner(b []byte) *scanner {
	return &scanner{buf: b, w: len(b), err: io.EOF, maxBuf: len(b)}
}

// offset is the input offset of the next unread byte.
func (s *scanner) offset() int64 { return s.base + int64(s.r) }

// fill reads more input, keeping buf[keep:] (keep <= s.w). It returns how far
// the kept bytes moved left and whether any new byte arrived. A buffer that is
// full with kept bytes grows, up to maxBuf; past that full is reported and
// nothing is read.
func (s *scanner) fill(keep int) (shift int, ok, full bool) {
	if s.err != nil {
		return 0, false, false
	}
	if keep > 0 {
		n := copy(s.buf, s.buf[keep:s.w])
		s.base += int64(keep)
		s.r -= keep
		s.w = n
		shift = keep
	}
	if s.w == len(s.buf) {
		if len(s.buf) >= s.maxBuf {
			return shift, false, true
		}
		size := min(2*len(s.buf), s.maxBuf)
		nb := make([]byte, size)
		copy(nb, s.buf[:s.w])
		s.buf = nb
	}
	for range 100 {
		n, err := s.src.Read(s.buf[s.w:])
		s.w += n
		if err != nil {
			s.err = err
		}
		if n > 0 {
			return shift, true, false
		}
		if err != nil {
			return shift, false, false
		}
	}
	s.err = io.ErrNoProgress
	return shift, false, false
}

// readErr is the source's error, if it is other than the end of input.
func (s *scanner) readErr() error {
	if s.err == nil || s.err == io.EOF {
		return nil
	}
	return s.err
}

// skipSpace skips JSON white space and returns the next byte without
// consuming it; ok is false at the end of input.
func (s *scanner) skipSpace() (byte, bool) {
	newline := false
	for {
		for s.r < s.w {
			c := s.buf[s.r]
			if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
				if newline {
					s.lineStart = s.offset()
				}
				return c, true
			}
			newline = newline || c == '\n'
			s.r++
		}
		if _, ok, _ := s.fill(s.r); !ok {
			return 0, false
		}
	}
}

// skipLine drops input up to and including the next newline, unless the
// next byte already starts a line after from. It returns false when the
// input ended first.
func (s *scanner) skipLine(from int64) bool {
	if s.lineStart > from && s.lineStart == s.offset() {
		return true
	}
	for {
		if i := bytes.IndexByte(s.buf[s.r:s.w], '\n'); i >= 0 {
			s.r += i + 1
			return true
		}
		s.r = s.w
		if _, ok, _ := s.fill(s.r); !ok {
			return false
		}
	}
}

// Top-level keys of a record that the scan notes.
const (
	keyEventVersion = iota
	keyEventSource
	keyEventName
	keyEventID
	keyEventTime
	keySNSSource // "EventSource" of a Lambda SNS record; matched exactly
	numKeys
)

// keyValue is where the value of a noted key lies in a scanned value.
type keyValue struct {
	present  bool
	isString bool
	escaped  bool // the string holds escapes: its raw bytes are not its text
	start    int  // string content, without quotes, relative to the value
	end      int
}

// keyInfo holds the noted top-level keys of one scanned object.
type keyInfo struct {
	v [numKeys]keyValue
	// unsure is set when a top-level key holds an escape, so that a noted
	// key may have been missed.
	unsure bool
	// dup is one more than the first noted key that appeared twice, 0 when
	// none did.
	// JSON decoders disagree on which of two values wins, so such a record
	// is ambiguous.
	dup int
}

// set notes the value of key k, remembering a repeated key.
func (ki *keyInfo) set(k int, v keyValue) {
	if ki.v[k].present && ki.dup == 0 {
		ki.dup = k + 1
	}
	ki.v[k] = v
}

// keyNames are the noted keys as a record spells them.
var keyNames = [numKeys]string{"eventVersion", "eventSource", "eventName", "eventID", "eventTime", "EventSource"}

// str returns the text of key k when it is a plain string: no escape, valid
// UTF-8.
func (ki *keyInfo) str(raw []byte, k int) ([]byte, bool) {
	v := &ki.v[k]
	if !v.present || !v.isString || v.escaped {
		return nil, false
	}
	// encoding/json reads each invalid UTF-8 byte as U+FFFD: such a
	// string is left to it.
	s := raw[v.start:v.end]
	if !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// mayNote reports whether a key's raw text may spell a noted key: every
// noted key starts with an e, only e and E fold to it, and an escape at
// the start may stand for either. A key that starts otherwise is never
// noted, escaped or not.
func mayNote(k []byte) bool {
	return len(k) > 0 && (k[0]|0x20 == 'e' || k[0] == '\\')
}

// matchKey names a top-level key worth noting, or returns -1. Matching is
// case-insensitive, as encoding/json matches struct fields.
func matchKey(k []byte) int {
	// Every key noted starts with an e, and only e and E fold to it: most
	// keys of a record are told apart by their first byte.
	if len(k) == 0 || k[0]|0x20 != 'e' {
		return -1
	}
	switch len(k) {
	case 7:
		if bytes.EqualFold(k, []byte("eventID")) {
			return keyEventID
		}
	case 9:
		if bytes.EqualFold(k, []byte("eventName")) {
			return keyEventName
		}
		if bytes.EqualFold(k, []byte("eventTime")) {
			return keyEventTime
		}
	case 11:
		if string(k) == "EventSource" {
			return keySNSSource
		}
		if bytes.EqualFold(k, []byte("eventSource")) {
			return keyEventSource
		}
	case 12:
		if bytes.EqualFold(k, []byte("eventVersion")) {
			return keyEventVersion
		}
	}
	return -1
}

// scanResult describes one scanned value.
type scanResult struct {
	raw      []byte // the value; nil when it was over the limit
	start    int64  // input offset of its first byte
	size     int64  // its length in bytes
	tooLarge bool
	info     keyInfo
}

// States of the top-level key tracking.
const (
	stNone  = iota
	stKey   // a key is due (after '{' or ',')
	stColon // a key was read
	stValue // a value is due (after ':')
)

// isScalarByte reports whether c may appear in a number or literal.
func isScalarByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.'
}

// scanValue scans the JSON value starting at the next unread byte (white
// space already skipped). A value longer than limit is scanned to its end but
// not kept. Errors: errTruncated, errMismatched, errBadValue or the reader's
// error leave the position undefined (errBadValue consumes nothing);
// errTooDeep is returned once the over-deep value has been consumed.
func (s *scanner) scanValue(limit, maxDepth int) (res scanResult, err error) {
	res.start = s.offset()
	start := s.r
	i := start
	depth := 0
	s.stack = s.stack[:0]
	state := stNone
	curKey := -1
	tooLarge := false
	tooDeep := false

	if i >= s.w && !s.more(&start, &i, &tooLarge, limit) {
		return s.truncated(res, i)
	}
	if c := s.buf[i]; c != '{' && c != '[' && c != '"' {
		// A number or literal: it ends at the first byte that cannot be
		// part of one.
		for {
			if i >= s.w && !s.more(&start, &i, &tooLarge, limit) {
				break
			}
			if !isScalarByte(s.buf[i]) {
				break
			}
			i++
		}
		if e := s.readErr(); e != nil {
			s.r = i
			return res, e
		}
		if i == start && !tooLarge {
			return res, errBadValue
		}
		return s.finish(res, start, i, limit, tooLarge, tooDeep)
	}

	for {
		if i >= s.w && !s.more(&start, &i, &tooLarge, limit) {
			return s.truncated(res, i)
		}
		switch c := s.buf[i]; c {
		case '"':
			strRel := i + 1 - start
			j := closingQuote(s.buf[:s.w], i+1)
			escaped, known := false, j >= 0
			if !known {
				var ok bool
				if j, escaped, ok = s.stringEnd(&start, i+1, &tooLarge, limit); !ok {
					return s.truncated(res, j)
				}
			}
			// The string's content is buf[start+strRel : j]. Whether it
			// holds an escape is looked up only where it matters: in a key
			// that may spell a noted one, and in a noted key's value.
			if depth == 1 && !tooLarge && s.stack[0] == '{' {
				switch state {
				case stKey:
					curKey = -1
					if k := s.buf[start+strRel : j]; mayNote(k) {
						if known {
							escaped = bytes.IndexByte(k, '\\') >= 0
						}
						if escaped {
							res.info.unsure = true
						} else {
							curKey = matchKey(k)
						}
					}
					state = stColon
				case stValue:
					if curKey >= 0 {
						if known {
							escaped = bytes.IndexByte(s.buf[start+strRel:j], '\\') >= 0
						}
						res.info.set(curKey, keyValue{present: true, isString: true, escaped: escaped,
							start: strRel, end: j - start})
					}
					state = stNone
				}
			}
			i = j + 1
			if depth == 0 {
				return s.finish(res, start, i, limit, tooLarge, tooDeep)
			}
			continue
		case '{', '[':
			if depth == 1 && state == stValue {
				if curKey >= 0 {
					res.info.set(curKey, keyValue{present: true})
				}
				state = stNone
			}
			depth++
			if depth > maxDepth {
				// Past the limit only the depth is counted; the value is
				// scanned to its end and reported.
				tooDeep = true
				break
			}
			s.stack = append(s.stack, c)
			if depth == 1 {
				if c == '{' {
					state = stKey
				}
				break
			}
			// Below the top level nothing is noted: skip the nested value
			// in one go, back to depth 1.
			i++
			if err := s.skipNested(&start, &i, &tooLarge, &tooDeep, limit, maxDepth); err != nil {
				if err == errTruncated {
					return s.truncated(res, i)
				}
				return res, err
			}
			depth = 1
			continue
		case '}', ']':
			if depth > maxDepth {
				depth--
				break
			}
			if (c == '}') != (s.stack[depth-1] == '{') {
				s.r = i
				return res, errMismatched
			}
			depth--
			s.stack = s.stack[:depth]
			if depth == 0 {
				return s.finish(res, start, i+1, limit, tooLarge, tooDeep)
			}
		case ',':
			if depth == 1 {
				state = stNone
				if s.stack[0] == '{' {
					state = stKey
				}
			}
		case ':':
			if depth == 1 && state == stColon {
				state = stValue
			}
		case ' ', '\t', '\n', '\r':
		default:
			if depth == 1 && state == stValue {
				if curKey >= 0 {
					res.info.set(curKey, keyValue{present: true})
				}
				state = stNone
			}
		}
		i++
	}
}

// scanErrorText describes a scan error with its input offset.
func scanErrorText(err error, at int64) error {
	return fmt.Errorf("%w at byte %d", err, at)
}

// more makes at least one byte at *i available, keeping the value from
// *start pinned unless it is over limit, and shifting the positions; it
// returns false at the end of input.
func (s *scanner) more(start, i *int, tooLarge *bool, limit int) bool {
	if !*tooLarge && *i-*start > limit {
		*tooLarge = true
	}
	for {
		keep := *start
		if *tooLarge {
			keep = *i
		}
		shift, ok, full := s.fill(keep)
		*start -= shift
		*i -= shift
		if *tooLarge {
			*start = *i
		}
		if ok {
			return true
		}
		if !full {
			return false
		}
		// The pinned value fills the largest buffer: drop it, scan on.
		*tooLarge = true
	}
}

// finish ends a scanned value at end.
func (s *scanner) finish(res scanResult, start, end, limit int, tooLarge, tooDeep bool) (scanResult, error) {
	s.r = end
	res.size = s.offset() - res.start
	if tooDeep {
		return res, errTooDeep
	}
	if tooLarge || end-start > limit {
		res.tooLarge = true
		res.info = keyInfo{}
		return res, nil
	}
	res.raw = s.buf[start:end]
	return res, nil
}

// truncated ends a value that the input ended inside.
func (s *scanner) truncated(res scanResult, i int) (scanResult, error) {
	s.r = i
	if e := s.readErr(); e != nil {
		return res, e
	}
	return res, errTruncated
}

// stringEnd finds the closing quote of the string whose content starts at
// buf[j], stepping over escapes, reading on as needed (which may shift
// *start). It returns the index of the quote and whether the string holds an
// escape; ok is false when the input ended first, with end the position
// reached.
func (s *scanner) stringEnd(start *int, j int, tooLarge *bool, limit int) (end int, escaped, ok bool) {
	for {
		if j >= s.w {
			over := j - s.w // 1 when an escape's second byte is due
			i := s.w
			if !s.more(start, &i, tooLarge, limit) {
				return i, escaped, false
			}
			j = i + over
			continue
		}
		q := bytes.IndexByte(s.buf[j:s.w], '"')
		seg := s.w
		if q >= 0 {
			seg = j + q
		}
		if b := bytes.IndexByte(s.buf[j:seg], '\\'); b >= 0 {
			escaped = true
			j += b + 2
			continue
		}
		if q >= 0 {
			return seg, escaped, true
		}
		j = seg
	}
}

// closingQuote returns the index in buf of the quote that closes the string
// whose content starts at buf[from], or -1 when buf ends first. The closing
// quote is the first one not escaped: an odd run of backslashes before a
// quote escapes it. Only the bytes before each quote are looked at for
// backslashes, so a string is crossed with one bytes.IndexByte.
func closingQuote(buf []byte, from int) int {
	j := from
	for {
		q := bytes.IndexByte(buf[j:], '"')
		if q < 0 {
			return -1
		}
		j += q
		n := 0
		for j-1-n >= from && buf[j-1-n] == '\\' {
			n++
		}
		if n%2 == 0 {
			return j
		}
		j++
	}
}

// structural marks the bytes that skipNested stops at.
var structural = [256]bool{'"': true, '{': true, '}': true, '[': true, ']': true}

// skipNested skips a nested value whose opening bracket, at depth 2, is
// already on the stack, from buf[*i] to just past its closing bracket. Only
// brackets and quotes are visited byte by byte; a string is skipped with one
// bytes.IndexByte for its closing quote, looking back over backslashes only
// when one precedes it. It returns errTruncated (with *i where the input
// ended) or errMismatched (with s.r at the offending byte).
func (s *scanner) skipNested(start, i *int, tooLarge, tooDeep *bool, limit, maxDepth int) error {
	depth := 2
	for {
		if *i >= s.w && !s.more(start, i, tooLarge, limit) {
			return errTruncated
		}
		k := *i
		for k < s.w && !structural[s.buf[k]] {
			k++
		}
		if k == s.w {
			*i = k
			continue
		}
		switch c := s.buf[k]; c {
		case '"':
			j := closingQuote(s.buf[:s.w], k+1)
			if j < 0 {
				// The string runs past the buffer: read on with the
				// escape-aware search.
				var ok bool
				if j, _, ok = s.stringEnd(start, k+1, tooLarge, limit); !ok {
					*i = j
					return errTruncated
				}
			}
			k = j
		case '{', '[':
			depth++
			if depth > maxDepth {
				*tooDeep = true
				break
			}
			s.stack = append(s.stack, c)
		default: // '}', ']'
			if depth > maxDepth {
				depth--
				break
			}
			if (c == '}') != (s.stack[depth-1] == '{') {
				s.r = k
				return errMismatched
			}
			depth--
			s.stack = s.stack[:depth]
			if depth == 1 {
				*i = k + 1
				return nil
			}
		}
		*i = k + 1
	}
}
