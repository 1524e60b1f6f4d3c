// Package monitor is the one harness every atrest driver runs through: the
// CLI's evaluate, sweep and backfill, and each Lambda function. It owns what
// happens around the pipeline: running inputs, sweeps and key verifications
// through it, counting metrics, handing every finding to the driver (which
// prints or logs it) and delivering the findings to the sinks (the findings
// bus, Security Hub) at the end of a run. A driver only builds the harness
// from its flags or environment and starts runs.
//
// The pipeline judges; the harness counts and delivers. So a record, a sweep
// or a key verification is counted the same way whichever driver saw it.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
)

// FindingSink delivers the findings of one run (the findings event bus,
// Security Hub). It batches and retries as its API requires, on top of the
// SDK's retryer, and returns how many findings it delivered.
type FindingSink interface {
	Name() string
	PublishFindings(ctx context.Context, fs []finding.Finding) (int, error)
}

// Options configure a Harness.
type Options struct {
	// Pipeline configures the pipeline the harness builds; its OnVerify is
	// the harness's own.
	Pipeline pipeline.Options
	// Log receives what a run did: bad input, sink and metrics failures,
	// a summary. Discarded when nil.
	Log *slog.Logger
	// Metrics receives one batch per run; metrics.Nop when nil.
	Metrics metrics.Sink
	// MetricsOptions configure each run's metrics (namespace, organization
	// dimension, clock); the run sets Source.
	MetricsOptions metrics.Options
	// Sinks are handed every run's findings when it finishes.
	Sinks []FindingSink
	// OnFinding is told of each finding as it is judged: the CLI prints it,
	// a function logs it (the default). An error stops the run's input.
	OnFinding func(ctx context.Context, f finding.Finding) error
	// Integrity, when set, gates every log file read; the failures it found
	// are judged after each input (cloudtrail_monitoring_intact).
	Integrity *integrity.Gate
	// Ledger keeps the status of every rule and resource and decides what
	// is news; a ledger.Memory of this process when nil.
	Ledger ledger.Store
	// Settler keeps held findings until the settle window
	// (Pipeline.Config.SettleSeconds) ends; when nil, a run re-checks its
	// held findings at Finish.
	Settler Settler
}

// Harness runs a driver's work through one pipeline. It runs one Run at a
// time: the pipeline applies records to its store in order.
type Harness struct {
	pipeline  *pipeline.Pipeline
	engine    *policy.Engine
	verifies  bool
	log       *slog.Logger
	metrics   metrics.Sink
	mopts     metrics.Options
	sinks     []FindingSink
	onFinding func(context.Context, finding.Finding) error
	gate      *integrity.Gate
	ledger    ledger.Store
	settler   Settler
	settle    time.Duration

	current *Run
}

// New builds the harness and its pipeline.
func New(o Options) (*Harness, error) {
	h := &Harness{
		engine: o.Pipeline.Engine, verifies: o.Pipeline.Verifier != nil,
		log: o.Log, metrics: o.Metrics, mopts: o.MetricsOptions, sinks: o.Sinks,
		onFinding: o.OnFinding, gate: o.Integrity,
		ledger: o.Ledger, settler: o.Settler, settle: time.Duration(o.Pipeline.Config.SettleSeconds) * time.Second,
	}
	if h.ledger == nil {
		now := o.MetricsOptions.Now
		if now == nil {
			now = time.Now
		}
		h.ledger = ledger.NewMemory(ledger.WithClock(now))
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.metrics == nil {
		h.metrics = metrics.Nop{}
	}
	if h.onFinding == nil {
		h.onFinding = func(ctx context.Context, f finding.Finding) error {
			h.log.InfoContext(ctx, "finding", slog.Any("finding", f))
			return nil
		}
	}
	popts := o.Pipeline
	if popts.Logger == nil {
		popts.Logger = h.log
	}
	popts.OnVerify = h.verified
	p, err := pipeline.New(popts)
	if err != nil {
		return nil, err
	}
	h.pipeline = p
	return h, nil
}

// Pipeline is the harness's pipeline.
func (h *Harness) Pipeline() *pipeline.Pipeline { return h.pipeline }

// Verifies reports whether the pipeline proves keys work (a key verifier).
func (h *Harness) Verifies() bool { return h.verifies }

// Ledger is the harness's ledger.
func (h *Harness) Ledger() ledger.Store { return h.ledger }

// Engine is the pipeline's rule engine.
func (h *Harness) Engine() *policy.Engine { return h.engine }

// Run is one invocation of a function or one CLI command: what it read and
// judged, its metrics, and the findings for the sinks.
type Run struct {
	h       *Harness
	source  string
	metrics *metrics.Invocation
	// judged counts every finding judged; publish holds the ones that are
	// news (the ledger's transitions) for the sinks, and holds the
	// NON_COMPLIANT transitions held for the settle window.
	judged  int
	publish []finding.Finding
	holds   []Held
	report  pipeline.Report
	// nonCompliant is set once a NON_COMPLIANT finding was judged;
	// changed once the ledger reported a transition; swept once the run
	// set the gauges from a sweep.
	nonCompliant, changed, swept bool
}

// Start begins a run whose records are counted under source (a metrics
// Source dimension value: eventbridge, cloudwatch_logs, s3, sweep, verify,
// cli).
func (h *Harness) Start(source string) *Run {
	opts := h.mopts
	opts.Source = source
	r := &Run{h: h, source: source, metrics: metrics.NewInvocation(opts)}
	h.current = r
	return r
}

// verified counts one key verification in the current run. A verification
// that could not be performed (throttled, a network error) is an evaluation
// that could not be completed.
func (h *Harness) verified(res keyverify.Result) {
	r := h.current
	if r == nil {
		return
	}
	outcome := "verified"
	if !res.OK {
		outcome = string(res.Reason)
	}
	r.metrics.AddVerification(outcome, res.Duration, res.Cached)
	if !res.Performed {
		r.metrics.Count(metrics.EvaluationErrors, r.source, 1)
	}
}

// emit hands a finding to the driver (every finding: the history), counts
// it, and lets the ledger decide whether it is news for the sinks.
func (r *Run) emit(ctx context.Context, f finding.Finding) error {
	if f.Status == finding.NonCompliant {
		r.nonCompliant = true
	}
	r.judged++
	r.metrics.AddFinding(f)
	if err := r.h.onFinding(ctx, f); err != nil {
		return err
	}
	return r.ledgerOutcome(ctx, f)
}

func (r *Run) emitter(ctx context.Context) pipeline.Emit {
	return func(f finding.Finding) error { return r.emit(ctx, f) }
}

// Input runs one input of any delivery shape through the pipeline, logging
// every decode error with its position and counting the report. The error
// is non-nil only when the context ends, a reader fails (an S3 object body
// broke off) or the driver's OnFinding failed.
func (r *Run) Input(ctx context.Context, name string, in io.Reader) (pipeline.Report, error) {
	rep, err := r.h.pipeline.ProcessInput(ctx, name, in, r.emitter(ctx))
	r.judgeGateFailures(ctx, &rep)
	r.add(ctx, rep)
	if err != nil {
		r.h.log.ErrorContext(ctx, "input not read to its end", "input", name, "error", err.Error())
	}
	return rep, err
}

// Records runs records already decoded (the event history of a backfill)
// through the pipeline.
func (r *Run) Records(ctx context.Context, recs []*cloudtrail.Record) (pipeline.Report, error) {
	rep, err := r.h.pipeline.ProcessRecords(ctx, recs, r.source, r.emitter(ctx))
	r.add(ctx, rep)
	return rep, err
}

// Restore applies records judged before (by an interrupted replay) to the
// store and their findings to the ledger, without handing them to the
// driver, counting them or publishing them again.
func (r *Run) Restore(ctx context.Context, recs []*cloudtrail.Record) error {
	_, err := r.h.pipeline.ProcessRecords(ctx, recs, r.source, func(f finding.Finding) error {
		_, err := r.h.ledger.Apply(ctx, f)
		return err
	})
	return err
}

// Integrity judges a trail whose log files failed integrity validation
// (cloudtrail_monitoring_intact).
func (r *Run) Integrity(ctx context.Context, trailARN string, failures []string) (pipeline.Report, error) {
	rep, err := r.h.pipeline.RecordIntegrity(ctx, trailARN, failures, r.source, r.emitter(ctx))
	r.add(ctx, rep)
	if err != nil {
		r.h.log.ErrorContext(ctx, "integrity failures not judged", "trail_arn", trailARN, "error", err.Error())
	}
	return rep, err
}

// judgeGateFailures judges each trail whose log files the gate refused
// while an input was read; their findings join the input's report.
func (r *Run) judgeGateFailures(ctx context.Context, rep *pipeline.Report) {
	if r.h.gate == nil {
		return
	}
	byTrail := integrity.ByTrail(r.h.gate.TakeFailures())
	for _, trail := range slices.Sorted(maps.Keys(byTrail)) {
		ir, err := r.h.pipeline.RecordIntegrity(ctx, trail, byTrail[trail], r.source, r.emitter(ctx))
		rep.Findings += ir.Findings
		rep.EvalErrors += ir.EvalErrors
		if err != nil {
			r.h.log.ErrorContext(ctx, "integrity failures not judged", "trail_arn", trail, "error", err.Error())
		}
	}
}

// add logs a report's bad input and counts it: records judged and skipped,
// failed calls, bad input (records that did not decode and records whose
// parameters could not be applied alike) and evaluations that failed.
func (r *Run) add(ctx context.Context, rep pipeline.Report) {
	for _, de := range rep.DecodeErrors {
		r.h.log.WarnContext(ctx, "bad input",
			"input", de.Input, "location", de.Location, "event_id", de.EventID,
			"kind", errorText(de.Kind), "error", errorText(de.Err))
	}
	for _, ae := range rep.ApplyErrors {
		r.h.log.WarnContext(ctx, "record not applied", "error", ae.Error())
	}
	for _, c := range rep.Conflicts {
		r.h.log.WarnContext(ctx, "conflicting records", "event_id", c.EventID, "detail", c.String())
	}
	r.metrics.Count(metrics.EventsProcessed, r.source, rep.Processed)
	r.metrics.Count(metrics.EventsSkipped, r.source, rep.Decode.Skipped)
	r.metrics.Count(metrics.FailedCalls, r.source, rep.Failed)
	r.metrics.Count(metrics.DecodeErrors, r.source, len(rep.DecodeErrors)+len(rep.ApplyErrors))
	r.metrics.Count(metrics.EvaluationErrors, r.source, rep.EvalErrors)
	r.report.Add(rep)
}

// Count adds n to a counter of the run: what a driver refused before the
// pipeline saw it (an SQS message that is no S3 notification).
func (r *Run) Count(c metrics.Counter, n int) { r.metrics.Count(c, r.source, n) }

// Ledger is the ledger the run's findings go to.
func (r *Run) Ledger() ledger.Store { return r.h.ledger }

// Report is what the run's inputs did so far.
func (r *Run) Report() pipeline.Report { return r.report }

// Findings is how many findings the run judged so far.
func (r *Run) Findings() int { return r.judged }

// Published is how many findings the run has for the sinks so far: the
// ledger's transitions that notify people.
func (r *Run) Published() int { return len(r.publish) }

// NonCompliant reports whether the run judged a NON_COMPLIANT finding.
func (r *Run) NonCompliant() bool { return r.nonCompliant }

// SinkResult is what one sink delivered at the end of a run.
type SinkResult struct {
	Sink      string
	Delivered int
	Err       error
}

// Summary is what Finish delivered.
type Summary struct {
	Sinks []SinkResult
	// MetricsErr is the metrics sink's failure, nil when the batch was
	// published.
	MetricsErr error
}

// Err joins every delivery failure.
func (s Summary) Err() error {
	errs := []error{s.MetricsErr}
	for _, r := range s.Sinks {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.Sink, r.Err))
		}
	}
	return errors.Join(errs...)
}

// Finish hands the run's findings to the sinks, publishes its metrics and
// logs a summary. A sink that fails is logged and reported, and does not
// stop the others: every finding was already handed to the driver. ctx
// should have time left for the deliveries (a function's own deadline, past
// the margin its handler stopped at).
func (r *Run) Finish(ctx context.Context) Summary {
	var sum Summary
	// Held findings this run keeps itself are re-checked now: an offline
	// run's records are past their windows.
	for i, err := range r.recheck(ctx, r.holds) {
		if err != nil {
			h := r.holds[i]
			r.h.log.ErrorContext(ctx, "held finding not re-checked, published as held", "rule", h.Finding.Rule, "resource_arn", h.Finding.Resource, "error", err.Error())
			r.publish = append(r.publish, h.Finding)
		}
	}
	r.holds = nil
	// The gauge reads the whole ledger: not for a sink that drops it.
	if _, dropped := r.h.metrics.(metrics.Nop); r.changed && !r.swept && !dropped {
		if err := r.gauge(ctx); err != nil {
			r.h.log.ErrorContext(ctx, "gauges not read from the ledger", "error", err.Error())
		}
	}
	for _, s := range r.h.sinks {
		if len(r.publish) == 0 {
			break
		}
		n, err := s.PublishFindings(ctx, r.publish)
		sum.Sinks = append(sum.Sinks, SinkResult{Sink: s.Name(), Delivered: n, Err: err})
		if err != nil {
			r.h.log.ErrorContext(ctx, "findings not delivered", "sink", s.Name(), "findings", len(r.publish), "delivered", n, "error", err.Error())
		} else {
			r.h.log.InfoContext(ctx, "findings delivered", "sink", s.Name(), "delivered", n)
		}
	}
	if err := r.h.metrics.Publish(ctx, r.metrics.Batch()); err != nil {
		sum.MetricsErr = err
		r.h.log.ErrorContext(ctx, "metrics not published", "error", err.Error())
	}
	rep := r.report
	r.h.log.InfoContext(ctx, "run done",
		"source", r.source,
		"records", rep.Decode.Records, "processed", rep.Processed, "skipped", rep.Decode.Skipped,
		"duplicates", rep.Duplicates, "failed_calls", rep.Failed, "findings", r.judged, "published", len(r.publish),
		"evaluation_errors", rep.EvalErrors, "apply_errors", len(rep.ApplyErrors),
		"decode_errors", len(rep.DecodeErrors), "conflicts", len(rep.Conflicts), "control_messages", rep.Decode.Control)
	if r.h.current == r {
		r.h.current = nil
	}
	return sum
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
