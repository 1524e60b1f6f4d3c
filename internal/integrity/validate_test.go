package integrity_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/integrity/integritytest"
)

const (
	bucket   = "trail-bucket"
	account  = "111122223333"
	region   = "us-east-1"
	trailARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org_trail"
)

var first = time.Date(2026, 11, 22, 10, 1, 31, 0, time.UTC)

// logContent is an hour's log file. The record is the StopLogging example of
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-examples.html
// (account and times replaced); the validator treats it as bytes.
func logContent(hour int) []byte {
	return []byte(`{"Records":[{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333","userName":"Alice"},` +
		`"eventTime":"2026-11-22T1` + string(rune('0'+hour)) + `:14:00Z","eventSource":"cloudtrail.amazonaws.com","eventName":"DescribeTrails",` +
		`"awsRegion":"us-east-1","sourceIPAddress":"192.0.2.1","userAgent":"aws-cli/2","requestParameters":null,"responseElements":null,` +
		`"eventID":"0000000` + string(rune('0'+hour)) + `-0000-0000-0000-000000000000","readOnly":true,"eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}`)
}

func keysClient(t *testing.T, srv *integritytest.KeyServer) *integrity.PublicKeys {
	t.Helper()
	c := cloudtrail.New(cloudtrail.Options{
		Region: region, BaseEndpoint: aws.String(srv.URL),
		Credentials: aws.AnonymousCredentials{},
	})
	return &integrity.PublicKeys{Client: c}
}

type want struct {
	status integrity.Status
	reason string // a part of the reason
}

type wantFailure struct {
	kind, object, reason string // object: the key's last path element
}

func TestValidator(t *testing.T) {
	signer := integritytest.NewKey(t, "signer")
	other := integritytest.NewKey(t, "other")
	tests := []struct {
		name     string
		mutate   func(t *testing.T, l *integritytest.Layout)
		served   *integritytest.Key
		logs     []want // by hour
		extra    map[string]want
		failures []wantFailure
	}{
		{
			name: "chain of three digests, every log file valid",
			logs: []want{{integrity.Valid, "hash matches digest"}, {integrity.Valid, "hash matches"}, {integrity.Valid, "hash matches"}},
		},
		{
			name: "a log file recompressed with its content unchanged stays valid (the hash is of the uncompressed content)",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				var buf bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
				zw.Name = "recompressed.json"
				_, _ = zw.Write(logContent(1))
				_ = zw.Close()
				integritytest.WriteFile(t, l.Path(l.Logs[1]), buf.Bytes())
			},
			logs: []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Valid, ""}},
		},
		{
			name: "altered log file",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path(l.Logs[1]), integritytest.Gzip(t, []byte(`{"Records":[]}`)))
			},
			logs:     []want{{integrity.Valid, ""}, {integrity.Altered, "SHA-256 of its uncompressed content is"}, {integrity.Valid, ""}},
			failures: []wantFailure{{"altered", "20261122T1115Z_Hour01.json.gz", "digest s3://trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/22/111122223333_CloudTrail-Digest_us-east-1_org_trail_us-east-1_20261122T120131Z.json.gz lists"}},
		},
		{
			name: "missing log file",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				remove(t, l.Path(l.Logs[1]))
			},
			logs:     []want{{integrity.Valid, ""}, {integrity.Missing, "not in the bucket"}, {integrity.Valid, ""}},
			failures: []wantFailure{{"missing", "20261122T1115Z_Hour01.json.gz", "not in the bucket"}},
		},
		{
			name: "unlisted log file in the covered hours",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path(forged), integritytest.Gzip(t, logContent(1)))
			},
			logs:     []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Valid, ""}},
			extra:    map[string]want{forged: {integrity.Unlisted, "no digest lists it"}},
			failures: []wantFailure{{"unlisted", "20261122T1130Z_Forged.json.gz", "no digest lists it"}},
		},
		{
			name: "a log file after the covered hours is unvalidated, not unlisted",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path(late), integritytest.Gzip(t, logContent(2)))
			},
			logs:  []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Valid, ""}},
			extra: map[string]want{late: {integrity.Unvalidated, "no digest lists it"}},
		},
		{
			name: "bad signature on the newest digest",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteMetadata(t, l.Path(l.Digests[2]), integritytest.Sign(t, signer, "something else"))
			},
			logs:     []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Unvalidated, "failed validation: signature verification failed"}},
			failures: []wantFailure{{"digest", "20261122T130131Z.json.gz", "signature verification failed"}},
		},
		{
			name: "altered digest in the middle of the chain",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				raw := strings.Replace(string(l.Raw[1]), `"hashValue":"`, `"hashValue":"00`, 1)
				integritytest.WriteFile(t, l.Path(l.Digests[1]), integritytest.Gzip(t, []byte(raw)))
			},
			logs: []want{{integrity.Valid, ""}, {integrity.Unvalidated, "failed validation: signature verification failed"}, {integrity.Valid, ""}},
			failures: []wantFailure{
				{"digest", "20261122T120131Z.json.gz", "signature verification failed"},
				{"digest", "20261122T130131Z.json.gz", "chain broken: the previous digest s3://trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/22/111122223333_CloudTrail-Digest_us-east-1_org_trail_us-east-1_20261122T120131Z.json.gz hashes to"},
			},
		},
		{
			name:   "unknown fingerprint",
			served: other,
			logs: []want{
				{integrity.Unvalidated, "public key not found for fingerprint " + signer.Fingerprint},
				{integrity.Unvalidated, "public key not found"}, {integrity.Unvalidated, "public key not found"},
			},
			failures: []wantFailure{
				{"digest", "20261122T110131Z.json.gz", "public key not found for fingerprint " + signer.Fingerprint + " in us-east-1"},
				{"digest", "20261122T120131Z.json.gz", "public key not found"},
				{"digest", "20261122T130131Z.json.gz", "public key not found"},
			},
		},
		{
			name: "broken chain: the middle digest deleted",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				remove(t, l.Path(l.Digests[1]))
			},
			logs: []want{
				{integrity.Unvalidated, "whose signature is not known"},
				{integrity.Unvalidated, "no digest lists it"},
				{integrity.Valid, ""},
			},
			failures: []wantFailure{{"digest", "20261122T130131Z.json.gz", "chain broken: the previous digest s3://trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/22/111122223333_CloudTrail-Digest_us-east-1_org_trail_us-east-1_20261122T120131Z.json.gz is not in the bucket"}},
		},
		{
			name: "a digest moved from its original location",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				moved := strings.Replace(l.Digests[0], "T110131Z", "T110132Z", 1)
				b, err := os.ReadFile(l.Path(l.Digests[0]))
				if err != nil {
					t.Fatal(err)
				}
				integritytest.WriteFile(t, l.Path(moved), b)
				integritytest.WriteMetadata(t, l.Path(moved), l.Signatures[0])
			},
			logs:     []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Valid, ""}},
			failures: []wantFailure{{"digest", "20261122T110132Z.json.gz", "moved from its original location s3://trail-bucket/"}},
		},
		{
			name: "the newest digest without its S3 metadata: its log file unvalidated, the rest valid",
			mutate: func(t *testing.T, l *integritytest.Layout) {
				remove(t, l.Path(l.Digests[2])+".metadata")
			},
			logs: []want{{integrity.Valid, ""}, {integrity.Valid, ""}, {integrity.Unvalidated, "whose signature is not known"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			l := integritytest.Write(t, root, integritytest.Trail{
				Bucket: bucket, Account: account, Region: region, Name: "org_trail",
				First: first, Hours: 3, Logs: logContent, Key: signer,
			})
			if tc.mutate != nil {
				tc.mutate(t, l)
			}
			served := signer
			if tc.served != nil {
				served = tc.served
			}
			srv := integritytest.ServeKeys(t, first.Add(-24*time.Hour), first.Add(48*time.Hour), served)
			v := &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: keysClient(t, srv)}
			ctx := context.Background()
			for h, w := range tc.logs {
				got, err := v.Check(ctx, bucket, l.Logs[h])
				if err != nil {
					t.Fatalf("Check(%s): %v", l.Logs[h], err)
				}
				checkVerdict(t, got, w)
			}
			for key, w := range tc.extra {
				got, err := v.Check(ctx, bucket, key)
				if err != nil {
					t.Fatalf("Check(%s): %v", key, err)
				}
				checkVerdict(t, got, w)
			}
			checkFailures(t, v.Failures(), tc.failures)
			if calls := srv.Calls(); len(calls) == 0 || !strings.HasPrefix(calls[0], "CloudTrail_20131101.ListPublicKeys {") ||
				!strings.Contains(calls[0], `"StartTime":`) || !strings.Contains(calls[0], `"EndTime":`) {
				t.Errorf("ListPublicKeys calls = %q, want one with StartTime and EndTime", calls)
			}
		})
	}
}

const (
	forged = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1130Z_Forged.json.gz"
	late   = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T1240Z_Late.json.gz"
)

func checkVerdict(t *testing.T, got integrity.Verdict, w want) {
	t.Helper()
	if got.Status != w.status || !strings.Contains(got.Reason, w.reason) {
		t.Errorf("%s: got %s (%s), want %s (reason containing %q)", got.Key, got.Status, got.Reason, w.status, w.reason)
	}
}

func checkFailures(t *testing.T, got []integrity.Failure, want []wantFailure) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("failures = %v, want %d: %v", got, len(want), want)
		return
	}
	slices.SortFunc(want, func(a, b wantFailure) int { return strings.Compare(a.object, b.object) })
	sorted := slices.Clone(got)
	slices.SortFunc(sorted, func(a, b integrity.Failure) int { return strings.Compare(a.Object, b.Object) })
	for i, f := range sorted {
		w := want[i]
		if f.Kind != w.kind || !strings.HasSuffix(f.Object, w.object) || !strings.Contains(f.Reason, w.reason) || f.Trail != trailARN {
			t.Errorf("failure %d = %+v, want kind %s, object ending %s, reason containing %q, trail %s", i, f, w.kind, w.object, w.reason, trailARN)
		}
	}
}

func remove(t *testing.T, name string) {
	t.Helper()
	if err := os.Remove(name); err != nil {
		t.Fatal(err)
	}
}

type failingLister struct{}

func (failingLister) ListPublicKeys(context.Context, *cloudtrail.ListPublicKeysInput, ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error) {
	return nil, errors.New("AccessDeniedException: not authorized to perform cloudtrail:ListPublicKeys")
}

// TestValidatorKeysUnavailable: when ListPublicKeys fails, nothing is
// proven and nothing is called a failure of the trail.
func TestValidatorKeysUnavailable(t *testing.T) {
	root := t.TempDir()
	l := integritytest.Write(t, root, integritytest.Trail{
		Bucket: bucket, Account: account, Region: region, Name: "org_trail",
		First: first, Hours: 3, Logs: logContent, Key: integritytest.NewKey(t, "signer"),
	})
	v := &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: &integrity.PublicKeys{Client: failingLister{}}}
	got, err := v.Check(context.Background(), bucket, l.Logs[0])
	if err == nil || !strings.Contains(err.Error(), "list CloudTrail public keys in us-east-1: AccessDeniedException") {
		t.Errorf("Check error %v, want the ListPublicKeys error", err)
	}
	if got.Status != integrity.Unvalidated || !strings.Contains(got.Reason, "whose validation could not run: list CloudTrail public keys") {
		t.Errorf("verdict %s: %s", got.Status, got.Reason)
	}
	if fs := v.Failures(); len(fs) != 0 {
		t.Errorf("failures %v, want none", fs)
	}
}
