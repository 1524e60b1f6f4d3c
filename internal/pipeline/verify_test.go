package pipeline

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/state"
)

type fakeVerifier struct {
	calls    []string // "verify <arn> <file systems>" / "invalidate <arn>"
	result   keyverify.Result
	reported int
}

func (f *fakeVerifier) Verify(_ context.Context, keyARN string, fileSystems []string) keyverify.Result {
	f.calls = append(f.calls, "verify "+keyARN+" "+strings.Join(fileSystems, ","))
	return f.result
}

func (f *fakeVerifier) Invalidate(keyARN string) { f.calls = append(f.calls, "invalidate "+keyARN) }

func TestKeyVerificationRunsOnBreakingEventsAndSweeps(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVerifier{result: keyverify.Result{Performed: true, OK: false, Reason: "disabled", FailedStep: "encrypt",
		Detail: "DisabledException", AlgorithmSuite: "0x0478"}}
	store := state.NewMemory()
	p, err := New(Options{Store: store, Engine: e, Config: config.Default(), Verifier: v,
		OnVerify: func(keyverify.Result) { v.reported++ }})
	if err != nil {
		t.Fatal(err)
	}
	rotation := keyEvent("rot", 2, "EnableKeyRotation")
	var got collected
	if _, err := p.ProcessInput(context.Background(), "x.json",
		strings.NewReader(logFile(t, createKey, createFS, rotation, keyEvent("d", 3, "DisableKey"))), got.emit); err != nil {
		t.Fatal(err)
	}
	// CreateKey protects nothing yet; CreateFileSystem and EnableKeyRotation
	// cannot break the key; DisableKey can.
	want := []string{"invalidate " + keyARN, "verify " + keyARN + " " + fsARN}
	if !slices.Equal(v.calls, want) || v.reported != 1 {
		t.Fatalf("verifier calls = %q (%d reported), want %q", v.calls, v.reported, want)
	}
	f := got.last(t, "efs_kms_key_verified")
	if f.Status != finding.NonCompliant || f.EventName != cloudtrail.EventDisableKey ||
		f.Reason != "envelope round trip failed at step encrypt: disabled (DisabledException); the key protects "+fsID {
		t.Errorf("finding = %s %q after %s", f.Status, f.Reason, f.EventName)
	}
	for _, f := range got {
		if f.Rule == "efs_kms_key_verified" && f.EventName != cloudtrail.EventDisableKey && f.Status != finding.NotApplicable {
			t.Errorf("%s: verification finding %s without a round trip", f.EventName, f.Status)
		}
	}

	// A sweep verifies without invalidating; a passing round trip is compliant.
	v.calls, v.result = nil, keyverify.Result{Performed: true, OK: true, AlgorithmSuite: "0x0478"}
	fs, err := p.EvaluateResource(context.Background(), state.ResourceRef{Type: state.TypeKey, ARN: keyARN}, "sweep")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"verify " + keyARN + " " + fsARN}; !slices.Equal(v.calls, want) {
		t.Errorf("sweep verifier calls = %q, want %q", v.calls, want)
	}
	for _, f := range fs {
		if f.Rule == "efs_kms_key_verified" && f.Status != finding.Compliant {
			t.Errorf("sweep verification finding = %s %q", f.Status, f.Reason)
		}
	}
}

// TestVerifyKey: a scheduled verification drops the cached result, verifies
// the key for the file systems the caller found, reads nothing from the
// store (the key need not be in it), and returns the verdict of the rules
// that judge a round trip, decided in Rego.
func TestVerifyKey(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		result     keyverify.Result
		wantStatus finding.Status
		wantReason string
	}{
		{name: "round trip succeeded", result: keyverify.Result{Performed: true, OK: true, AlgorithmSuite: "0x0478"},
			wantStatus: finding.Compliant, wantReason: "envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite 0x0478, Decrypt; the key protects " + fsID},
		{name: "key not found", result: keyverify.Result{Performed: true, Reason: "not_found", FailedStep: "describe", Detail: "NotFoundException"},
			wantStatus: finding.NonCompliant, wantReason: "envelope round trip failed at step describe: not_found (NotFoundException); the key protects " + fsID},
		{name: "throttled, not performed", result: keyverify.Result{Reason: "throttled", Detail: "ThrottlingException"},
			wantStatus: finding.NotApplicable, wantReason: "the envelope round trip could not be completed: throttled (ThrottlingException)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := &fakeVerifier{result: tt.result}
			var reported []keyverify.Result
			p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(), Verifier: v,
				OnVerify: func(r keyverify.Result) { reported = append(reported, r) }})
			if err != nil {
				t.Fatal(err)
			}
			fs, err := p.VerifyKey(context.Background(), keyARN, []string{fsARN}, "verify")
			if err != nil {
				t.Fatal(err)
			}
			if want := []string{"invalidate " + keyARN, "verify " + keyARN + " " + fsARN}; !slices.Equal(v.calls, want) {
				t.Errorf("verifier calls = %q, want %q", v.calls, want)
			}
			if len(reported) != 1 {
				t.Errorf("%d outcomes reported, want 1", len(reported))
			}
			if len(fs) != 1 {
				t.Fatalf("findings = %+v, want one of efs_kms_key_verified", fs)
			}
			f := fs[0]
			if f.Rule != "efs_kms_key_verified" || f.Status != tt.wantStatus || f.Reason != tt.wantReason ||
				f.Resource != keyARN || !slices.Equal(f.FileSystems, []string{fsARN}) || f.Source != "verify" {
				t.Errorf("finding = %s %s %q on %s %v from %s; want %s %q", f.Rule, f.Status, f.Reason, f.Resource, f.FileSystems, f.Source, tt.wantStatus, tt.wantReason)
			}
		})
	}
	p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.VerifyKey(context.Background(), keyARN, nil, "verify"); !errors.Is(err, ErrNoVerifier) {
		t.Errorf("without a verifier: %v, want ErrNoVerifier", err)
	}
}
