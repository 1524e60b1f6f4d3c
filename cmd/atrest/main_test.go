package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/coldstart"
	"github.com/atrest/atrest/internal/finding"
)

// sampleEvents lists the story in events/: every input except the malformed
// ones, in name order.
func sampleEvents(t *testing.T) []string {
	t.Helper()
	all, err := filepath.Glob("../../events/[0-8]*.json")
	if err != nil || len(all) == 0 {
		t.Fatalf("no sample events: %v", err)
	}
	return all
}

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func decodeFindings(t *testing.T, out string) []finding.Finding {
	t.Helper()
	var fs []finding.Finding
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var f finding.Finding
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("output line is not a finding: %v\n%s", err, sc.Text())
		}
		fs = append(fs, f)
	}
	return fs
}

func summarize(f finding.Finding) string {
	return fmt.Sprintf("%-20s %-36s %-38s %s", f.EventName, f.Rule, f.Resource[strings.LastIndexByte(f.Resource, '/')+1:], f.Status)
}

// TestEvaluateSampleEvents runs the whole sample story and compares every
// finding, in order, with the expected list in testdata.
func TestEvaluateSampleEvents(t *testing.T) {
	args := append([]string{"evaluate", "--format", "json", "--s3-root", "../../events/s3"}, sampleEvents(t)...)
	out, stderr, code := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	want, err := os.ReadFile("testdata/events-findings.txt")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	fs := decodeFindings(t, out)
	for _, f := range fs {
		got = append(got, summarize(f))
	}
	wantLines := strings.Split(strings.TrimSpace(string(want)), "\n")
	if strings.Join(got, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("findings differ from testdata/events-findings.txt\ngot:\n%s", strings.Join(got, "\n"))
	}
	if !strings.Contains(stderr, "1 duplicates, 2 failed calls") {
		t.Errorf("summary does not count the duplicate and the failed calls: %s", stderr)
	}
	// Every field a finding promises is filled.
	for _, f := range fs {
		if f.ID == "" || f.Title == "" || f.Severity == "" || f.Remediation == "" || len(f.Controls) == 0 ||
			f.Account != "111122223333" || f.Region != "us-east-1" || f.EventID == "" || f.EventTime.IsZero() || f.Reason == "" {
			t.Errorf("finding with empty fields: %+v", f)
		}
		// Policies are summarized in reasons, never dumped.
		if strings.Contains(f.Reason, `"Statement"`) || strings.Contains(f.Reason, `"Effect"`) || len(f.Reason) > 600 {
			t.Errorf("reason dumps a policy document: %q", f.Reason)
		}
		if f.ResourceType == "AWS::KMS::Key" && f.Status != finding.NotApplicable && f.Rule != "kms_key_rotation_enabled" && len(f.FileSystems) == 0 {
			t.Errorf("key finding without its blast radius: %+v", f)
		}
	}
}

func TestEvaluateBadInputKeepsValidRecords(t *testing.T) {
	tests := []struct {
		name       string
		file       string
		wantStderr string
		wantEvents []string // event names with findings
	}{
		{"wrong type between good records", "90-malformed-log-file-wrong-type.json", "Records[0]", []string{"EnableKey"}},
		{"EventBridge event without detail", "91-malformed-eventbridge-missing-detail.json", "detail", nil},
		{"truncated JSON", "92-malformed-eventbridge-truncated.json", "92-malformed-eventbridge-truncated.json", nil},
		{"awslogs.data not gzip", "93-malformed-cloudwatch-logs-not-gzip.json", "bad encoding", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", "evaluate", "--format", "json", "../../events/"+tc.file)
			if code != exitBadInput {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tc.wantStderr) || !strings.Contains(stderr, tc.file) {
				t.Errorf("stderr does not name the file and %q:\n%s", tc.wantStderr, stderr)
			}
			var events []string
			for _, f := range decodeFindings(t, out) {
				if len(events) == 0 || events[len(events)-1] != f.EventName {
					events = append(events, f.EventName)
				}
			}
			if strings.Join(events, ",") != strings.Join(tc.wantEvents, ",") {
				t.Errorf("findings for events %v, want %v", events, tc.wantEvents)
			}
		})
	}
}

func TestEvaluateFailOnAndStdin(t *testing.T) {
	unencrypted, err := os.ReadFile("../../events/06-eventbridge-efs-createfilesystem-unencrypted.json")
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, string(unencrypted), "evaluate", "--format", "json", "--fail-on", "non_compliant", "-")
	if code != exitNonCompliant {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitNonCompliant, stderr)
	}
	fs := decodeFindings(t, out)
	if len(fs) != 2 || fs[0].Rule != "efs_encrypted_at_rest" || fs[0].Status != finding.NonCompliant {
		t.Fatalf("findings = %+v", fs)
	}
	// Without --fail-on the same input exits 0.
	if _, _, code := runCLI(t, string(unencrypted), "evaluate", "--format", "json", "-"); code != exitOK {
		t.Errorf("exit %d without --fail-on, want 0", code)
	}
}

func TestEvaluateTable(t *testing.T) {
	const input = "../../events/06-eventbridge-efs-createfilesystem-unencrypted.json"
	// The history: every finding as judged.
	out, _, code := runCLI(t, "", "evaluate", "--format", "table", "--view", "history", input)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "STATUS RULE RESOURCE EVENT REASON" ||
		strings.Join(strings.Fields(lines[1])[:2], " ") != "NON_COMPLIANT efs_encrypted_at_rest" ||
		strings.Join(strings.Fields(lines[2])[:2], " ") != "NON_COMPLIANT efs_encryption_in_transit_enforced" {
		t.Errorf("history table =\n%s", out)
	}
	// The posture, the default: the ledger's entries and a summary.
	out, _, code = runCLI(t, "", "evaluate", "--format", "table", input)
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := []string{
		"Account 111122223333, region us-east-1: 2 NON_COMPLIANT",
		"STATUS RULE RESOURCE REASON",
		"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210 created with encrypted=false",
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	for i, w := range want {
		if i >= len(lines) || strings.Join(strings.Fields(lines[i]), " ") != w {
			t.Errorf("posture table =\n%s\nwant line %d %q", out, i, w)
			break
		}
	}
	// --status filters it; a status no entry has leaves nothing.
	out, _, _ = runCLI(t, "", "evaluate", "--format", "table", "--status", "compliant", input)
	if strings.Contains(out, "NON_COMPLIANT  efs") {
		t.Errorf("--status compliant printed non-compliant rows:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "usage: atrest"},
		{"unknown command", []string{"judge"}, `unknown command "judge"`},
		{"no input", []string{"evaluate"}, "no input"},
		{"bad format", []string{"evaluate", "--format", "xml", "-"}, `--format "xml"`},
		{"bad fail-on", []string{"evaluate", "--fail-on", "compliant", "-"}, `--fail-on "compliant"`},
		{"missing config", []string{"evaluate", "--config", "nope.yaml", "-"}, "nope.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d stderr %q, want exit %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

func TestEvaluateConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "atrest.yaml")
	if err := os.WriteFile(cfg, []byte("require_customer_managed_keys: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "", "evaluate", "--format", "json", "--config", cfg,
		"../../events/07-eventbridge-efs-createfilesystem-default-key.json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	fs := decodeFindings(t, out)
	if len(fs) == 0 || fs[0].Rule != "efs_encrypted_at_rest" || fs[0].Status != finding.NonCompliant {
		t.Fatalf("with require_customer_managed_keys the AWS managed key must be non-compliant: %+v", fs)
	}
}

// TestEvaluateHTMLReport: --format html -o FILE writes the posture as one
// self-contained page and nothing on standard output.
func TestEvaluateHTMLReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "posture.html")
	out, stderr, code := runCLI(t, "", "evaluate", "--format", "html", "-o", path, "../../events/06-eventbridge-efs-createfilesystem-unencrypted.json")
	if code != exitOK || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<!DOCTYPE html>", "efs_encrypted_at_rest", "fs-0fedcba9876543210", "NON_COMPLIANT", "<svg"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report has no %q", want)
		}
	}
	if _, stderr, code := runCLI(t, "", "evaluate", "--format", "html", "--view", "history", "-"); code != exitUsage || !strings.Contains(stderr, "--format html shows the posture") {
		t.Errorf("html history: exit %d, %s", code, stderr)
	}
}

// TestDemoFitsATicket: the posture of the sample events, as `make demo`
// prints it, is at most 40 lines of at most 120 columns, standard error's
// summary included.
func TestDemoFitsATicket(t *testing.T) {
	args := append([]string{"evaluate", "--format", "table", "--s3-root", "../../events/s3"}, sampleEvents(t)...)
	out, stderr, code := runCLI(t, "", args...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSuffix(out+stderr, "\n"), "\n")
	if len(lines) > 40 {
		t.Errorf("%d lines, want at most 40:\n%s", len(lines), out+stderr)
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > 120 {
			t.Errorf("%d columns: %s", n, l)
		}
	}
	if !strings.Contains(out, "NON_COMPLIANT  kms_key_rotation_enabled") {
		t.Errorf("the posture lacks the key without rotation:\n%s", out)
	}
}

// gogc reads the collector's GOGC without changing it.
func gogc() int64 {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// TestCollectorReleasedOnceRulesCompile holds the release of the collector,
// held back since the process started (coldstart, through package early),
// to its points: a judging command's once its rules are compiled, while it
// still reads its input; any other command's by the time it ends (it
// releases at once); and to settings that are the process's again.
func TestCollectorReleasedOnceRulesCompile(t *testing.T) {
	releaseCollector()
	want := gogc()
	waitReleased := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); gogc() != want; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the collector is still held (GOGC %d, want %d)", what, gogc(), want)
			}
		}
	}

	coldstart.Hold()
	if got := gogc(); got == want {
		t.Fatalf("coldstart.Hold left GOGC at %d", got)
	}
	in, feed := io.Pipe()
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"evaluate", "--format", "json", "-"}, in, io.Discard, io.Discard)
	}()
	waitReleased("evaluate reading its input")
	event, err := os.ReadFile(sampleEvents(t)[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Write(event); err != nil {
		t.Fatal(err)
	}
	feed.Close()
	if c := <-code; c != exitOK {
		t.Fatalf("evaluate exited %d", c)
	}

	coldstart.Hold()
	stdout, _, c := runCLI(t, "", "rules")
	if c != exitOK || stdout == "" {
		t.Fatalf("rules exited %d", c)
	}
	waitReleased("rules")
}
