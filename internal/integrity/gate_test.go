package integrity_test

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/integrity/integritytest"
)

func TestGate(t *testing.T) {
	signer := integritytest.NewKey(t, "signer")
	tests := []struct {
		name    string
		require bool
		mutate  func(t *testing.T, l *integritytest.Layout)
		log     int
		wantErr string // "" when the file is read
		failure string // the one failure taken, "" when none
	}{
		{name: "intact, required: read", require: true, log: 0},
		{
			name: "altered, required: refused", require: true, log: 1,
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path(l.Logs[1]), integritytest.Gzip(t, []byte(`{"Records":[]}`)))
			},
			wantErr: "not judged: integrity required: altered: SHA-256 of its uncompressed content is",
			failure: "altered (its hash does not match its digest)",
		},
		{
			name: "altered, validated only: read", log: 1,
			mutate: func(t *testing.T, l *integritytest.Layout) {
				integritytest.WriteFile(t, l.Path(l.Logs[1]), integritytest.Gzip(t, []byte(`{"Records":[]}`)))
			},
			failure: "altered (its hash does not match its digest)",
		},
		{
			name: "the newest hour without a signature, required: refused", require: true, log: 2,
			mutate: func(t *testing.T, l *integritytest.Layout) {
				remove(t, l.Path(l.Digests[2])+".metadata")
			},
			wantErr: "not judged: integrity required: unvalidated: listed by digest",
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
			var verdicts []integrity.Verdict
			g := &integrity.Gate{
				Next:      cloudtrail.DirOpener{Root: root},
				Validator: &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: integrity.StaticKeys{signer.Fingerprint: &signer.Private.PublicKey}},
				Require:   tc.require,
				OnVerdict: func(v integrity.Verdict, err error) {
					if err != nil {
						t.Errorf("OnVerdict error %v", err)
					}
					verdicts = append(verdicts, v)
				},
			}
			body, err := g.Open(context.Background(), bucket, l.Logs[tc.log])
			if tc.wantErr != "" {
				if !errors.Is(err, integrity.ErrNotJudged) || !strings.Contains(err.Error(), tc.wantErr) || body != nil {
					t.Errorf("Open = %v, %v; want ErrNotJudged %q", body, err, tc.wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				b, _ := io.ReadAll(body)
				body.Close()
				if len(b) == 0 {
					t.Error("empty body")
				}
			}
			if len(verdicts) != 1 || verdicts[0].Key != l.Logs[tc.log] {
				t.Errorf("verdicts %v, want one for %s", verdicts, l.Logs[tc.log])
			}
			taken := g.TakeFailures()
			switch {
			case tc.failure == "" && len(taken) != 0:
				t.Errorf("failures %v, want none", taken)
			case tc.failure != "" && (len(taken) != 1 || !strings.Contains(taken[0].Summary(), tc.failure)):
				t.Errorf("failures %v, want one: %s", taken, tc.failure)
			}
			if again := g.TakeFailures(); len(again) != 0 {
				t.Errorf("failures taken twice: %v", again)
			}
		})
	}
}

// TestGateTTL: a long-lived gate sees a digest delivered after its first
// look once its TTL has passed.
func TestGateTTL(t *testing.T) {
	signer := integritytest.NewKey(t, "signer")
	root := t.TempDir()
	l := integritytest.Write(t, root, integritytest.Trail{
		Bucket: bucket, Account: account, Region: region, Name: "org_trail",
		First: first, Hours: 3, Logs: logContent, Key: signer,
	})
	newest := l.Path(l.Digests[2])
	saved, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	remove(t, newest) // not delivered yet
	clock := first.Add(3 * time.Hour)
	g := &integrity.Gate{
		Now:       func() time.Time { return clock },
		Next:      cloudtrail.DirOpener{Root: root},
		Validator: &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: integrity.StaticKeys{signer.Fingerprint: &signer.Private.PublicKey}},
		Require:   true, TTL: 5 * time.Minute,
	}
	if _, err := g.Open(context.Background(), bucket, l.Logs[2]); !errors.Is(err, integrity.ErrNotJudged) {
		t.Fatalf("before the digest: %v, want ErrNotJudged", err)
	}
	integritytest.WriteFile(t, newest, saved)
	clock = clock.Add(time.Minute)
	if _, err := g.Open(context.Background(), bucket, l.Logs[2]); !errors.Is(err, integrity.ErrNotJudged) {
		t.Fatalf("within the TTL: %v, want the verdict reused", err)
	}
	clock = clock.Add(5 * time.Minute)
	body, err := g.Open(context.Background(), bucket, l.Logs[2])
	if err != nil {
		t.Fatalf("after the digest: %v", err)
	}
	body.Close()
}

// TestGateRehashesValidFiles: a log file found valid and then overwritten
// (its new ObjectCreated notification brings it back within the TTL) is
// hashed again, not passed on on the strength of the earlier verdict.
func TestGateRehashesValidFiles(t *testing.T) {
	signer := integritytest.NewKey(t, "signer")
	tests := []struct {
		name      string
		overwrite []byte // nil: the file is left as delivered
		wantErr   string // "" when the file is read again
	}{
		{name: "unchanged: read again"},
		{
			name:      "overwritten after validation: refused",
			overwrite: integritytest.Gzip(t, []byte(`{"Records":[]}`)),
			wantErr:   "not judged: integrity required: altered: SHA-256 of its uncompressed content is",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			l := integritytest.Write(t, root, integritytest.Trail{
				Bucket: bucket, Account: account, Region: region, Name: "org_trail",
				First: first, Hours: 3, Logs: logContent, Key: signer,
			})
			clock := first.Add(4 * time.Hour)
			g := &integrity.Gate{
				Now:       func() time.Time { return clock },
				Next:      cloudtrail.DirOpener{Root: root},
				Validator: &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: integrity.StaticKeys{signer.Fingerprint: &signer.Private.PublicKey}},
				Require:   true, TTL: 5 * time.Minute,
			}
			body, err := g.Open(context.Background(), bucket, l.Logs[1])
			if err != nil {
				t.Fatalf("first open: %v", err)
			}
			body.Close()
			if tc.overwrite != nil {
				integritytest.WriteFile(t, l.Path(l.Logs[1]), tc.overwrite)
			}
			clock = clock.Add(time.Minute) // within the TTL
			body, err = g.Open(context.Background(), bucket, l.Logs[1])
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("second open: %v", err)
				}
				body.Close()
				return
			}
			if !errors.Is(err, integrity.ErrNotJudged) || !strings.Contains(err.Error(), tc.wantErr) || body != nil {
				t.Fatalf("second open = %v, %v; want ErrNotJudged %q", body, err, tc.wantErr)
			}
			if taken := g.TakeFailures(); len(taken) != 1 || !strings.Contains(taken[0].Summary(), "altered") {
				t.Errorf("failures %v, want the file altered", taken)
			}
		})
	}
}

// swapOpener serves, for one key, other content than the object the
// validator's source holds: the object overwritten between a check of the
// original and the read that is judged.
type swapOpener struct {
	cloudtrail.Opener
	key     string
	swapped []byte
	opened  int
}

func (o *swapOpener) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	o.opened++
	if key == o.key {
		return io.NopCloser(strings.NewReader(string(o.swapped))), nil
	}
	return o.Opener.Open(ctx, bucket, key)
}

// TestGateJudgesTheBytesItValidated: with integrity required, the gate
// reads a log file once and hashes and hands on that one copy. An object
// swapped after the validator's own look at it is refused, not judged.
func TestGateJudgesTheBytesItValidated(t *testing.T) {
	signer := integritytest.NewKey(t, "signer")
	root := t.TempDir()
	l := integritytest.Write(t, root, integritytest.Trail{
		Bucket: bucket, Account: account, Region: region, Name: "org_trail",
		First: first, Hours: 3, Logs: logContent, Key: signer,
	})
	forged := integritytest.Gzip(t, []byte(`{"Records":[]}`))
	next := &swapOpener{Opener: cloudtrail.DirOpener{Root: root}, key: l.Logs[1], swapped: forged}
	g := &integrity.Gate{
		Next:      next,
		Validator: &integrity.Validator{Source: integrity.DirSource{Root: root}, Keys: integrity.StaticKeys{signer.Fingerprint: &signer.Private.PublicKey}},
		Require:   true,
	}
	body, err := g.Open(context.Background(), bucket, l.Logs[1])
	if !errors.Is(err, integrity.ErrNotJudged) || !strings.Contains(err.Error(), "altered") || body != nil {
		t.Fatalf("swapped object: Open = %v, %v; want ErrNotJudged, altered", body, err)
	}
	if next.opened != 1 {
		t.Errorf("object opened %d times, want once", next.opened)
	}
	// The intact file is handed on as the very bytes that were hashed.
	body, err = g.Open(context.Background(), bucket, l.Logs[0])
	if err != nil {
		t.Fatalf("intact object: %v", err)
	}
	got, _ := io.ReadAll(body)
	want, err := os.ReadFile(l.Path(l.Logs[0]))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("the gate handed on %d bytes, not the %d it validated", len(got), len(want))
	}

	// A gate with a small object bound refuses rather than buffer more.
	small := &integrity.Gate{Next: cloudtrail.DirOpener{Root: root}, Validator: g.Validator, Require: true, MaxObjectBytes: 16}
	if _, err := small.Open(context.Background(), bucket, l.Logs[0]); !errors.Is(err, integrity.ErrNotJudged) || !strings.Contains(err.Error(), "larger than 16 bytes") {
		t.Errorf("over the bound: %v, want ErrNotJudged naming the bound", err)
	}
}
