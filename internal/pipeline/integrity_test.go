package pipeline

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/state"
)

const (
	alteredLog = "log file s3://trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/20/111122223333_CloudTrail_us-east-1_20261120T0915Z_a.json.gz altered (its hash does not match its digest)"
	badDigest  = "digest s3://trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/20/111122223333_CloudTrail-Digest_us-east-1_atrest-trail_us-east-1_20261120T100131Z.json.gz: signature verification failed"
)

// TestRecordIntegrity: integrity failures of a trail's log files make the
// trail NON_COMPLIANT, whether or not a record showed it, and stay for the
// events after. The StartLogging record follows the documented example
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html),
// built by record() as the other monitoring tests do.
func TestRecordIntegrity(t *testing.T) {
	tests := []struct {
		name     string
		before   []map[string]any // records judged first
		failures [][]string       // RecordIntegrity calls
		after    []map[string]any // records judged after
		want     []string
	}{
		{
			name:     "a trail no record showed is judged by its ARN",
			failures: [][]string{{alteredLog}},
			want:     []string{" cloudtrail_monitoring_intact " + trailARN + " NON_COMPLIANT: trail atrest-trail: integrity: " + alteredLog},
		},
		{
			name:     "a logging trail turns non-compliant, and a later StartLogging does not clear it",
			before:   []map[string]any{trailEvent("start", 0, "StartLogging", `{"name":"atrest-trail"}`)},
			failures: [][]string{{badDigest}, {alteredLog, badDigest}},
			after:    []map[string]any{trailEvent("start2", 5, "StartLogging", `{"name":"atrest-trail"}`)},
			want: []string{
				"StartLogging cloudtrail_monitoring_intact " + trailARN + " COMPLIANT: trail atrest-trail is logging",
				" cloudtrail_monitoring_intact " + trailARN + " NON_COMPLIANT: trail atrest-trail: integrity: " + badDigest,
				" cloudtrail_monitoring_intact " + trailARN + " NON_COMPLIANT: trail atrest-trail: integrity: " + badDigest + "; integrity: " + alteredLog,
				"StartLogging cloudtrail_monitoring_intact " + trailARN + " NON_COMPLIANT: trail atrest-trail: integrity: " + badDigest + "; integrity: " + alteredLog,
			},
		},
		{
			name:     "no failures, no finding",
			before:   []map[string]any{trailEvent("start", 0, "StartLogging", `{"name":"atrest-trail"}`)},
			failures: [][]string{nil},
			want:     []string{"StartLogging cloudtrail_monitoring_intact " + trailARN + " COMPLIANT: trail atrest-trail is logging"},
		},
	}
	for _, tc := range tests {
		for storeName, store := range map[string]func() state.Store{
			"memory":               func() state.Store { return state.NewMemory() },
			"store without trails": func() state.Store { return keysOnlyStore{state.NewMemory()} },
		} {
			t.Run(tc.name+"/"+storeName, func(t *testing.T) {
				p := newPipeline(t, store())
				ctx := context.Background()
				var got collected
				if len(tc.before) > 0 {
					if _, err := p.ProcessInput(ctx, "before.json", strings.NewReader(logFile(t, tc.before...)), got.emit); err != nil {
						t.Fatal(err)
					}
				}
				for _, fs := range tc.failures {
					rep, err := p.RecordIntegrity(ctx, trailARN, fs, "cli", got.emit)
					if err != nil || rep.EvalErrors != 0 {
						t.Fatalf("RecordIntegrity: %v, %+v", err, rep)
					}
				}
				if len(tc.after) > 0 {
					if _, err := p.ProcessInput(ctx, "after.json", strings.NewReader(logFile(t, tc.after...)), got.emit); err != nil {
						t.Fatal(err)
					}
				}
				if s, w := statuses(got), strings.Join(tc.want, "\n"); s != w {
					t.Errorf("findings:\n%s\nwant:\n%s", s, w)
				}
				for _, f := range got {
					if f.Account != acct || f.Region != region || f.Severity != "HIGH" {
						t.Errorf("finding = %s", fmt.Sprint(f))
					}
				}
			})
		}
	}
}
