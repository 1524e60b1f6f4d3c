package posture

import (
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	tests := []struct {
		name, format, prefix, wantErr string
	}{
		{"table", FormatTable, "Account 111122223333, region us-east-1: 2 NON_COMPLIANT", ""},
		{"json", FormatJSON, `{"rule":"efs_encrypted_at_rest","resource":"` + fsB + `"`, ""},
		{"html", FormatHTML, "<!DOCTYPE html>", ""},
		{"unknown", "yaml", "", `posture format "yaml": want table, json or html`},
		{"case matters", "HTML", "", `posture format "HTML"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := Write(&b, tt.format, smallPosture(), Options{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || b.Len() != 0 {
					t.Fatalf("Write(%q) = %v, wrote %d bytes; want error %q and nothing written", tt.format, err, b.Len(), tt.wantErr)
				}
				return
			}
			if err != nil || !strings.HasPrefix(b.String(), tt.prefix) {
				t.Fatalf("Write(%q) = %v, output starts %.80q; want it to start %q", tt.format, err, b.String(), tt.prefix)
			}
		})
	}
}
