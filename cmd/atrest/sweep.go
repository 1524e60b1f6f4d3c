package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
)

// sweep lists every file system and key in the regions, and the trails,
// EventBridge rules and subscription filters atrest's evidence travels
// through, and judges each as it stands: resources that existed before
// atrest was deployed, and drift that no event showed.
func sweep(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("sweep", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		c       commonFlags
		regions regionsFlag
	)
	c.register(fl)
	fl.Var(&regions, "regions", "comma-separated regions to sweep (default: the configured region)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fl.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: atrest sweep [flags]")
		return exitUsage
	}
	s, code := c.open(ctx, "sweep", stdout, stderr)
	if s == nil {
		return code
	}
	regions, err := s.regions(ctx, regions)
	if err != nil {
		return s.usage("%v", err)
	}
	_, live, _, err := s.store(ctx, true)
	if err != nil {
		return s.usage("%v", err)
	}
	if err := s.start(ctx, live, pipeline.Options{}, metrics.SourceSweep); err != nil {
		return s.usage("%v", err)
	}
	res, err := s.run.Sweep(ctx, live, regions)
	if err != nil {
		s.fail("%v", err)
	}
	if res != nil {
		for _, e := range res.Errors {
			s.fail("sweep: %v", e)
		}
		fmt.Fprintf(stderr, "atrest: swept %v: %d file systems, %d keys, %d trails, %d watched rules and filters\n",
			[]string(regions), res.FileSystems, res.Keys, res.Trails, res.Watched)
	}
	return s.finish(ctx)
}

// sourceBackfill is the Source of a backfill's findings and metrics.
const sourceBackfill = "backfill"

// backfill replays the CloudTrail event history of the last days through
// the pipeline, so state and findings exist from the first minute.
func backfill(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("backfill", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		c          commonFlags
		regions    regionsFlag
		days       int
		checkpoint string
		bySource   bool
	)
	c.register(fl)
	fl.Var(&regions, "regions", "comma-separated regions (default: the configured region)")
	fl.IntVar(&days, "days", 90, "days of event history to replay (CloudTrail keeps 90)")
	fl.StringVar(&checkpoint, "checkpoint", "", "file recording progress, so an interrupted backfill resumes")
	fl.BoolVar(&bySource, "by-source", false, "look up by event source instead of by each event name (reads every KMS event)")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fl.NArg() > 0 || days < 1 || days > 90 {
		fmt.Fprintln(stderr, "usage: atrest backfill [flags] (--days 1..90)")
		return exitUsage
	}
	s, code := c.open(ctx, "backfill", stdout, stderr)
	if s == nil {
		return code
	}
	regions, err := s.regions(ctx, regions)
	if err != nil {
		return s.usage("%v", err)
	}
	_, live, acc, err := s.store(ctx, true)
	if err != nil {
		return s.usage("%v", err)
	}
	if err := s.start(ctx, live, pipeline.Options{}, sourceBackfill); err != nil {
		return s.usage("%v", err)
	}
	opts := inventory.BackfillOptions{Regions: regions, Days: days, CheckpointPath: checkpoint}
	if bySource {
		opts.By = inventory.ByEventSource
	}
	rep, br, err := runBackfill(ctx, s.run, acc, opts)
	s.report("backfill", rep)
	if err != nil {
		s.fail("backfill: %v", err)
	}
	fmt.Fprintf(stderr, "atrest: backfill %s..%s: %d requests, %d events, %d records of interest, %d findings\n",
		br.Start.Format("2006-01-02"), br.End.Format("2006-01-02"), br.Requests, br.Events, br.Records, rep.Findings)
	return s.finish(ctx)
}
