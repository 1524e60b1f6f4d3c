package monitor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

const (
	keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	fsARN  = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210"
)

// recorder is a metrics sink that keeps every batch.
type recorder struct{ batches []metrics.Batch }

func (r *recorder) Publish(_ context.Context, b metrics.Batch) error {
	r.batches = append(r.batches, b)
	return nil
}

// value returns the one value of a datum, and whether it was published.
func (r *recorder) value(name string, dims ...metrics.Dimension) (float64, bool) {
	for _, b := range r.batches {
		for _, d := range b.Datums {
			if d.Name == name && slices.Equal(d.Dimensions, dims) {
				return d.Values[0], true
			}
		}
	}
	return 0, false
}

// sink records what it was handed and fails when told to.
type sink struct {
	name   string
	err    error
	handed []finding.Finding
}

func (s *sink) Name() string { return s.name }

func (s *sink) PublishFindings(_ context.Context, fs []finding.Finding) (int, error) {
	s.handed = append(s.handed, fs...)
	if s.err != nil {
		return 0, s.err
	}
	return len(fs), nil
}

// sweeper returns fixed refs, or fails.
type sweeper struct {
	refs []state.ResourceRef
	err  error
}

func (s sweeper) Sweep(context.Context, []string) (*inventory.SweepResult, error) {
	if s.err != nil {
		return nil, s.err
	}
	return &inventory.SweepResult{Refs: s.refs}, nil
}

func newHarness(t *testing.T, rec *recorder, sinks ...FindingSink) (*Harness, *[]finding.Finding) {
	t.Helper()
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var seen []finding.Finding
	h, err := New(Options{
		Pipeline: pipeline.Options{Store: state.NewMemory(), Engine: engine, Config: config.Default()},
		Metrics:  rec, Sinks: sinks,
		MetricsOptions: metrics.Options{Now: func() time.Time { return time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC) }},
		OnFinding: func(_ context.Context, f finding.Finding) error {
			seen = append(seen, f)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return h, &seen
}

// input runs sample events through a run.
func input(t *testing.T, run *Run, names ...string) {
	t.Helper()
	for _, n := range names {
		fh, err := os.Open(filepath.Join("../../events", n))
		if err != nil {
			t.Fatal(err)
		}
		_, err = run.Input(context.Background(), n, fh)
		fh.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestSweepGauges: a sweep gauges every rule of a swept resource type, zero
// included, except the rule that needs a key verifier when there is none,
// and counts each resource judged.
func TestSweepGauges(t *testing.T) {
	rec := &recorder{}
	h, seen := newHarness(t, rec)
	input(t, h.Start(metrics.SourceCLI), "01-eventbridge-kms-createkey-symmetric.json", "06-eventbridge-efs-createfilesystem-unencrypted.json")
	*seen = nil
	run := h.Start(metrics.SourceSweep)
	res, err := run.Sweep(context.Background(), sweeper{refs: []state.ResourceRef{
		{Type: state.TypeFileSystem, ARN: fsARN}, {Type: state.TypeKey, ARN: keyARN},
	}}, []string{"us-east-1"})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("sweep: %v %v", err, res.Errors)
	}
	run.Finish(context.Background())
	if len(*seen) == 0 || run.Findings() != len(*seen) {
		t.Fatalf("%d findings handed to the driver, run counted %d", len(*seen), run.Findings())
	}
	gauge := func(rule string) (float64, bool) {
		return rec.value(metrics.MetricNonCompliantResources, metrics.Dimension{Name: metrics.DimRule, Value: rule})
	}
	for rule, want := range map[string]float64{
		"efs_encrypted_at_rest":              1, // created with encrypted=false
		"kms_key_rotation_enabled":           1, // created, rotation never enabled
		"efs_kms_key_symmetric":              0,
		"cloudtrail_monitoring_intact":       0, // no trail swept: zero, so its alarm returns to OK
		"efs_encryption_in_transit_enforced": 1,
	} {
		if got, ok := gauge(rule); !ok || got != want {
			t.Errorf("NonCompliantResources{%s} = %v (published %v), want %v", rule, got, ok, want)
		}
	}
	if got, ok := gauge("efs_kms_key_verified"); ok {
		t.Errorf("NonCompliantResources{efs_kms_key_verified} = %v published without a key verifier", got)
	}
	if got, _ := rec.value(metrics.MetricEventsProcessed, metrics.Dimension{Name: metrics.DimSource, Value: metrics.SourceSweep}); got != 2 {
		t.Errorf("EventsProcessed{sweep} = %v, want 2", got)
	}
}

// TestSweepFailed: an inventory that failed whole counts an evaluation
// error, returns the error and sets no gauge (a zero would claim a clear
// state no one saw).
func TestSweepFailed(t *testing.T) {
	rec := &recorder{}
	h, _ := newHarness(t, rec)
	run := h.Start(metrics.SourceSweep)
	denied := errors.New("AccessDeniedException")
	if _, err := run.Sweep(context.Background(), sweeper{err: denied}, []string{"us-east-1"}); !errors.Is(err, denied) {
		t.Fatalf("sweep error = %v, want %v", err, denied)
	}
	run.Finish(context.Background())
	if got, _ := rec.value(metrics.MetricEvaluationErrors, metrics.Dimension{Name: metrics.DimSource, Value: metrics.SourceSweep}); got != 1 {
		t.Errorf("EvaluationErrors = %v, want 1", got)
	}
	for _, b := range rec.batches {
		for _, d := range b.Datums {
			if d.Name == metrics.MetricNonCompliantResources {
				t.Errorf("gauge %v published after a failed sweep", d.Dimensions)
			}
		}
	}
}

// TestFinishDeliversToEverySink: every sink gets the run's findings once; a
// sink that fails is reported and does not keep the next from delivering;
// a run without findings calls no sink.
func TestFinishDeliversToEverySink(t *testing.T) {
	failing := &sink{name: "failing", err: errors.New("PutEvents: AccessDenied")}
	working := &sink{name: "working"}
	rec := &recorder{}
	h, seen := newHarness(t, rec, failing, working)
	run := h.Start(metrics.SourceEventBridge)
	input(t, run, "06-eventbridge-efs-createfilesystem-unencrypted.json")
	sum := run.Finish(context.Background())
	if len(*seen) == 0 || len(working.handed) != len(*seen) || len(failing.handed) != len(*seen) {
		t.Fatalf("driver saw %d findings; sinks were handed %d and %d", len(*seen), len(failing.handed), len(working.handed))
	}
	want := []SinkResult{{Sink: "failing", Err: failing.err}, {Sink: "working", Delivered: len(*seen)}}
	if !slices.Equal(sum.Sinks, want) {
		t.Errorf("summary %+v, want %+v", sum.Sinks, want)
	}
	if err := sum.Err(); err == nil || err.Error() != "failing: PutEvents: AccessDenied" {
		t.Errorf("Summary.Err() = %v", err)
	}
	if len(rec.batches) != 1 {
		t.Errorf("%d metric batches, want 1", len(rec.batches))
	}

	empty := h.Start(metrics.SourceEventBridge)
	if sum := empty.Finish(context.Background()); len(sum.Sinks) != 0 || len(working.handed) != len(*seen) {
		t.Errorf("a run without findings called the sinks: %+v", sum.Sinks)
	}
}
