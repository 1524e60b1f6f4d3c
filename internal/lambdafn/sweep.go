package lambdafn

import (
	"context"
	"errors"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/metrics"
)

// ErrNoSweeper is returned by Sweep when the monitor has no live store to
// inventory (ATREST_STORE=memory): a sweep has nothing to ask.
var ErrNoSweeper = errors.New("sweep needs the live store (ATREST_STORE=live)")

// Sweep handles the scheduled sweep (monitor.Run.Sweep): it inventories
// every file system, key and piece of the monitoring path, judges each as it
// now stands and publishes the NonCompliantResources gauges. The error is
// non-nil when nothing could be inventoried or the handler's deadline
// passed, so the scheduled invocation is retried and then sent to the
// dead-letter queue.
func (m *Monitor) Sweep(ctx context.Context, event events.CloudWatchEvent) error {
	if m.Sweeper == nil {
		m.Log.ErrorContext(ctx, "sweep not possible", "error", ErrNoSweeper.Error())
		return ErrNoSweeper
	}
	run := m.Harness.Start(metrics.SourceSweep)
	m.Log.InfoContext(ctx, "sweep started", "event_id", event.ID, "regions", m.Regions)
	// The work stops a margin before Lambda's deadline; ctx is left for
	// delivering what was found.
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	_, err := run.Sweep(hctx, m.Sweeper, m.Regions)
	run.Finish(ctx)
	if err != nil && hctx.Err() == nil {
		m.Log.ErrorContext(ctx, "sweep failed", "error", err.Error())
		return err
	}
	return contextError(hctx, hctx.Err())
}
