package main

import (
	"context"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
)

// liveSettings choose how the live store reads AWS.
type liveSettings struct {
	RoleName   string          // role assumed in other accounts ("" reads the own account only)
	ExternalID string          // external id for that role
	TTL        time.Duration   // how long a read is reused (0: inventory.DefaultTTL)
	Watch      inventory.Watch // the monitoring path a sweep lists
}

// watchOf is the monitoring path the config names for a sweep.
func watchOf(cfg config.Config) inventory.Watch {
	return inventory.Watch{Trails: cfg.WatchedTrails, EventRules: cfg.WatchedEventRules, SubscriptionFilters: cfg.WatchedSubscriptionFilters}
}

// newLiveStore builds the live state store from the standard AWS
// configuration (profiles, AWS_REGION, AWS_ENDPOINT_URL), reading other
// accounts through s.RoleName when set.
func newLiveStore(ctx context.Context, s liveSettings) (*inventory.Live, *inventory.Accounts, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	acc := inventory.NewAccounts(inventory.AccountsOptions{Config: cfg, RoleName: s.RoleName, ExternalID: s.ExternalID})
	return inventory.NewLive(inventory.Options{Clients: acc, TTL: s.TTL, Watch: s.Watch}), acc, nil
}

// runBackfill reads the CloudTrail event history and runs each record of
// interest through the harness in eventTime order (the harness's store
// should be the live store built with the same Accounts).
func runBackfill(ctx context.Context, run *monitor.Run, acc *inventory.Accounts, opts inventory.BackfillOptions) (pipeline.Report, inventory.BackfillReport, error) {
	var rep pipeline.Report
	br, err := inventory.Backfill(ctx, acc, opts, func(rec *cloudtrail.Record) error {
		r, err := run.Records(ctx, []*cloudtrail.Record{rec})
		rep.Add(r)
		return err
	})
	return rep, br, err
}
