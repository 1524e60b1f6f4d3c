package terminal

import (
	"encoding/json"
	"testing"
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
