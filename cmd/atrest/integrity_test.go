package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/integrity/integritytest"
)

const (
	sampleLog  = "../../events/s3/atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
	sampleKey  = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
	trailARNIn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/atrest-trail"
)

// integrityLayout writes a copy of a trail bucket under a temporary folder:
// three hours of log files (the first the sample log file of events/s3,
// whose records follow the AWS documentation pages cited in events/) and
// their signed digest chain, and serves ListPublicKeys for the signing key
// through the standard AWS configuration.
func integrityLayout(t *testing.T) *integritytest.Layout {
	t.Helper()
	sample := integritytest.GunzipFile(t, sampleLog)
	key := integritytest.NewKey(t, "cli")
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
	srv := integritytest.ServeKeys(t, first.Add(-24*time.Hour), first.Add(24*time.Hour), key)
	t.Setenv("AWS_ENDPOINT_URL_CLOUDTRAIL", srv.URL)
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // nothing else may be called
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	return l
}

// notification is the SQS sample event of events/ naming key instead.
func notification(t *testing.T, key string) string {
	t.Helper()
	b, err := os.ReadFile("../../events/11-sqs-s3-cloudtrail-log-file.json")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), sampleKey, key, 1)
	name := filepath.Join(t.TempDir(), "notification.json")
	if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func TestEvaluateIntegrity(t *testing.T) {
	// The findings of the sample log file judged with no validation.
	plain, stderr, code := runCLI(t, "", "evaluate", "--format", "json", sampleLog)
	if code != exitOK {
		t.Fatalf("plain run: exit %d: %s", code, stderr)
	}
	sampleFindings := summaries(decodeFindings(t, plain))
	if len(sampleFindings) == 0 {
		t.Fatal("the sample log file gives no findings; the test tests nothing")
	}
	trailNonCompliant := "cloudtrail_monitoring_intact " + trailARNIn + " NON_COMPLIANT"

	tests := []struct {
		name string
		// args after the flags; "ROOT" is the copy's folder, "BUCKET" its
		// bucket folder, "LOG0" the first log file, "NOTIFY0" an SQS
		// notification for it.
		flags    []string
		inputs   []string
		mutate   func(t *testing.T, l *integritytest.Layout)
		code     int
		findings []string // summaries, in order; "SAMPLE" stands for the sample's findings
		stderr   []string // parts stderr must hold
	}{
		{
			name:     "intact chain, integrity required: the bucket copy is judged",
			flags:    []string{"--require-integrity"},
			inputs:   []string{"BUCKET"},
			findings: []string{"SAMPLE"},
			stderr:   []string{"atrest: integrity: log files read: 3 valid, 0 altered, 0 missing, 0 unlisted, 0 unvalidated; 0 integrity failures; 0 inputs or log files not judged"},
		},
		{
			name:     "intact chain, integrity required: an S3 notification's log file is judged",
			flags:    []string{"--require-integrity"},
			inputs:   []string{"NOTIFY0"},
			findings: []string{"SAMPLE"},
			stderr:   []string{"1 valid, 0 altered"},
		},
		{
			name:   "altered log file, validated: judged, reported, the trail non-compliant",
			flags:  []string{"--validate-integrity"},
			inputs: []string{"LOG0"},
			mutate: func(t *testing.T, l *integritytest.Layout) {
				forged := strings.Replace(string(integritytest.GunzipFile(t, sampleLog)), `"DisableKey"`, `"EnableKey"`, 1)
				integritytest.WriteFile(t, l.Path(l.Logs[0]), integritytest.Gzip(t, []byte(forged)))
			},
			code:     exitBadInput,
			findings: []string{"FORGED", trailNonCompliant + ": trail atrest-trail: integrity: log file s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0915Z_Hour00.json.gz altered (its hash does not match its digest)"},
			stderr:   []string{"atrest: integrity: s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0915Z_Hour00.json.gz: altered: SHA-256 of its uncompressed content is"},
		},
		{
			name:   "altered log file, integrity required: not judged",
			flags:  []string{"--require-integrity"},
			inputs: []string{"NOTIFY0"},
			mutate: func(t *testing.T, l *integritytest.Layout) {
				forged := strings.Replace(string(integritytest.GunzipFile(t, sampleLog)), `"DisableKey"`, `"EnableKey"`, 1)
				integritytest.WriteFile(t, l.Path(l.Logs[0]), integritytest.Gzip(t, []byte(forged)))
			},
			code:     exitBadInput,
			findings: []string{trailNonCompliant + ": trail atrest-trail: integrity: log file s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0915Z_Hour00.json.gz altered (its hash does not match its digest)"},
			stderr:   []string{"not judged: integrity required: altered: SHA-256 of its uncompressed content is", "1 inputs or log files not judged"},
		},
		{
			name:   "unlisted log file, integrity required: not judged",
			flags:  []string{"--require-integrity"},
			inputs: []string{"ROOT/atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1030Z_Forged.json.gz"},
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1030Z_Forged.json.gz"),
					integritytest.Gzip(t, integritytest.GunzipFile(t, sampleLog)))
			},
			code:     exitBadInput,
			findings: []string{trailNonCompliant + ": trail atrest-trail: integrity: log file s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1030Z_Forged.json.gz unlisted (in the hours its trail's digests cover, listed by none)"},
			stderr:   []string{"not judged: integrity required: unlisted: in the time the trail's digests cover, but no digest lists it"},
		},
		{
			name:   "missing log file and a bad digest signature, validated",
			flags:  []string{"--validate-integrity"},
			inputs: []string{"LOG0"},
			mutate: func(t *testing.T, l *integritytest.Layout) {
				if err := os.Remove(l.Path(l.Logs[1])); err != nil {
					t.Fatal(err)
				}
				integritytest.WriteMetadata(t, l.Path(l.Digests[2]), integritytest.Sign(t, integritytest.NewKey(t, "cli"), "forged"))
			},
			code:     exitBadInput,
			findings: []string{"SAMPLE", trailNonCompliant + ": trail atrest-trail: integrity: digest s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/22/111122223333_CloudTrail-Digest_us-east-1_atrest-trail_us-east-1_20261122T120131Z.json.gz: signature verification failed; integrity: log file s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1015Z_Hour01.json.gz missing (its digest lists it, the bucket does not hold it)"},
			stderr:   []string{"_Hour01.json.gz: missing: listed by digest", "20261122T120131Z.json.gz: digest: signature verification failed"},
		},
		{
			name:   "an EventBridge event, integrity required: refused",
			flags:  []string{"--require-integrity"},
			inputs: []string{"../../events/06-eventbridge-efs-createfilesystem-unencrypted.json"},
			code:   exitBadInput,
			stderr: []string{"06-eventbridge-efs-createfilesystem-unencrypted.json: not judged: integrity required: its CloudTrail records are not a log file of a trail bucket", "; 1 inputs or log files not judged"},
		},
		{
			name:   "an EventBridge event, validated only: judged",
			flags:  []string{"--validate-integrity"},
			inputs: []string{"../../events/06-eventbridge-efs-createfilesystem-unencrypted.json"},
			findings: []string{
				"efs_encrypted_at_rest arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210 NON_COMPLIANT: created with encrypted=false",
				"efs_encryption_in_transit_enforced arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210 NON_COMPLIANT: no file-system policy: EFS grants every anonymous client full access, with or without TLS",
			},
			stderr: []string{"06-eventbridge-efs-createfilesystem-unencrypted.json: not validated: its CloudTrail records are not a log file of a trail bucket", "0 valid"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := integrityLayout(t)
			if tc.mutate != nil {
				tc.mutate(t, l)
			}
			args := append([]string{"evaluate", "--format", "json", "--s3-root", l.Root}, tc.flags...)
			for _, in := range tc.inputs {
				switch {
				case in == "BUCKET":
					in = filepath.Join(l.Root, l.Bucket)
				case in == "LOG0":
					in = l.Path(l.Logs[0])
				case in == "NOTIFY0":
					in = notification(t, l.Logs[0])
				case strings.HasPrefix(in, "ROOT/"):
					in = filepath.Join(l.Root, strings.TrimPrefix(in, "ROOT/"))
				}
				args = append(args, in)
			}
			out, stderr, code := runCLI(t, "", args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			var want []string
			for _, w := range tc.findings {
				switch w {
				case "SAMPLE":
					want = append(want, sampleFindings...)
				case "FORGED":
					// The forged record (EnableKey for DisableKey) is judged.
					want = append(want, forgedFindings(t)...)
				default:
					want = append(want, w)
				}
			}
			if got := summaries(decodeFindings(t, out)); strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
			for _, s := range tc.stderr {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
		})
	}
}

// forgedFindings are the findings of the sample log file with DisableKey
// turned into EnableKey, judged without validation.
func forgedFindings(t *testing.T) []string {
	t.Helper()
	forged := strings.Replace(string(integritytest.GunzipFile(t, sampleLog)), `"DisableKey"`, `"EnableKey"`, 1)
	out, stderr, code := runCLI(t, forged, "evaluate", "--format", "json", "-")
	if code != exitOK {
		t.Fatalf("forged run: exit %d: %s", code, stderr)
	}
	return summaries(decodeFindings(t, out))
}

func summaries(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+f.Resource+" "+string(f.Status)+": "+f.Reason)
	}
	return out
}

// TestEvaluateIntegrityOnS3 validates against a bucket on moto, without
// --s3-root: digests and log files read with GetObject and ListObjectsV2,
// the newest digest's signature from its S3 user metadata, a deleted log
// file found missing.
func TestEvaluateIntegrityOnS3(t *testing.T) {
	l := integrityLayout(t)
	url := awstest.Moto(t)
	client := s3.NewFromConfig(awstest.Config(t, url), func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(l.Bucket)}); err != nil {
		t.Fatal(err)
	}
	newest := l.Digests[len(l.Digests)-1]
	for _, key := range append(slices.Clone(l.Logs), l.Digests...) {
		if key == l.Logs[1] {
			continue // deleted: missing
		}
		body, err := os.ReadFile(l.Path(key))
		if err != nil {
			t.Fatal(err)
		}
		in := &s3.PutObjectInput{Bucket: aws.String(l.Bucket), Key: aws.String(key), Body: bytes.NewReader(body)}
		if key == newest {
			in.Metadata = map[string]string{"signature": l.Signatures[len(l.Signatures)-1], "signature-algorithm": "SHA256withRSA"}
		}
		if _, err := client.PutObject(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_ENDPOINT_URL", url)
	out, stderr, code := runCLI(t, "", "evaluate", "--format", "json", "--require-integrity",
		notification(t, l.Logs[0]), notification(t, l.Logs[2]))
	if code != exitBadInput {
		t.Errorf("exit %d, want %d: %s", code, exitBadInput, stderr)
	}
	want := []string{"cloudtrail_monitoring_intact " + trailARNIn + " NON_COMPLIANT: trail atrest-trail: integrity: log file s3://atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1015Z_Hour01.json.gz missing (its digest lists it, the bucket does not hold it)"}
	plain, _, _ := runCLI(t, "", "evaluate", "--format", "json", sampleLog)
	want = append(summaries(decodeFindings(t, plain)), want...)
	if got := summaries(decodeFindings(t, out)); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range []string{"2 valid, 0 altered, 0 missing, 0 unlisted, 0 unvalidated; 1 integrity failures", "_Hour01.json.gz: missing: listed by digest"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
}
