package pipeline

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/state"
)

// TestReverificationIsThrottledPerKey feeds events that can break a key
// (the records of pipeline_test.go) at times a fake clock sets: a key is
// verified again at most once a minute; an event within the minute gets no
// round trip and a finding that says why, never the stale result.
func TestReverificationIsThrottledPerKey(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	v := &fakeVerifier{result: keyverify.Result{Performed: true, OK: false, Reason: "disabled", FailedStep: "encrypt",
		Detail: "DisabledException", AlgorithmSuite: "0x0478"}}
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(), Verifier: v,
		Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		advance time.Duration
		recs    []map[string]any
		calls   []string
		status  finding.Status
		reason  string
	}{
		{
			name: "first breaking event is verified", recs: []map[string]any{createKey, createFS, keyEvent("d1", 3, "DisableKey")},
			calls:  []string{"invalidate " + keyARN, "verify " + keyARN + " " + fsARN},
			status: finding.NonCompliant,
			reason: "envelope round trip failed at step encrypt: disabled (DisabledException); the key protects " + fsID,
		},
		{
			name: "a second one 30 s later is throttled", advance: 30 * time.Second, recs: []map[string]any{keyEvent("e1", 4, "EnableKey")},
			status: finding.NotApplicable,
			reason: "the envelope round trip could not be completed: throttled (re-verification after EnableKey throttled: the key was re-verified after an event 30s ago, at most once every 1m0s)",
		},
		{
			name: "so is a third within the minute", advance: 29 * time.Second, recs: []map[string]any{keyEvent("d1b", 5, "DisableKey")},
			status: finding.NotApplicable,
			reason: "the envelope round trip could not be completed: throttled (re-verification after DisableKey throttled: the key was re-verified after an event 59s ago, at most once every 1m0s)",
		},
		{
			name: "a minute after the first, the key is verified again", advance: time.Second, recs: []map[string]any{keyEvent("d2", 6, "DisableKey")},
			calls:  []string{"invalidate " + keyARN, "verify " + keyARN + " " + fsARN},
			status: finding.NonCompliant,
			reason: "envelope round trip failed at step encrypt: disabled (DisabledException); the key protects " + fsID,
		},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			now = now.Add(st.advance)
			v.calls = nil
			var got collected
			if _, err := p.ProcessInput(context.Background(), "x.json", strings.NewReader(logFile(t, st.recs...)), got.emit); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(v.calls, st.calls) {
				t.Errorf("verifier calls %q, want %q", v.calls, st.calls)
			}
			f := got.last(t, "efs_kms_key_verified")
			if f.Status != st.status || f.Reason != st.reason {
				t.Errorf("finding %s %q\nwant %s %q", f.Status, f.Reason, st.status, st.reason)
			}
		})
	}

	// A sweep is never throttled.
	v.calls = nil
	if _, err := p.EvaluateResource(context.Background(), state.ResourceRef{Type: state.TypeKey, ARN: keyARN}, "sweep"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"verify " + keyARN + " " + fsARN}; !slices.Equal(v.calls, want) {
		t.Errorf("sweep verifier calls %q, want %q", v.calls, want)
	}
}
