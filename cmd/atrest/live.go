package main

import (
	"context"
	"fmt"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/inventory"
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

// runBackfill reads the CloudTrail event history and pushes each record of
// interest through the pipeline in eventTime order (the pipeline's store
// should be the live store built with the same Accounts).
func runBackfill(ctx context.Context, p *pipeline.Pipeline, acc *inventory.Accounts, opts inventory.BackfillOptions, emit pipeline.Emit) (pipeline.Report, inventory.BackfillReport, error) {
	var rep pipeline.Report
	br, err := inventory.Backfill(ctx, acc, opts, func(rec *cloudtrail.Record) error {
		r, err := p.ProcessRecords(ctx, []*cloudtrail.Record{rec}, "backfill", emit)
		rep.Add(r)
		return err
	})
	return rep, br, err
}

// runSweep inventories regions and evaluates every file system, key and
// piece of the monitoring path found, handing each finding to emit. Reads that failed are returned with
// the result; evaluation goes on past them.
func runSweep(ctx context.Context, p *pipeline.Pipeline, live *inventory.Live, regions []string, emit pipeline.Emit) (*inventory.SweepResult, error) {
	res, err := live.Sweep(ctx, regions)
	if err != nil {
		return nil, err
	}
	for _, ref := range res.Refs {
		// A failed read still yields ERROR findings: they are emitted too.
		fs, err := p.EvaluateResource(ctx, ref, "sweep")
		if err != nil {
			res.Errors = append(res.Errors, fmt.Errorf("evaluate %s: %w", ref.ARN, err))
		}
		for _, f := range fs {
			if err := emit(f); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}
