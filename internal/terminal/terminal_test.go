package terminal

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain text is kept", "fs-0123abcd key state is Disabled", "fs-0123abcd key state is Disabled"},
		{"non-ASCII letters are kept", "clé – naïve", "clé – naïve"},
		{"erase line and newline", "fs-1\x1b[2K\nCOMPLIANT", `fs-1\x1b[2K\nCOMPLIANT`},
		{"tab and carriage return", "a\tb\rc", `a\tb\rc`},
		{"DEL and C1 CSI", "a\x7fb\u009bc", `a\x7fb\u009bc`},
		{"bidi override and isolate", "abc\u202edcba\u2066x\u2069", `abc\u202edcba\u2066x\u2069`},
		{"marks and line separator", "\u200e\u200f\u061c\u2028", `\u200e\u200f\u061c\u2028`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Escape(tt.in); got != tt.want {
				t.Fatalf("Escape(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEscapeJSON(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		{"plain", "fs-1", `{"v":"fs-1"}` + "\n"},
		{"bidi override", "a\u202eb", `{"v":"a\u202eb"}` + "\n"},
		{"C1 and DEL", "a\u0085b\x7f", `{"v":"a\u0085b\u007f"}` + "\n"},
		{"escape and newline, escaped by encoding/json", "a\x1b\n", `{"v":"a\u001b\n"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line, err := json.Marshal(map[string]string{"v": tt.value})
			if err != nil {
				t.Fatal(err)
			}
			got := string(EscapeJSON(append(line, '\n')))
			if got != tt.want {
				t.Fatalf("got %s want %s", got, tt.want)
			}
			var back map[string]string
			if err := json.Unmarshal([]byte(got), &back); err != nil || back["v"] != tt.value {
				t.Fatalf("decodes to %q (%v), want %q", back["v"], err, tt.value)
			}
		})
	}
}

// needsEscapeByRune is needsEscape as its comment defines it, rune by rune.
func needsEscapeByRune(s string) bool {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return true
			}
		}
		if Unsafe(r) {
			return true
		}
	}
	return false
}

func TestNeedsEscape(t *testing.T) {
	base := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd"
	for _, c := range []string{"", "\x00", "\x1f", " ", "~", "\x7f", "\x80", "\u0085", "\u009f", "\u00a0", "é", "\u202e", "\u2028", "\xff", "\xe2\x80"} {
		// The rune at every place of a word and of the tail after it.
		for at := 0; at <= 17; at++ {
			s := base[:at] + c + base[at:]
			if got, want := needsEscape(s), needsEscapeByRune(s); got != want {
				t.Errorf("needsEscape(%q) = %v, want %v", s, got, want)
			}
			if got, want := needsEscape([]byte(s)), needsEscapeByRune(s); got != want {
				t.Errorf("needsEscape([]byte(%q)) = %v, want %v", s, got, want)
			}
		}
	}
	for b := range 256 {
		w := uint64(b) << 24
		for k := range 8 {
			if k != 3 {
				w |= uint64('a') << (8 * k)
			}
		}
		if got, want := printableASCII(w), b >= 0x20 && b <= 0x7e; got != want {
			t.Errorf("printableASCII with byte %#x = %v, want %v", b, got, want)
		}
	}
}

func FuzzNeedsEscape(f *testing.F) {
	for _, s := range []string{"", "plain text of a finding, longer than a word", "a\u202eb", "abcdefgh\x7f", "abcdefg\xffh", "\u0085abcdefghij"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := needsEscapeByRune(s)
		if got := needsEscape(s); got != want {
			t.Errorf("needsEscape(%q) = %v, want %v", s, got, want)
		}
		if got := needsEscape([]byte(s)); got != want {
			t.Errorf("needsEscape([]byte(%q)) = %v, want %v", s, got, want)
		}
	})
}

// BenchmarkEscapeJSON is one finding as JSON, with nothing to escape.
func BenchmarkEscapeJSON(b *testing.B) {
	line := []byte(`{"id":"f-9f2c1d0e4b3a","rule":"kms_key_rotation_enabled","resource_type":"AWS::KMS::Key","resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","status":"NON_COMPLIANT","reason":"automatic rotation of key 1234abcd-12ab-34cd-56ef-1234567890ab is off","severity":"MEDIUM","event_id":"0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d","event_name":"DisableKeyRotation","event_time":"2026-11-20T09:05:00Z","account":"111122223333","region":"us-east-1","source":"trail"}` + "\n")
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		EscapeJSON(line)
	}
}
