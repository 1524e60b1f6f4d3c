package finding

import (
	"fmt"
	"unicode/utf8"
)

// AppendJSON appends f as json.Marshal writes it, member by member without
// reflection: `atrest evaluate --format json` writes a line per finding.
// FuzzAppendJSON holds the two byte-equal. An event time json.Marshal
// refuses (a year outside 0-9999) is an error here too.
func (f *Finding) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, f.ID)
	b = append(b, `,"rule":`...)
	b = appendString(b, f.Rule)
	b = append(b, `,"status":`...)
	b = appendString(b, string(f.Status))
	b = append(b, `,"resource":`...)
	b = appendString(b, f.Resource)
	b = append(b, `,"resource_type":`...)
	b = appendString(b, f.ResourceType)
	b = append(b, `,"account":`...)
	b = appendString(b, f.Account)
	b = append(b, `,"region":`...)
	b = appendString(b, f.Region)
	if f.EventID != "" {
		b = append(b, `,"event_id":`...)
		b = appendString(b, f.EventID)
	}
	if f.EventName != "" {
		b = append(b, `,"event_name":`...)
		b = appendString(b, f.EventName)
	}
	if !f.EventTime.IsZero() {
		t, err := f.EventTime.MarshalJSON()
		if err != nil {
			return b, fmt.Errorf("event_time: %w", err)
		}
		b = append(b, `,"event_time":`...)
		b = append(b, t...)
	}
	b = append(b, `,"reason":`...)
	b = appendString(b, f.Reason)
	b = append(b, `,"severity":`...)
	b = appendString(b, f.Severity)
	b = append(b, `,"title":`...)
	b = appendString(b, f.Title)
	b = append(b, `,"remediation":`...)
	b = appendString(b, f.Remediation)
	b = append(b, `,"controls":`...)
	b = appendStrings(b, f.Controls)
	if len(f.FileSystems) > 0 {
		b = append(b, `,"file_systems":`...)
		b = appendStrings(b, f.FileSystems)
	}
	if f.Source != "" {
		b = append(b, `,"source":`...)
		b = appendString(b, f.Source)
	}
	if f.ResourceDeleted {
		b = append(b, `,"resource_deleted":true`...)
	}
	if f.PreviousStatus != "" {
		b = append(b, `,"previous_status":`...)
		b = appendString(b, string(f.PreviousStatus))
	}
	return append(b, '}'), nil
}

// appendStrings appends a list of strings, or null for a nil one.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes a string: HTML's
// <, > and & escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
