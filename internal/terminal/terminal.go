// Package terminal makes text taken from input safe to print on a terminal:
// a resource id, a reason or an event id read from a CloudTrail record must
// not be able to move the cursor, clear a line, start a new row of a table
// or reorder what follows it.
package terminal

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Unsafe reports whether r must not reach a terminal as it is: C0 and C1
// control characters (tab and newline included, which would break a row of
// a table), DEL, the Unicode line and paragraph separators, and the
// bidirectional formatting characters
// (https://www.unicode.org/reports/tr9/#Directional_Formatting_Characters).
func Unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, // ALM, LRM, RLM
		r >= 0x202a && r <= 0x202e, // LRE, RLE, PDF, LRO, RLO
		r >= 0x2066 && r <= 0x2069, // LRI, RLI, FSI, PDI
		r == 0x2028, r == 0x2029:   // line and paragraph separators
		return true
	}
	return false
}

// Escape returns s with every unsafe rune written as a Go escape (\x1b,
// \n, \u202e) and every byte that is not UTF-8 as \xNN. Text with nothing
// to escape is returned as it is.
func Escape(s string) string {
	if !needsEscape(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case Unsafe(r):
			b.WriteString(escapeRune(r))
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func escapeRune(r rune) string {
	switch r {
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	}
	if r < 0x80 {
		return fmt.Sprintf(`\x%02x`, r)
	}
	return fmt.Sprintf(`\u%04x`, r)
}

// needsEscape reports whether s holds an unsafe rune or a byte that is not
// UTF-8. Printable ASCII, nearly all of what atrest prints, is checked
// eight bytes at a time.
func needsEscape[T string | []byte](s T) bool {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		if !printableASCII(w) {
			break
		}
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7f {
				return true
			}
			i++
			continue
		}
		// At most utf8.UTFMax bytes: the conversion of a []byte needs no
		// allocation.
		r, size := utf8.DecodeRuneInString(string(s[i:min(i+utf8.UTFMax, len(s))]))
		if r == utf8.RuneError && size == 1 || Unsafe(r) {
			return true
		}
		i += size
	}
	return false
}

// Masks of a byte repeated in each of the eight bytes of a word.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// printableASCII reports whether each of the eight bytes of w is in
// 0x20..0x7e: its high bit is clear, it is not below 0x20 and it is not DEL.
// (A byte b is below n, for b and n below 0x80, when b + 0x80 - n has its
// high bit clear; adding never carries into the next byte.)
func printableASCII(w uint64) bool {
	below20 := (w + (0x80-0x20)*ones) & highs
	notDEL := (w ^ 0x7f*ones) + (0x80-0x01)*ones
	return w&highs == 0 && below20 == highs && notDEL&highs == highs
}

// EscapeJSON rewrites the unsafe runes that encoding/json leaves as they
// are (DEL, C1 controls, bidirectional formatting characters) in one line
// of JSON as \u escapes; the JSON decodes to the same values. Control
// characters below 0x20 and the line separators are escaped by encoding/json
// already.
func EscapeJSON(line []byte) []byte {
	if !needsEscape(bytes.TrimSuffix(line, []byte("\n"))) {
		return line
	}
	var b []byte
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		if r != '\n' && r != utf8.RuneError && Unsafe(r) {
			b = fmt.Appendf(b, `\u%04x`, r)
		} else {
			b = append(b, line[i:i+size]...)
		}
		i += size
	}
	return b
}
