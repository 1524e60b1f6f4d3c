package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/replay"
)

// replayArchiveDir lays out a copy of a trail bucket from the sample log
// files (events/16, events/30 and the S3 sample, each built from the AWS
// pages they cite) in the documented key layout, plus a digest file and a
// log file of a day outside the range the tests ask for. It returns the
// root and the in-range files in key order.
func replayArchiveDir(t *testing.T) (string, []string) {
	t.Helper()
	root := t.TempDir()
	const base = "atrest-trail-bucket/AWSLogs/111122223333/"
	sample, err := os.ReadFile("../../events/s3/" + base + "CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		key  string
		body []byte
	}{
		{base + "CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz", sample},
		{base + "CloudTrail/us-east-1/2026/11/24/111122223333_CloudTrail_us-east-1_20261124T0805Z_Mixed00000000001.json.gz", gzipFile(t, "../../events/16-cloudtrail-log-file-mixed.json")},
		{base + "CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T0905Z_Imported00000001.json.gz", gzipFile(t, "../../events/30-cloudtrail-log-file-imported-key.json")},
		// Not read: a digest, and a day after --until.
		{base + "CloudTrail-Digest/us-east-1/2026/11/24/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261124T080500Z.json.gz", sample},
		{base + "CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T0905Z_Late000000000001.json.gz", sample},
	}
	var inRange []string
	for i, f := range files {
		p := filepath.Join(root, filepath.FromSlash(f.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.body, 0o644); err != nil {
			t.Fatal(err)
		}
		if i < 3 {
			inRange = append(inRange, p)
		}
	}
	return root, inRange
}

func gzipFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReplayEqualsEvaluate: `atrest replay --s3-root` prints exactly the
// findings `atrest evaluate` prints for the same log files.
func TestReplayEqualsEvaluate(t *testing.T) {
	root, files := replayArchiveDir(t)
	want, stderr, code := runCLI(t, "", append([]string{"evaluate", "--format", "json"}, files...)...)
	if code != exitOK {
		t.Fatalf("evaluate: exit %d: %s", code, stderr)
	}
	if len(decodeFindings(t, want)) < 10 {
		t.Fatalf("evaluate gave %d findings: the archive tests nothing", len(decodeFindings(t, want)))
	}
	cp := filepath.Join(t.TempDir(), "checkpoint")
	got, stderr, code := runCLI(t, "", "replay", "--format", "json", "--s3-root", root, "--since", "2026-11-22", "--until", "2026-11-25",
		"--workers", "2", "--checkpoint", cp, "s3://atrest-trail-bucket")
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	if got != want {
		t.Errorf("replay printed\n%s\nevaluate printed\n%s", got, want)
	}
	if !strings.Contains(stderr, "atrest: 3 log files read") {
		t.Errorf("stderr: %s", stderr)
	}
	// Run again with the checkpoint: nothing is read, nothing printed.
	again, stderr, code := runCLI(t, "", "replay", "--format", "json", "--s3-root", root, "--since", "2026-11-22", "--until", "2026-11-25",
		"--checkpoint", cp, "s3://atrest-trail-bucket")
	if code != exitOK || again != "" || !strings.Contains(stderr, "0 log files read (0.0 MB), 3 resumed") {
		t.Errorf("rerun: exit %d, stdout %q, stderr %s", code, again, stderr)
	}
}

func TestReplayDryRun(t *testing.T) {
	root, files := replayArchiveDir(t)
	var size int64
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		size += st.Size()
	}
	out, stderr, code := runCLI(t, "", "replay", "--dry-run", "--s3-root", root, "--since", "2026-11-22", "--until", "2026-11-25", "s3://atrest-trail-bucket")
	want := replay.EstimateFleet(3, size, replay.DefaultMemoryMB, replay.DefaultBytesPerCPUSecond).String() + "\n"
	if code != exitOK || out != want {
		t.Errorf("exit %d, stdout %q, want %q; stderr %s", code, out, want, stderr)
	}
}

func TestReplayUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{name: "no archive", args: []string{"--since", "2026-11-22"}, want: "name one archive"},
		{name: "not s3", args: []string{"--since", "2026-11-22", "/tmp/bucket"}, want: `archive "/tmp/bucket": want s3://BUCKET[/PREFIX]`},
		{name: "no since", args: []string{"s3://b"}, want: "--since is required"},
		{name: "bad since", args: []string{"--since", "22/11/2026", "s3://b"}, want: `--since "22/11/2026": want YYYY-MM-DD`},
		{name: "until before since", args: []string{"--since", "2026-11-22", "--until", "2026-11-21", "s3://b"}, want: "--until 2026-11-21 is before --since 2026-11-22"},
		{name: "bad account", args: []string{"--since", "2026-11-22", "--accounts", "12", "--s3-root", "/nonexistent", "s3://b"}, want: `account "12": want 12 digits`},
		{name: "no workers", args: []string{"--since", "2026-11-22", "--workers", "0", "s3://b"}, want: "--workers 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, code := runCLI(t, "", append([]string{"replay"}, tt.args...)...)
			if code != exitUsage || out != "" || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, stderr, tt.want)
			}
		})
	}
}
