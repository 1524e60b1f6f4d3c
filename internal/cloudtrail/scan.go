package cloudtrail

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/bits"
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
	// pad holds the last bytes of the buffer, padded, for classify.
	pad [blockSize]byte
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
	// A record spells its keys as CloudTrail does: those that start with
	// an e are told apart exactly first.
	switch string(k) {
	case "eventVersion":
		return keyEventVersion
	case "eventSource":
		return keyEventSource
	case "eventName":
		return keyEventName
	case "eventID":
		return keyEventID
	case "eventTime":
		return keyEventTime
	case "EventSource":
		return keySNSSource
	case "eventType", "eventCategory", "errorCode", "errorMessage", "edgeDeviceDetails":
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
// errTooDeep is returned once the over-deep value has been consumed. With an
// error, the keys noted in res.info are not to be read.
func (s *scanner) scanValue(limit, maxDepth int) (res scanResult, err error) {
	nested := s.scanNested
	if !vectorClassify {
		nested = s.scanBytes
	}
	return s.scanWith(limit, maxDepth, nested)
}

// scanBlocks is scanValue marking whole blocks (scanNested) wherever it runs.
func (s *scanner) scanBlocks(limit, maxDepth int) (scanResult, error) {
	return s.scanWith(limit, maxDepth, s.scanNested)
}

// nestedScan scans the object, array or string that starts at buf[start],
// its value so far in res: scanNested or scanBytes.
type nestedScan func(res scanResult, start, limit, maxDepth int, tooLarge bool) (scanResult, error)

// scanWith is scanValue scanning an object, array or string with nested.
func (s *scanner) scanWith(limit, maxDepth int, nested nestedScan) (res scanResult, err error) {
	res.start = s.offset()
	start := s.r
	i := start
	tooLarge := false
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
		return s.finish(res, start, i, limit, tooLarge, false)
	}
	return nested(res, start, limit, maxDepth, tooLarge)
}

// scanNested scans the object, array or string that starts at buf[start]
// (its value so far in res) a block of blockSize bytes at a time: classify
// marks a block's quotes, brackets, colons and commas at once, the quotes
// give which bytes lie inside strings, and the bytes visited one by one
// are only those marks outside strings — at the top level of an object,
// to note its keys, and below it only the brackets. Escapes are worked out
// byte by byte, in the rare block that holds a backslash.
//
// It finds exactly the ends, noted keys and errors that reading the bytes
// one at a time does (scanBytes; FuzzScanBlocks holds it to that), and
// reads more input at the same points: only once every byte in the buffer
// has been classified.
func (s *scanner) scanNested(res scanResult, start, limit, maxDepth int, tooLarge bool) (scanResult, error) {
	s.stack = s.stack[:0]
	var (
		depth   int
		state   = stNone
		curKey  = -1
		tooDeep bool
		// inString: the next block starts inside a string. escNext: its
		// first byte is escaped.
		inString, escNext bool
		// strRel is where the string last opened starts its content, and
		// valueRel is just past the last colon at the top level, both
		// relative to start (which moves when the buffer does).
		strRel, valueRel int
	)
	blk := start
	for {
		if blk >= s.w && !s.more(&start, &blk, &tooLarge, limit) {
			return s.truncated(res, blk)
		}
		n := min(s.w-blk, blockSize)
		var p *[blockSize]byte
		if n == blockSize {
			p = (*[blockSize]byte)(s.buf[blk : blk+blockSize])
		} else {
			// The buffer ends inside this block: classify a copy padded
			// with spaces, which mark nothing.
			p = &s.pad
			copy(p[:], s.buf[blk:s.w])
			for k := n; k < blockSize; k++ {
				p[k] = ' '
			}
		}
		quote, bslash, bracket, comma, colon := classify(p)
		if bslash != 0 || escNext {
			quote, escNext = exactQuotes(p, n, inString, escNext)
		}
		// in marks the bytes inside a string and the quotes that open one.
		in := prefixXor(quote)
		if inString {
			in = ^in
		}
		inString = in>>63 != 0 // padding, if any, holds no quote
		bracket &^= in
		comma &^= in
		colon &^= in
		// top are, by state, the marks that can matter at the top level
		// of an object: the quotes only where a key is due or a noted
		// key's value is, the colons where one may follow a noted key.
		top := [...]uint64{
			stNone:  bracket | comma,
			stKey:   quote | bracket | comma | colon,
			stColon: bracket | comma | colon,
			stValue: quote | bracket | comma | colon,
		}
		// marks are the marks still to visit, those that can matter: below
		// the top level the brackets alone, at the top level top[state].
		// They are worked out again when the depth or the state changes.
		marks := top[stKey] // every mark: the value's first byte, at depth 0
		if depth >= 2 {
			marks = bracket
		} else if depth == 1 {
			marks = top[state]
		}
		for marks != 0 {
			k := bits.TrailingZeros64(marks)
			marks &= marks - 1
			pos := blk + k
			c := p[k]
			if depth >= 2 {
				if c == '{' || c == '[' {
					depth = s.openBracket(c, depth, maxDepth, &tooDeep)
					continue
				}
				var ok bool
				if depth, ok = s.closeBracket(c, depth, maxDepth); !ok {
					s.r = pos
					return res, errMismatched
				}
				if depth == 1 {
					marks = top[state] &^ (2<<k - 1)
				}
				continue
			}
			before := state
			opens := in&(1<<k) != 0 // a quote that opens a string
			if state == stValue && (c != '"' || opens) {
				if s.scalarBefore(start, valueRel, pos, tooLarge) {
					// A number or literal came first: it was the value.
					res.info.set(curKey, keyValue{present: true})
					state = stNone
				} else {
					valueRel = pos + 1 - start
				}
			}
			switch c {
			case '"':
				if opens {
					strRel = pos + 1 - start
					if state != stKey && state != stValue {
						break
					}
					if state == stKey && !s.mayNoteAt(pos+1) {
						// No noted key starts so: nothing up to the
						// next comma matters.
						state = stNone
						break
					}
					// A key, or a noted key's value: when it closes in this
					// block, take its closing quote now.
					if rest := quote &^ (2<<k - 1); rest != 0 && !tooLarge {
						open := k
						k = bits.TrailingZeros64(rest)
						pos = blk + k
						escaped := bslash&(1<<k-1)&^(2<<open-1) != 0 // in its content
						state, curKey = closeTop(&res.info, state, curKey, s.buf[start+strRel:pos], escaped, strRel, pos-start)
						if state == stColon && k < blockSize-1 && p[k+1] == ':' {
							// The colon right after a noted key.
							k++
							pos++
							state = stValue
							valueRel = pos + 1 - start
						}
					}
					break
				}
				// It closes a string. Whether the string holds an escape
				// is looked up only where it matters: in a key that may
				// spell a noted one, and in a noted key's value.
				if depth == 1 && !tooLarge && s.stack[0] == '{' {
					text := s.buf[start+strRel : pos]
					state, curKey = closeTop(&res.info, state, curKey, text, bytes.IndexByte(text, '\\') >= 0, strRel, pos-start)
				}
				if depth == 0 {
					return s.finish(res, start, pos+1, limit, tooLarge, tooDeep)
				}
			case '{', '[':
				if depth == 1 && state == stValue {
					res.info.set(curKey, keyValue{present: true})
					state = stNone
				}
				depth = s.openBracket(c, depth, maxDepth, &tooDeep)
				if depth == 1 && c == '{' { // maxDepth is at least 1
					state = stKey
				}
			case '}', ']':
				var ok bool
				if depth, ok = s.closeBracket(c, depth, maxDepth); !ok {
					s.r = pos
					return res, errMismatched
				}
				if depth == 0 {
					return s.finish(res, start, pos+1, limit, tooLarge, tooDeep)
				}
			case ',':
				if depth == 1 {
					state = stNone
					if s.stack[0] == '{' && !s.keyNotNotedAt(pos+1) {
						state = stKey
					}
				}
			case ':':
				if depth == 1 && state == stColon {
					state = stValue
					valueRel = pos + 1 - start
				}
			}
			switch {
			case depth >= 2:
				marks &= bracket
			case state != before || c == '{' || c == '[':
				marks = top[state] &^ (2<<k - 1)
			}
		}
		blk += n
	}
}

// openBracket enters the value an opening bracket c starts, at depth
// (before it): it returns the depth inside. Past maxDepth only the depth is
// counted (tooDeep is set; the value is scanned to its end and reported).
func (s *scanner) openBracket(c byte, depth, maxDepth int, tooDeep *bool) int {
	depth++
	if depth > maxDepth {
		*tooDeep = true
	} else {
		s.stack = append(s.stack, c)
	}
	return depth
}

// closeBracket leaves the value a closing bracket c ends, at depth (inside
// it): it returns the depth outside, and false when c does not match the
// bracket that opened the value.
func (s *scanner) closeBracket(c byte, depth, maxDepth int) (int, bool) {
	if depth > maxDepth {
		return depth - 1, true
	}
	if (c == '}') != (s.stack[depth-1] == '{') {
		return depth, false
	}
	depth--
	s.stack = s.stack[:depth]
	return depth, true
}

// closeTop takes a string that closed at the top level of an object, its
// content text and whether that holds an escape: the key due in state
// stKey, or in stValue the noted key's value. It returns the state and
// noted key after it. A key that is not noted leaves nothing to do up to the
// next comma (stNone).
func closeTop(info *keyInfo, state, curKey int, text []byte, escaped bool, strRel, endRel int) (int, int) {
	switch state {
	case stKey:
		curKey = -1
		if mayNote(text) {
			if escaped {
				info.unsure = true
			} else {
				curKey = matchKey(text)
			}
		}
		if curKey < 0 {
			return stNone, curKey
		}
		return stColon, curKey
	case stValue:
		info.set(curKey, keyValue{present: true, isString: true, escaped: escaped, start: strRel, end: endRel})
		return stNone, curKey
	}
	return state, curKey
}

// keyNotNotedAt reports whether a key that starts at buf[i], right after a
// comma, is one no noted key can be: its first byte is read already and
// is not one a noted key may start with (mayNote).
func (s *scanner) keyNotNotedAt(i int) bool {
	return i+1 < s.w && s.buf[i] == '"' && !mayNote(s.buf[i+1:i+2])
}

// mayNoteAt reports whether a key whose text starts at buf[i] may spell a
// noted key (mayNote), true when that byte is not read yet.
func (s *scanner) mayNoteAt(i int) bool {
	return i >= s.w || mayNote(s.buf[i:i+1])
}

// scalarBefore reports whether anything but white space lies between the
// last mark seen since a value became due (valueRel, relative to start) and
// pos: a number or literal, the only bytes outside strings that classify
// does not mark. Past the size limit nothing is noted, and the bytes may
// be gone.
func (s *scanner) scalarBefore(start, valueRel, pos int, tooLarge bool) bool {
	if tooLarge {
		return false
	}
	for _, c := range s.buf[start+valueRel : pos] {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return true
		}
	}
	return false
}

// exactQuotes marks the quotes of the first n bytes of p that open or close
// a string, given whether the block starts inside one and with an escaped
// byte: inside a string a backslash escapes the byte after it, outside one
// it is a byte like any other. It also reports whether the byte after the
// block is escaped.
func exactQuotes(p *[blockSize]byte, n int, inString, escNext bool) (quote uint64, escOut bool) {
	for k := range n {
		if escNext {
			escNext = false
			continue
		}
		switch p[k] {
		case '\\':
			escNext = inString
		case '"':
			quote |= 1 << k
			inString = !inString
		}
	}
	return quote, escNext
}

// prefixXor sets each bit of x to the parity of the bits at and below it:
// applied to a block's string quotes, the bytes from an opening quote up to
// (not including) its closing one.
func prefixXor(x uint64) uint64 {
	x ^= x << 1
	x ^= x << 2
	x ^= x << 4
	x ^= x << 8
	x ^= x << 16
	x ^= x << 32
	return x
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
