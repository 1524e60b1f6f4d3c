package pipeline

import (
	"bytes"
	"context"
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// TestStartedEngineJudgesAsNew runs the triggers' corpus (every sample
// event, the decoder's and the state model's fixtures, generated logs)
// through a pipeline whose engine comes from policy.Start, built before
// the rules are compiled, as the CLI builds it, and through one whose
// engine comes from policy.New: the reports and the findings are the same,
// one for one, for ProcessInput and for ProcessRecords.
func TestStartedEngineJudgesAsNew(t *testing.T) {
	inputs := triggerCorpus(t)
	names := slices.Sorted(maps.Keys(inputs))
	run := func(start func(context.Context) (*policy.Engine, error)) ([]finding.Finding, []Report) {
		e, err := start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(),
			Decoder: &cloudtrail.Decoder{Opener: cloudtrail.DirOpener{Root: "../../events/s3"}}})
		if err != nil {
			t.Fatal(err)
		}
		var (
			out  []finding.Finding
			reps []Report
		)
		emit := func(f finding.Finding) error { out = append(out, f); return nil }
		for _, n := range names {
			rep, err := p.ProcessInput(context.Background(), n, bytes.NewReader(inputs[n]), emit)
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			reps = append(reps, rep)
		}
		// The same records again, decoded, through ProcessRecords on a
		// pipeline of a second engine.
		e, err = start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if p, err = New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default()}); err != nil {
			t.Fatal(err)
		}
		var recs []*cloudtrail.Record
		for _, n := range names {
			if _, err := (&cloudtrail.Decoder{Opener: cloudtrail.DirOpener{Root: "../../events/s3"}}).Decode(context.Background(), n,
				bytes.NewReader(inputs[n]), func(r *cloudtrail.Record, _ cloudtrail.Shape) error { recs = append(recs, r); return nil }, nil); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
		}
		rep, err := p.ProcessRecords(context.Background(), recs, "backfill", emit)
		if err != nil {
			t.Fatal(err)
		}
		return out, append(reps, rep)
	}
	want, wantReps := run(policy.New)
	got, gotReps := run(policy.Start)
	if len(want) < 1000 {
		t.Fatalf("%d findings: the test would prove little", len(want))
	}
	if !reflect.DeepEqual(gotReps, wantReps) {
		t.Errorf("reports with policy.Start differ from policy.New's")
	}
	if len(got) != len(want) {
		t.Fatalf("with policy.Start %d findings, with policy.New %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("finding %d with policy.Start is\n%+v\nwith policy.New\n%+v", i, got[i], want[i])
		}
	}
}
