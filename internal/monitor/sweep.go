package monitor

import (
	"context"
	"fmt"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// Sweeper inventories every file system and key, and the monitoring path,
// of the given regions; *inventory.Live satisfies it.
type Sweeper interface {
	Sweep(ctx context.Context, regions []string) (*inventory.SweepResult, error)
}

var _ Sweeper = (*inventory.Live)(nil)

// sweptTypes are the resource types a sweep inventories and judges.
var sweptTypes = map[string]bool{
	string(state.TypeFileSystem):     true,
	string(state.TypeKey):            true,
	string(state.TypeMonitoringPath): true,
}

// Gauged reports whether a sweep of this harness publishes the
// NonCompliantResources gauge of a rule: every rule of a swept resource
// type, except a rule that judges a fact the harness cannot gather (key
// verification without a verifier), whose zero would claim a clear state no
// one checked.
func (h *Harness) Gauged(m policy.RuleMeta) bool {
	if !sweptTypes[m.ResourceType] {
		return false
	}
	return m.Requires != policy.RequiresKeyVerification || h.verifies
}

// Sweep inventories the regions and judges every resource found as it now
// stands: resources that existed before atrest, and drift no event showed.
// It sets the NonCompliantResources gauge of every gauged rule (zero
// included, so an alarm returns to OK once the last resource is fixed)
// unless the inventory failed whole. A resource whose read failed gets
// ERROR findings, counted as evaluation errors, never a silent pass; the
// failed reads are in the result. The error is non-nil when nothing could
// be inventoried, the context ended, or the driver's OnFinding failed.
func (r *Run) Sweep(ctx context.Context, sw Sweeper, regions []string) (*inventory.SweepResult, error) {
	res, err := sw.Sweep(ctx, regions)
	if err != nil {
		r.metrics.Count(metrics.EvaluationErrors, r.source, 1)
		return nil, fmt.Errorf("sweep: %w", err)
	}
	for _, e := range res.Errors {
		r.h.log.WarnContext(ctx, "sweep read failed", "error", e.Error())
	}
	nonCompliant := map[string]map[string]bool{}
	for _, m := range r.h.engine.Rules() {
		if r.h.Gauged(m) {
			nonCompliant[m.ID] = map[string]bool{}
		}
	}
	var evalErrors, judged int
	for _, ref := range res.Refs {
		if ctx.Err() != nil {
			break
		}
		judged++
		fs, err := r.h.pipeline.EvaluateResource(ctx, ref, metrics.SourceSweep)
		if err != nil {
			r.h.log.WarnContext(ctx, "resource not evaluated", "resource_arn", ref.ARN, "error", err.Error())
			res.Errors = append(res.Errors, fmt.Errorf("evaluate %s: %w", ref.ARN, err))
		}
		for _, f := range fs {
			switch f.Status {
			case finding.Error:
				evalErrors++
			case finding.NonCompliant:
				if nonCompliant[f.Rule] != nil {
					nonCompliant[f.Rule][f.Resource] = true
				}
			}
			if err := r.emit(ctx, f); err != nil {
				return res, err
			}
		}
	}
	r.metrics.Count(metrics.EventsProcessed, r.source, judged)
	r.metrics.Count(metrics.EvaluationErrors, r.source, evalErrors)
	if err := ctx.Err(); err != nil {
		// A sweep cut short saw only part of the resources: no gauge.
		return res, err
	}
	for rule, resources := range nonCompliant {
		r.metrics.SetNonCompliant(rule, len(resources))
	}
	r.swept = true
	r.h.log.InfoContext(ctx, "sweep done", "file_systems", res.FileSystems, "keys", res.Keys,
		"trails", res.Trails, "watched", res.Watched, "evaluation_errors", evalErrors, "read_errors", len(res.Errors))
	return res, nil
}
