package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/integrity/integritytest"
	"github.com/atrest/atrest/internal/lambdafn"
)

// TestTrailArchiveRequiresIntegrity: with ATREST_REQUIRE_INTEGRITY,
// trail-archive judges a log file its signed digest proves intact, and
// fails the messages of an altered log file and of one no signed digest
// covers yet; the trail is judged non-compliant for the altered one. The
// layout is generated (internal/integrity/integritytest); the first hour's
// log file is the sample log file of events/s3.
func TestTrailArchiveRequiresIntegrity(t *testing.T) {
	sampleLog := filepath.Join(repoRoot, "events", "s3", "atrest-trail-bucket", "AWSLogs", "111122223333", "CloudTrail", "us-east-1", "2026", "11", "22",
		"111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz")
	sample := integritytest.GunzipFile(t, sampleLog)
	key := integritytest.NewKey(t, "lambda")
	first := time.Date(2026, 11, 22, 9, 1, 31, 0, time.UTC)
	l := integritytest.Write(t, t.TempDir(), integritytest.Trail{
		Bucket: "atrest-trail-bucket", Account: "111122223333", Region: "us-east-1", Name: "atrest-trail",
		First: first, Hours: 3, Key: key,
		Logs: func(h int) []byte {
			if h == 0 {
				return sample
			}
			return []byte(`{"Records":[]}`)
		},
	})
	integritytest.WriteFile(t, l.Path(l.Logs[1]), integritytest.Gzip(t, []byte(`{"Records":[{"forged":true}]}`)))
	if err := os.Remove(l.Path(l.Digests[2]) + ".metadata"); err != nil {
		t.Fatal(err)
	}
	srv := integritytest.ServeKeys(t, first.Add(-24*time.Hour), first.Add(24*time.Hour), key)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))

	env := map[string]string{
		lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvS3Root: l.Root, lambdafn.EnvMetrics: lambdafn.MetricsNone,
		lambdafn.EnvRegion: "us-east-1", lambdafn.EnvRequireIntegrity: "true", lambdafn.EnvTrailBucket: "atrest-trail-bucket",
	}
	s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
	if err != nil || !s.RequireIntegrity {
		t.Fatalf("FromEnv: %+v, %v", s, err)
	}
	var logBuf bytes.Buffer
	m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&logBuf), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	body := string(readEvent(t, "11-sqs-s3-cloudtrail-log-file.json"))
	var ev events.SQSEvent
	if err := json.Unmarshal([]byte(body), &ev); err != nil {
		t.Fatal(err)
	}
	const sampleKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
	msg := func(id, key string) events.SQSMessage {
		return events.SQSMessage{MessageId: id, EventSource: "aws:sqs", Body: strings.Replace(ev.Records[0].Body, sampleKey, key, 1)}
	}
	resp, err := m.TrailArchive(context.Background(), events.SQSEvent{Records: []events.SQSMessage{
		msg("m-good", l.Logs[0]), msg("m-altered", l.Logs[1]), msg("m-pending", l.Logs[2]),
	}})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m-altered", "m-pending"}) {
		t.Errorf("batch item failures %v, want [m-altered m-pending]", failed)
	}

	// The findings: the sample's, as the oracle judges them, then the trail.
	want := newOracle(t).judge(t, "sqs:m-good", []byte(ev.Records[0].Body))
	var got []finding.Finding
	var notJudged []string
	for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
		var entry struct {
			Msg     string           `json:"msg"`
			Finding *finding.Finding `json:"finding"`
			Object  string           `json:"object"`
			Status  string           `json:"status"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		switch entry.Msg {
		case "finding":
			got = append(got, *entry.Finding)
		case "log file not proven intact: not judged":
			notJudged = append(notJudged, entry.Status+" "+entry.Object[strings.LastIndexByte(entry.Object, '_')+1:])
		}
	}
	if len(want) == 0 || len(got) != len(want)+1 {
		t.Fatalf("%d findings, want the sample's %d and the trail's:\n%s", len(got), len(want), logBuf.String())
	}
	for i, w := range want {
		if got[i].Rule != w.Rule || got[i].Resource != w.Resource || got[i].Status != w.Status || got[i].Reason != w.Reason {
			t.Errorf("finding %d = %s %s %s, want %s %s %s", i, got[i].Rule, got[i].Resource, got[i].Status, w.Rule, w.Resource, w.Status)
		}
	}
	tf := got[len(got)-1]
	wantReason := "trail atrest-trail: integrity: log file s3://atrest-trail-bucket/" + l.Logs[1] + " altered (its hash does not match its digest)"
	if tf.Rule != "cloudtrail_monitoring_intact" || tf.Resource != "arn:aws:cloudtrail:us-east-1:111122223333:trail/atrest-trail" ||
		tf.Status != finding.NonCompliant || tf.Reason != wantReason || tf.Source != "s3" {
		t.Errorf("trail finding = %+v, want NON_COMPLIANT: %s", tf, wantReason)
	}
	if !slices.Equal(notJudged, []string{"altered Hour01.json.gz", "unvalidated Hour02.json.gz"}) {
		t.Errorf("not judged: %v", notJudged)
	}
}

func TestRequireIntegritySetting(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  bool
		err   bool
	}{{"", false, false}, {"true", true, false}, {"false", false, false}, {"yes", false, true}} {
		s, err := lambdafn.FromEnv(func(k string) string {
			if k == lambdafn.EnvRequireIntegrity {
				return tc.value
			}
			return ""
		})
		if s.RequireIntegrity != tc.want || errors.Is(err, lambdafn.ErrSettings) != tc.err {
			t.Errorf("%s=%q: %v, %v", lambdafn.EnvRequireIntegrity, tc.value, s.RequireIntegrity, err)
		}
	}
}

// TestRequiredIntegrityHashesWithinTheFunctionBound: the validator hashes a
// log file within ATREST_MAX_INFLATED_BYTES, as the decoder would read it,
// not within its own default of 1 GiB.
func TestRequiredIntegrityHashesWithinTheFunctionBound(t *testing.T) {
	key := integritytest.NewKey(t, "lambda")
	first := time.Date(2026, 11, 22, 9, 1, 31, 0, time.UTC)
	l := integritytest.Write(t, t.TempDir(), integritytest.Trail{
		Bucket: "atrest-trail-bucket", Account: "111122223333", Region: "us-east-1", Name: "atrest-trail",
		First: first, Hours: 3, Key: key,
		Logs: func(int) []byte { return []byte(`{"Records":[` + strings.Repeat(" ", 4096) + `]}`) },
	})
	srv := integritytest.ServeKeys(t, first.Add(-24*time.Hour), first.Add(24*time.Hour), key)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	for _, tc := range []struct {
		name      string
		bound     string
		wantNotOK string // the reason logged for a file not judged; "" when judged
	}{
		{name: "within the bound: validated", bound: "1048576"},
		{name: "past the bound: not hashed, not judged", bound: "1024", wantNotOK: "inflates past 1024 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{
				lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvS3Root: l.Root, lambdafn.EnvMetrics: lambdafn.MetricsNone,
				lambdafn.EnvRegion: "us-east-1", lambdafn.EnvRequireIntegrity: "true", lambdafn.EnvTrailBucket: "atrest-trail-bucket",
				lambdafn.EnvMaxInflatedBytes: tc.bound,
			}
			s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			var logBuf bytes.Buffer
			m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&logBuf), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			body := `{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"atrest-trail-bucket"},"object":{"key":"` + l.Logs[0] + `"}}}]}`
			if _, err := m.TrailArchive(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", EventSource: "aws:sqs", Body: body}}}); err != nil {
				t.Fatal(err)
			}
			var reasons []string
			for _, line := range strings.Split(strings.TrimSpace(logBuf.String()), "\n") {
				var entry struct {
					Msg    string `json:"msg"`
					Reason string `json:"reason"`
				}
				if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "log file not proven intact: not judged" {
					reasons = append(reasons, entry.Reason)
				}
			}
			switch {
			case tc.wantNotOK == "" && len(reasons) != 0:
				t.Errorf("not judged: %v\n%s", reasons, logBuf.String())
			case tc.wantNotOK != "" && (len(reasons) != 1 || !strings.Contains(reasons[0], tc.wantNotOK)):
				t.Errorf("not judged %v, want one: %s\n%s", reasons, tc.wantNotOK, logBuf.String())
			}
		})
	}
}
