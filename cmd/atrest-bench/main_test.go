package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenTrail writes generated logs and reads them back as CloudTrail log
// files; bad flags are refused with the usage status.
func TestGenTrail(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		gzip    bool
		code    int
		records int
		stderr  string
	}{
		{name: "plain", args: []string{"--records", "50"}, code: exitOK, records: 50, stderr: "50 records"},
		{name: "gzip", args: []string{"--records", "20", "--gzip"}, gzip: true, code: exitOK, records: 20, stderr: "20 records"},
		{name: "relevant out of range", args: []string{"--relevant", "2"}, code: exitUsage, stderr: "--relevant within 0..1"},
		{name: "negative records", args: []string{"--records", "-1"}, code: exitUsage, stderr: "--records must be ≥ 0"},
		{name: "stray argument", args: []string{"extra"}, code: exitUsage, stderr: "no arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "trail.json")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"gen-trail", "-o", out}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("stderr %q does not say %q", stderr.String(), tt.stderr)
			}
			if tt.code != exitOK {
				return
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if tt.gzip {
				zr, err := gzip.NewReader(bytes.NewReader(data))
				if err != nil {
					t.Fatalf("not gzip: %v", err)
				}
				var buf bytes.Buffer
				if _, err := buf.ReadFrom(zr); err != nil {
					t.Fatal(err)
				}
				data = buf.Bytes()
			}
			var log struct{ Records []json.RawMessage }
			if err := json.Unmarshal(data, &log); err != nil {
				t.Fatalf("not a CloudTrail log file: %v", err)
			}
			if len(log.Records) != tt.records {
				t.Errorf("%d records, want %d", len(log.Records), tt.records)
			}
		})
	}
}

// TestRunUnknownCommand names the command it does not know.
func TestRunUnknownCommand(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"evaluate"}, &stdout, &stderr); code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), `unknown command "evaluate"`) {
		t.Errorf("stderr %q", stderr.String())
	}
}
