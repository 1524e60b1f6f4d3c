package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// The records come from the sample events, whose shapes are the documented
// ones (each sample cites its page): CreateKey
// (https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html),
// EnableKeyRotation
// (https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html),
// ScheduleKeyDeletion
// (https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html).
// A test moves a record's eventTime to tell a story in seconds.

// sample reads a sample EventBridge event, its eventTime set to at when at
// is not zero.
func sample(t *testing.T, name string, at time.Time) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("../../events", name))
	if err != nil {
		t.Fatal(err)
	}
	if at.IsZero() {
		return raw
	}
	var ev map[string]any
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	ts := at.UTC().Format(time.RFC3339)
	ev["time"] = ts
	ev["detail"].(map[string]any)["eventTime"] = ts
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// holder is a Settler that keeps what it is handed.
type holder struct{ held []Held }

func (h *holder) Hold(_ context.Context, x Held) error {
	h.held = append(h.held, x)
	return nil
}

func settleHarness(t *testing.T, settler Settler, sinks ...FindingSink) *Harness {
	t.Helper()
	return settleHarnessOn(t, state.NewMemory(), settler, sinks...)
}

// settleHarnessOn is settleHarness on a given store.
func settleHarnessOn(t *testing.T, store *state.Memory, settler Settler, sinks ...FindingSink) *Harness {
	t.Helper()
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{
		Pipeline: pipeline.Options{Store: store, Engine: engine, Config: config.Default()},
		Sinks:    sinks, Settler: settler,
		MetricsOptions: metrics.Options{Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func feed(t *testing.T, run *Run, payloads ...[]byte) {
	t.Helper()
	for i, p := range payloads {
		if _, err := run.Input(context.Background(), "event", bytes.NewReader(p)); err != nil {
			t.Fatalf("input %d: %v", i, err)
		}
	}
}

func summary(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+" "+string(f.Status)+" after "+f.EventName)
	}
	return out
}

var created = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// TestSettleWindowFixedInTime: a CreateKey, then the EnableKeyRotation of
// the same deployment 30 s later, publishes nothing: the NON_COMPLIANT
// rotation verdict was held and fixed within the window.
func TestSettleWindowFixedInTime(t *testing.T) {
	bus := &sink{name: "bus"}
	h := settleHarness(t, nil, bus)
	run := h.Start(metrics.SourceEventBridge)
	feed(t, run,
		sample(t, "01-eventbridge-kms-createkey-symmetric.json", created),
		sample(t, "03-eventbridge-kms-enablekeyrotation.json", created.Add(30*time.Second)))
	run.Finish(context.Background())
	if len(bus.handed) != 0 {
		t.Errorf("published %q, want nothing", summary(bus.handed))
	}
	e, ok, err := h.Ledger().Get(context.Background(), "kms_key_rotation_enabled", keyARN)
	if err != nil || !ok || e.Status != finding.Compliant || len(e.Transitions) != 2 {
		t.Errorf("ledger entry %+v (%v, %v), want COMPLIANT after a held NON_COMPLIANT", e, ok, err)
	}
}

// TestSettleWindowEnds: a CreateKey alone is held; when the window ends the
// re-check finds the key still without rotation and publishes the one held
// finding: at Finish for a run that holds its own, from the Settler's
// delivery for a function.
func TestSettleWindowEnds(t *testing.T) {
	t.Run("the run re-checks at Finish", func(t *testing.T) {
		bus := &sink{name: "bus"}
		h := settleHarness(t, nil, bus)
		run := h.Start(metrics.SourceCLI)
		feed(t, run, sample(t, "01-eventbridge-kms-createkey-symmetric.json", created))
		run.Finish(context.Background())
		if got := summary(bus.handed); len(got) != 1 || got[0] != "kms_key_rotation_enabled NON_COMPLIANT after CreateKey" {
			t.Errorf("published %q, want the held rotation finding", got)
		}
	})
	t.Run("a settler delivers it back", func(t *testing.T) {
		bus := &sink{name: "bus"}
		settler := &holder{}
		h := settleHarness(t, settler, bus)
		run := h.Start(metrics.SourceEventBridge)
		feed(t, run, sample(t, "01-eventbridge-kms-createkey-symmetric.json", created))
		run.Finish(context.Background())
		if len(bus.handed) != 0 || len(settler.held) != 1 {
			t.Fatalf("published %q and held %d, want nothing published and one held", summary(bus.handed), len(settler.held))
		}
		held := settler.held[0]
		if held.Finding.Rule != "kms_key_rotation_enabled" || !held.Due.Equal(created.Add(300*time.Second)) {
			t.Errorf("held %s due %v, want kms_key_rotation_enabled due 300 s after the CreateKey", held.Finding.Rule, held.Due)
		}
		body, err := json.Marshal(held)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseHeld(body)
		if err != nil {
			t.Fatal(err)
		}
		recheck := h.Start(metrics.SourceEventBridge)
		if err := recheck.Recheck(context.Background(), back); err != nil {
			t.Fatal(err)
		}
		recheck.Finish(context.Background())
		if got := summary(bus.handed); len(got) != 1 || got[0] != "kms_key_rotation_enabled NON_COMPLIANT after CreateKey" {
			t.Errorf("after the window: published %q, want the held rotation finding", got)
		}
	})
	t.Run("fixed before the re-check", func(t *testing.T) {
		bus := &sink{name: "bus"}
		settler := &holder{}
		h := settleHarness(t, settler, bus)
		run := h.Start(metrics.SourceEventBridge)
		feed(t, run, sample(t, "01-eventbridge-kms-createkey-symmetric.json", created),
			sample(t, "03-eventbridge-kms-enablekeyrotation.json", created.Add(299*time.Second)))
		run.Finish(context.Background())
		recheck := h.Start(metrics.SourceEventBridge)
		if err := recheck.Recheck(context.Background(), settler.held[0]); err != nil {
			t.Fatal(err)
		}
		recheck.Finish(context.Background())
		if len(bus.handed) != 0 {
			t.Errorf("published %q, want nothing", summary(bus.handed))
		}
	})
}

// TestBreakingEventsAreNeverHeld: a ScheduleKeyDeletion of a key that
// protects a file system breaks something that worked: its NON_COMPLIANT
// verdict is published at once, settle window or not.
func TestBreakingEventsAreNeverHeld(t *testing.T) {
	bus := &sink{name: "bus"}
	settler := &holder{}
	h := settleHarness(t, settler, bus)
	setup := h.Start(metrics.SourceEventBridge)
	feed(t, setup,
		sample(t, "01-eventbridge-kms-createkey-symmetric.json", time.Time{}),
		sample(t, "03-eventbridge-kms-enablekeyrotation.json", time.Time{}),
		sample(t, "04-eventbridge-efs-createfilesystem-cmk.json", time.Time{}),
		sample(t, "05-eventbridge-kms-creategrant-efs.json", time.Time{}))
	setup.Finish(context.Background())
	bus.handed, settler.held = nil, nil

	run := h.Start(metrics.SourceEventBridge)
	feed(t, run, sample(t, "12-eventbridge-kms-schedulekeydeletion.json", time.Time{}))
	run.Finish(context.Background())
	if len(settler.held) != 0 {
		t.Errorf("held %d findings after ScheduleKeyDeletion, want none", len(settler.held))
	}
	found := false
	for _, f := range bus.handed {
		if f.Rule == "efs_kms_key_available" && f.Status == finding.NonCompliant && f.EventName == "ScheduleKeyDeletion" {
			found = true
		}
	}
	if !found {
		t.Errorf("published %q, want efs_kms_key_available NON_COMPLIANT after ScheduleKeyDeletion", summary(bus.handed))
	}
}

// keyVariant is a sample KMS event about another key: key n, with event
// ids of its own.
func keyVariant(raw []byte, n int) []byte {
	for _, ids := range [][2]string{
		{"1234abcd-12ab-34cd-56ef-1234567890ab", fmt.Sprintf("1234abcd-12ab-34cd-56ef-%012d", n)},
		{"5eed0000-", fmt.Sprintf("5eed%04d-", n)},
		{"eb000000-", fmt.Sprintf("eb00%04d-", n)},
	} {
		raw = bytes.ReplaceAll(raw, []byte(ids[0]), []byte(ids[1]))
	}
	return raw
}

// TestFinishDecidesHoldsAsRecheckDoes: three keys are created without
// rotation, and each NON_COMPLIANT rotation verdict is held. Key 1 stays
// so. Key 2 has rotation turned on in the store alone, as a change no
// event showed the ledger. Key 3 has it turned on by an event within the
// window. A run that keeps its holds decides the three together at Finish;
// a settler's deliveries are decided one by one with Recheck. Both publish
// key 1's finding alone and leave the same ledger: key 2 COMPLIANT by the
// re-check, key 3 by its event.
func TestFinishDecidesHoldsAsRecheckDoes(t *testing.T) {
	ctx := context.Background()
	arn := func(n int) string {
		return fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-%012d", n)
	}
	createKey := sample(t, "01-eventbridge-kms-createkey-symmetric.json", created)
	rotate := sample(t, "03-eventbridge-kms-enablekeyrotation.json", created.Add(30*time.Second))
	setUp := func(settler Settler) (*Harness, *Run, *sink) {
		store := state.NewMemory()
		bus := &sink{name: "bus"}
		h := settleHarnessOn(t, store, settler, bus)
		run := h.Start(metrics.SourceCLI)
		feed(t, run, keyVariant(createKey, 1), keyVariant(createKey, 2), keyVariant(createKey, 3), keyVariant(rotate, 3))
		var d cloudtrail.Decoder
		if _, err := d.Decode(ctx, "store only", bytes.NewReader(keyVariant(rotate, 2)), func(rec *cloudtrail.Record, _ cloudtrail.Shape) error {
			_, err := store.Apply(ctx, rec)
			return err
		}, func(e *cloudtrail.DecodeError) { t.Fatal(e) }); err != nil {
			t.Fatal(err)
		}
		return h, run, bus
	}
	ledgerOf := func(h *Harness) []string {
		var out []string
		for n := 1; n <= 3; n++ {
			e, ok, err := h.Ledger().Get(ctx, "kms_key_rotation_enabled", arn(n))
			if err != nil || !ok {
				t.Fatalf("key %d: ledger entry %v, %v", n, ok, err)
			}
			var path []string
			for _, tr := range e.Transitions {
				path = append(path, string(tr.To))
			}
			out = append(out, fmt.Sprintf("key %d %s %v", n, e.Status, path))
		}
		return out
	}
	wantPublished := []string{"kms_key_rotation_enabled NON_COMPLIANT after CreateKey " + arn(1)}
	wantLedger := []string{
		"key 1 NON_COMPLIANT [NON_COMPLIANT]",
		"key 2 COMPLIANT [NON_COMPLIANT COMPLIANT]",
		"key 3 COMPLIANT [NON_COMPLIANT COMPLIANT]",
	}
	published := func(fs []finding.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Rule+" "+string(f.Status)+" after "+f.EventName+" "+f.Resource)
		}
		return out
	}

	together, run, bus := setUp(nil)
	run.Finish(ctx)
	if got := published(bus.handed); !slices.Equal(got, wantPublished) {
		t.Errorf("decided together: published %q, want %q", got, wantPublished)
	}
	if got := ledgerOf(together); !slices.Equal(got, wantLedger) {
		t.Errorf("decided together: ledger %q, want %q", got, wantLedger)
	}

	settler := &holder{}
	alone, run, bus := setUp(settler)
	run.Finish(ctx)
	if len(settler.held) != 3 || len(bus.handed) != 0 {
		t.Fatalf("held %d and published %q, want 3 held and nothing published", len(settler.held), published(bus.handed))
	}
	recheck := alone.Start(metrics.SourceEventBridge)
	for _, h := range settler.held {
		if err := recheck.Recheck(ctx, h); err != nil {
			t.Fatal(err)
		}
	}
	recheck.Finish(ctx)
	if got := published(bus.handed); !slices.Equal(got, wantPublished) {
		t.Errorf("decided one by one: published %q, want %q", got, wantPublished)
	}
	if got := ledgerOf(alone); !slices.Equal(got, wantLedger) {
		t.Errorf("decided one by one: ledger %q, want %q", got, wantLedger)
	}
}
