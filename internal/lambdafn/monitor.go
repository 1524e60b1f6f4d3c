package lambdafn

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/envelope"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
)

// FindingSink delivers the findings of one invocation (the findings event
// bus, Security Hub). It batches and retries as its API requires.
type FindingSink interface {
	PublishFindings(ctx context.Context, fs []finding.Finding) error
}

// Monitor is what a function builds once per execution environment (cold
// start) and reuses across invocations: the pipeline with its store and
// prepared rules, the logger and the sinks.
type Monitor struct {
	Pipeline *pipeline.Pipeline
	Engine   *policy.Engine
	Log      *slog.Logger
	// Metrics receives one batch per invocation; metrics.Nop when nil.
	Metrics metrics.Sink
	// MetricsOptions configure each invocation's metrics (namespace,
	// organization dimension, clock).
	MetricsOptions metrics.Options
	// Findings are the sinks every invocation's findings are handed to.
	Findings []FindingSink
	// Sweeper inventories resources for the sweep; nil when the store is
	// not the live one.
	Sweeper Sweeper
	// Regions the sweep and the verify function inventory.
	Regions []string
	// KeyVerifier proves keys work (the verify function); nil unless
	// ATREST_VERIFY_KEYS is true.
	KeyVerifier pipeline.KeyVerifier
	// Keys lists the keys that protect file systems (the verify function);
	// nil when the store is not the live one.
	Keys KeyLister
	// TrailBucket is the only bucket whose notifications trail-archive
	// reads.
	TrailBucket string
	// Integrity validates each log file before it is read and refuses one
	// not proven intact; nil unless ATREST_REQUIRE_INTEGRITY is true.
	Integrity *integrity.Gate

	// current is the invocation under way, for the pipeline's key
	// verification callback; a function handles one invocation at a time.
	current *invocation
}

// invocation is the work of one handler call.
type invocation struct {
	m        *Monitor
	metrics  *metrics.Invocation
	source   string
	findings []finding.Finding
	report   pipeline.Report
}

func (m *Monitor) start(source string) *invocation {
	opts := m.MetricsOptions
	opts.Source = source
	inv := &invocation{m: m, metrics: metrics.NewInvocation(opts), source: source}
	m.current = inv
	return inv
}

// emit logs a finding as one JSON line and keeps it for the sinks.
func (inv *invocation) emit(ctx context.Context, f finding.Finding) {
	inv.m.Log.InfoContext(ctx, "finding", slog.Any("finding", f))
	inv.metrics.AddFinding(f)
	inv.findings = append(inv.findings, f)
}

// input runs one input of any delivery shape through the pipeline, logging
// every decode and apply error with its position. The error is non-nil only
// when the context ends or a reader fails (an S3 object body broke off).
func (inv *invocation) input(ctx context.Context, name string, r io.Reader) (pipeline.Report, error) {
	rep, err := inv.m.Pipeline.ProcessInput(ctx, name, r, func(f finding.Finding) error {
		inv.emit(ctx, f)
		return nil
	})
	for _, de := range rep.DecodeErrors {
		inv.m.Log.WarnContext(ctx, "bad input",
			"input", de.Input, "location", de.Location, "event_id", de.EventID,
			"kind", errorText(de.Kind), "error", errorText(de.Err))
	}
	inv.integrityFindings(ctx, &rep)
	inv.count(rep)
	inv.report.Add(rep)
	if err != nil {
		inv.m.Log.ErrorContext(ctx, "input not read to its end", "input", name, "error", err.Error())
	}
	return rep, err
}

// count adds a report's counters to the invocation's metrics.
func (inv *invocation) count(rep pipeline.Report) {
	inv.metrics.Count(metrics.EventsProcessed, inv.source, rep.Processed)
	inv.metrics.Count(metrics.EventsSkipped, inv.source, rep.Decode.Skipped)
	inv.metrics.Count(metrics.FailedCalls, inv.source, rep.Failed)
	inv.metrics.Count(metrics.DecodeErrors, inv.source, len(rep.DecodeErrors))
	inv.metrics.Count(metrics.EvaluationErrors, inv.source, rep.EvalErrors+len(rep.ApplyErrors))
}

// finish hands the findings to the sinks, publishes the metrics and logs a
// summary. A sink that fails is logged and does not fail the invocation:
// every finding is already in the function's log, and a retried event would
// be judged a duplicate by a warm pipeline.
func (inv *invocation) finish(ctx context.Context) {
	// finish runs on the invocation's ctx (Lambda's own deadline): the
	// handler's work stopped a margin earlier (handlerDeadline), and that
	// margin is what the findings sinks, then the metrics, have left. The
	// sinks share it with no deadline of their own each.
	for _, s := range inv.m.Findings {
		if len(inv.findings) == 0 {
			break
		}
		if err := s.PublishFindings(ctx, inv.findings); err != nil {
			inv.m.Log.ErrorContext(ctx, "findings not delivered", "sink", sinkName(s), "findings", len(inv.findings), "error", err.Error())
		}
	}
	sink := inv.m.Metrics
	if sink == nil {
		sink = metrics.Nop{}
	}
	if err := sink.Publish(ctx, inv.metrics.Batch()); err != nil {
		inv.m.Log.ErrorContext(ctx, "metrics not published", "error", err.Error())
	}
	rep := inv.report
	inv.m.Log.InfoContext(ctx, "invocation done",
		"source", inv.source,
		"records", rep.Decode.Records, "processed", rep.Processed, "skipped", rep.Decode.Skipped,
		"duplicates", rep.Duplicates, "failed_calls", rep.Failed, "findings", rep.Findings,
		"evaluation_errors", rep.EvalErrors, "apply_errors", len(rep.ApplyErrors),
		"decode_errors", len(rep.DecodeErrors), "conflicts", len(rep.Conflicts), "control_messages", rep.Decode.Control)
}

// verified counts one key verification in the current invocation.
func (m *Monitor) verified(r envelope.Result) {
	if m.current == nil {
		return
	}
	outcome := "verified"
	if !r.OK {
		outcome = string(r.Reason)
	}
	m.current.metrics.AddVerification(outcome, r.Duration, r.Cached)
}

// objectUnavailable reports whether a report names an S3 object that could
// not be opened: reading it again later may succeed.
func objectUnavailable(rep pipeline.Report) bool {
	for _, de := range rep.DecodeErrors {
		if errors.Is(de, cloudtrail.ErrObject) && !errors.Is(de, cloudtrail.ErrObjectTooLarge) {
			return true
		}
	}
	return false
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func sinkName(s FindingSink) string {
	if n, ok := s.(interface{ Name() string }); ok {
		return n.Name()
	}
	return "findings"
}
