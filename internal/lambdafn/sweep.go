package lambdafn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/state"
)

// Sweeper inventories every file system and key of the monitor's account in
// the given regions; *inventory.Live satisfies it.
type Sweeper interface {
	Sweep(ctx context.Context, regions []string) (*inventory.SweepResult, error)
}

var _ Sweeper = (*inventory.Live)(nil)

// SweptResourceTypes are the resource types a sweep inventories and judges.
var SweptResourceTypes = map[string]bool{
	string(state.TypeFileSystem):     true,
	string(state.TypeKey):            true,
	string(state.TypeMonitoringPath): true,
}

// verifiedRule is judged from a key verification (internal/envelope). The
// sweep does verify keys when the monitor's pipeline has a verifier
// (VerifyKeys=true), but publishes no NonCompliantResources gauge for this
// rule; the CLI's sweep gauges every rule.
const verifiedRule = "efs_kms_key_verified"

// SweepGauged reports whether a sweep publishes the NonCompliantResources
// gauge of a rule of resourceType.
func SweepGauged(rule, resourceType string) bool {
	return SweptResourceTypes[resourceType] && rule != verifiedRule
}

// ErrNoSweeper is returned by Sweep when the monitor has no live store to
// inventory (ATREST_STORE=memory): a sweep has nothing to ask.
var ErrNoSweeper = errors.New("sweep needs the live store (ATREST_STORE=live)")

// Sweep handles the scheduled sweep: it inventories every file system and
// key, judges each as it now stands, logs every finding and publishes the
// NonCompliantResources gauge of every rule (zero included, so an alarm
// returns to OK once the last resource is fixed). A region or resource that
// could not be read is logged; its resources get ERROR findings, never a
// silent pass. The error is non-nil when nothing could be inventoried, so
// the scheduled invocation is retried and then sent to the dead-letter
// queue.
func (m *Monitor) Sweep(ctx context.Context, event events.CloudWatchEvent) error {
	if m.Sweeper == nil {
		m.Log.ErrorContext(ctx, "sweep not possible", "error", ErrNoSweeper.Error())
		return ErrNoSweeper
	}
	inv := m.start(metrics.SourceSweep)
	m.Log.InfoContext(ctx, "sweep started", "event_id", event.ID, "regions", m.Regions)
	// The work stops a margin before Lambda's deadline; ctx is left for
	// delivering what was found.
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	res, err := m.Sweeper.Sweep(hctx, m.Regions)
	if err != nil {
		m.Log.ErrorContext(ctx, "sweep failed", "error", err.Error())
		inv.metrics.Count(metrics.EvaluationErrors, metrics.SourceSweep, 1)
		inv.finish(ctx)
		return fmt.Errorf("sweep: %w", err)
	}
	for _, e := range res.Errors {
		m.Log.WarnContext(ctx, "sweep read failed", "error", e.Error())
	}
	// The gauge of every rule the sweep judges starts at zero; rules of
	// resources it does not inventory (the monitoring path) get none, so a
	// sweep never reports them clear.
	nonCompliant := map[string]map[string]bool{}
	for _, r := range m.Engine.Rules() {
		if SweepGauged(r.ID, r.ResourceType) {
			nonCompliant[r.ID] = map[string]bool{}
		}
	}
	var evalErrors int
	for _, ref := range res.Refs {
		fs, err := m.Pipeline.EvaluateResource(hctx, ref, metrics.SourceSweep)
		if err != nil {
			m.Log.WarnContext(ctx, "resource not evaluated", "resource_arn", ref.ARN, "error", err.Error())
		}
		for _, f := range fs {
			inv.emit(ctx, f)
			switch f.Status {
			case finding.Error:
				evalErrors++
			case finding.NonCompliant:
				if nonCompliant[f.Rule] != nil {
					nonCompliant[f.Rule][f.Resource] = true
				}
			}
		}
		if hctx.Err() != nil {
			break
		}
	}
	for rule, resources := range nonCompliant {
		inv.metrics.SetNonCompliant(rule, len(resources))
	}
	inv.metrics.Count(metrics.EventsProcessed, metrics.SourceSweep, len(res.Refs))
	inv.metrics.Count(metrics.EvaluationErrors, metrics.SourceSweep, evalErrors)
	m.Log.InfoContext(ctx, "sweep done", "file_systems", res.FileSystems, "keys", res.Keys,
		"findings", len(inv.findings), "evaluation_errors", evalErrors, "read_errors", len(res.Errors))
	inv.finish(ctx)
	return contextError(hctx, hctx.Err())
}
