package lambdafn

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/metrics"
)

// SourceVerify is the Source of the verify function's findings and metrics.
const SourceVerify = "verify"

// ErrNoVerifier is returned by Verify when the monitor has no key verifier
// or no key lister (ATREST_VERIFY_KEYS is not true, or the store is not the
// live one).
var ErrNoVerifier = errors.New("verify needs ATREST_VERIFY_KEYS=true and the live store (ATREST_STORE=live)")

// Verify handles the scheduled key verification: it lists the keys that
// protect live file systems and proves each works with a fresh envelope
// round trip (a cached result is dropped first: the schedule is the
// interval); the rules judge each outcome (efs_kms_key_verified) and the
// harness counts it (KeyVerifications, KeyVerificationLatency by Outcome).
// A region or key reference that could not be read is logged and counted
// as an evaluation error; the error is non-nil only when nothing could be
// listed, so the scheduled invocation is retried and then sent to the
// dead-letter queue.
func (m *Monitor) Verify(ctx context.Context, event events.CloudWatchEvent) error {
	if !m.Harness.Verifies() || m.Keys == nil {
		m.Log.ErrorContext(ctx, "verification not possible", "error", ErrNoVerifier.Error())
		return ErrNoVerifier
	}
	run := m.Harness.Start(SourceVerify)
	m.Log.InfoContext(ctx, "verification started", "event_id", event.ID, "regions", m.Regions)
	// The work stops a margin before Lambda's deadline; ctx is left for
	// delivering what was found.
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	keys, readErrs, err := m.Keys.ProtectingKeys(hctx, m.Regions)
	for _, e := range readErrs {
		m.Log.WarnContext(ctx, "verification read failed", "error", e.Error())
	}
	if err != nil {
		m.Log.ErrorContext(ctx, "verification failed", "error", err.Error())
		run.Count(metrics.EvaluationErrors, max(len(readErrs), 1))
		run.Finish(ctx)
		return fmt.Errorf("verify: %w", err)
	}
	run.Count(metrics.EvaluationErrors, len(readErrs))
	err = run.VerifyKeys(hctx, keys)
	run.Finish(ctx)
	return contextError(hctx, err)
}
