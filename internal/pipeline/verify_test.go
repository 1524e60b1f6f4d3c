package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/envelope"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

type fakeVerifier struct {
	calls    []string // "verify <arn> <file systems>" / "invalidate <arn>"
	result   envelope.Result
	reported int
}

func (f *fakeVerifier) Verify(_ context.Context, keyARN string, fileSystems []string) envelope.Result {
	f.calls = append(f.calls, "verify "+keyARN+" "+strings.Join(fileSystems, ","))
	return f.result
}

func (f *fakeVerifier) Invalidate(keyARN string) { f.calls = append(f.calls, "invalidate "+keyARN) }

func TestKeyVerificationRunsOnBreakingEventsAndSweeps(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVerifier{result: envelope.Result{Performed: true, OK: false, Reason: "disabled", FailedStep: "encrypt",
		Detail: "DisabledException", AlgorithmSuite: "0x0478"}}
	store := state.NewMemory()
	p, err := New(Options{Store: store, Engine: e, Config: config.Default(), Verifier: v,
		OnVerify: func(envelope.Result) { v.reported++ }})
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
	v.calls, v.result = nil, envelope.Result{Performed: true, OK: true, AlgorithmSuite: "0x0478"}
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
