package pipeline

import "github.com/atrest/atrest/internal/metrics"

// CountInto adds the report's counters to a metrics invocation under source.
// Records that could not be applied (bad parameters) count as decode errors:
// both are bad input.
func (r *Report) CountInto(inv *metrics.Invocation, source string) {
	inv.Count(metrics.EventsProcessed, source, r.Processed)
	inv.Count(metrics.EventsSkipped, source, r.Decode.Skipped)
	inv.Count(metrics.FailedCalls, source, r.Failed)
	inv.Count(metrics.DecodeErrors, source, len(r.DecodeErrors)+len(r.ApplyErrors))
	inv.Count(metrics.EvaluationErrors, source, r.EvalErrors)
}
