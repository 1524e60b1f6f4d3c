package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/finding"
)

// forgedRow is text that, printed raw after a file system id, would erase
// the line and start a table row of its own.
const forgedRow = "\x1b[2K\nCOMPLIANT  efs_encrypted_at_rest  arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210  -  looks fine"

// TestForgedFileSystemIDCannotForgeATableRow evaluates the CreateFileSystem
// record of events/06 (shaped after
// https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html)
// whose fileSystemId carries an erase-line sequence and a newline: the
// record is an apply error naming the field, gives no finding, and neither
// the table nor standard error carries a control character.
func TestForgedFileSystemIDCannotForgeATableRow(t *testing.T) {
	raw, err := os.ReadFile("../../events/06-eventbridge-efs-createfilesystem-unencrypted.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	resp := ev["detail"].(map[string]any)["responseElements"].(map[string]any)
	resp["fileSystemId"] = "fs-0fedcba9876543210" + forgedRow
	forged, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"table", "json"} {
		t.Run(format, func(t *testing.T) {
			stdout, stderr, code := runCLI(t, string(forged), "evaluate", "--format", format, "--view", "history", "-")
			if code != exitBadInput {
				t.Errorf("exit %d, want %d", code, exitBadInput)
			}
			wantOut := ""
			if format == "table" {
				wantOut = "STATUS  RULE  RESOURCE  EVENT  REASON\n"
			}
			if stdout != wantOut {
				t.Errorf("stdout %q, want %q: no finding for a record with a forged id", stdout, wantOut)
			}
			wantErr := `atrest: -: value[0] (eventID 5eed0000-0000-0000-0000-000000000006, CreateFileSystem): apply CreateFileSystem 5eed0000-0000-0000-0000-000000000006: bad record: responseElements.fileSystemId "fs-0fedcba9876543210\x1b[2K\nCOMPLIANT  efs_encrypted_at_rest  arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210  -  looks fine" is not a file system id (fs- and hex digits)`
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if len(lines) != 2 || lines[0] != wantErr || !strings.HasPrefix(lines[1], "atrest: 1 inputs, 1 records") {
				t.Errorf("stderr:\n%s\nwant first line\n%s", stderr, wantErr)
			}
			if strings.ContainsAny(stdout+stderr, "\x1b\r") {
				t.Errorf("output carries a control character")
			}
		})
	}
}

// TestPrintersEscapeInputText: a finding whose text carries control and
// bidirectional characters prints as one escaped table row, and as JSON
// that decodes to the same finding.
func TestPrintersEscapeInputText(t *testing.T) {
	f := finding.Finding{
		Status: finding.NonCompliant, Rule: "efs_encryption_in_transit_enforced",
		Resource:  "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0",
		EventName: "PutFileSystemPolicy", EventID: "ev\x1b[2K\u202e1",
		Reason: "policy statement \"a\tb\u2066c\" allows access\nCOMPLIANT fake row",
	}
	var table bytes.Buffer
	p := newPrinter("table", &table)
	if err := p.Print(f); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "NON_COMPLIANT  efs_encryption_in_transit_enforced  arn:") ||
		!strings.HasSuffix(lines[1], `  PutFileSystemPolicy ev\x1b[2K\u202e1  policy statement "a\tb\u2066c" allows access\nCOMPLIANT fake row`) ||
		strings.ContainsAny(table.String(), "\x1b\u202e\u2066\t") {
		t.Errorf("table %q, want the header and one escaped row", table.String())
	}

	var js bytes.Buffer
	p = newPrinter("json", &js)
	if err := p.Print(f); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(js.String(), "\x1b\u202e\u2066\t") || strings.Count(js.String(), "\n") != 1 {
		t.Errorf("JSON line carries raw control or bidi characters: %q", js.String())
	}
	var back finding.Finding
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.Reason != f.Reason || back.EventID != f.EventID {
		t.Errorf("JSON decodes to %+v (%v)", back, err)
	}
}
