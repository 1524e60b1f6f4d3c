package monitor

import (
	"context"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
)

// VerifyKeys proves each key works with a fresh envelope round trip and
// hands the verdict of the rules that judge it to the driver (the pipeline
// decides; a round trip that could not be completed is counted as an
// evaluation error where the verification is counted). It sets the
// NonCompliantResources gauge of those rules, as a sweep with a verifier
// does, unless the context ended first.
func (r *Run) VerifyKeys(ctx context.Context, keys []inventory.ProtectingKey) error {
	nonCompliant := map[string]map[string]bool{}
	for _, m := range r.h.engine.Rules() {
		if r.h.Gauged(m) && m.Requires != "" {
			nonCompliant[m.ID] = map[string]bool{}
		}
	}
	var judged, evalErrors, failed int
	for _, key := range keys {
		if ctx.Err() != nil {
			break
		}
		judged++
		fs, err := r.h.pipeline.VerifyKey(ctx, key.ARN, key.FileSystems, r.source)
		if err != nil {
			r.h.log.WarnContext(ctx, "key not verified", "key_arn", key.ARN, "error", err.Error())
		}
		for _, f := range fs {
			if f.Status == finding.Error {
				evalErrors++
			}
			if f.Status == finding.NonCompliant {
				failed++
				if nonCompliant[f.Rule] != nil {
					nonCompliant[f.Rule][f.Resource] = true
				}
			}
			if err := r.emit(ctx, f); err != nil {
				return err
			}
		}
	}
	r.metrics.Count(metrics.EventsProcessed, r.source, judged)
	r.metrics.Count(metrics.EvaluationErrors, r.source, evalErrors)
	r.h.log.InfoContext(ctx, "verification done", "keys", judged, "failed", failed, "evaluation_errors", evalErrors)
	if err := ctx.Err(); err != nil {
		return err
	}
	for rule, resources := range nonCompliant {
		r.metrics.SetNonCompliant(rule, len(resources))
	}
	r.swept = true
	return nil
}
