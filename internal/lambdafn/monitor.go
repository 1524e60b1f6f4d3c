package lambdafn

import (
	"context"
	"errors"
	"log/slog"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
)

// KeyLister lists the keys that protect live file systems in regions;
// inventory.FileSystemKeys satisfies it.
type KeyLister interface {
	ProtectingKeys(ctx context.Context, regions []string) (keys []inventory.ProtectingKey, readErrors []error, err error)
}

var _ KeyLister = inventory.FileSystemKeys{}

// Monitor is what a function builds once per execution environment (cold
// start) and reuses across invocations: the harness, with its pipeline,
// prepared rules and sinks, and what the scheduled functions inventory.
// Each invocation is one harness run.
type Monitor struct {
	Harness *monitor.Harness
	Log     *slog.Logger
	// Sweeper inventories resources for the sweep; nil when the store is
	// not the live one.
	Sweeper monitor.Sweeper
	// Regions the sweep and the verify function inventory.
	Regions []string
	// Keys lists the keys that protect file systems (the verify function);
	// nil when the store is not the live one.
	Keys KeyLister
	// TrailBucket is the only bucket whose notifications trail-archive
	// reads.
	TrailBucket string
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
