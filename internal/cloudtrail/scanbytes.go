package cloudtrail

import "bytes"

// scanBytes is scanNested reading one byte at a time: what scanValue runs
// where classify has no vector version (vectorClassify), on which marking
// whole blocks would be slower. The tests hold scanNested to it
// (TestScanBlocksMatchBytes, FuzzScanBlocks).
func (s *scanner) scanBytes(res scanResult, start, limit, maxDepth int, tooLarge bool) (scanResult, error) {
	i := start
	depth := 0
	s.stack = s.stack[:0]
	state := stNone
	curKey := -1
	tooDeep := false
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
