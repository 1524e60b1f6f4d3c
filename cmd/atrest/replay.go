package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/replay"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/terminal"
)

// replayArchive judges a trail bucket's log files of a date range: on
// every core of this machine, or, with --queue, on the deployed
// trail-archive functions.
func replayArchive(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("replay", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		c                            commonFlags
		since, until, orgID          string
		accounts, regions            regionsFlag
		s3Root, checkpoint, queueURL string
		workers, inflight, memoryMB  int
		dryRun                       bool
		every                        time.Duration
		throughput                   float64
	)
	c.register(fl)
	fl.StringVar(&since, "since", "", "first day to read, YYYY-MM-DD (UTC; required)")
	fl.StringVar(&until, "until", "", "last day to read, YYYY-MM-DD (UTC; default today)")
	fl.Var(&accounts, "accounts", "comma-separated accounts (default: every account folder of the bucket); an organization trail's also need --org-id")
	fl.Var(&regions, "regions", "comma-separated regions (default: every region folder of each account)")
	fl.StringVar(&orgID, "org-id", "", "organization trail: read AWSLogs/ORG-ID/ only")
	fl.StringVar(&s3Root, "s3-root", "", "read a local copy of the bucket, DIR/BUCKET/KEY, instead of S3")
	fl.IntVar(&workers, "workers", runtime.NumCPU(), "objects downloaded and decoded in parallel")
	fl.IntVar(&inflight, "max-inflight", 0, "most objects read but not yet judged, bounding memory (default 4 × workers)")
	fl.StringVar(&checkpoint, "checkpoint", "", "file recording the objects judged, so an interrupted replay resumes without reading them again")
	fl.DurationVar(&every, "progress-every", 10*time.Second, "when standard error is not a terminal, print a progress line this often")
	fl.StringVar(&queueURL, "queue", "", "send one S3 notification per log file to this trail-archive SQS queue instead of reading them here")
	fl.BoolVar(&dryRun, "dry-run", false, "list only: print the objects, bytes and the Lambda GB-seconds a fleet replay would use")
	fl.IntVar(&memoryMB, "memory-mb", replay.DefaultMemoryMB, "with --dry-run: trail-archive's memory size")
	fl.Float64Var(&throughput, "throughput", replay.DefaultBytesPerCPUSecond, "with --dry-run: archive bytes one vCPU judges a second")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: atrest replay [flags] s3://BUCKET[/PREFIX]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "atrest replay: %s\n", terminal.Escape(fmt.Sprintf(format, a...)))
		return exitUsage
	}
	if fl.NArg() != 1 {
		return usage("name one archive: s3://BUCKET[/PREFIX]")
	}
	sc, err := archiveScope(fl.Arg(0), since, until, time.Now())
	if err != nil {
		return usage("%v", err)
	}
	sc.OrgID, sc.Accounts, sc.Regions = orgID, accounts, regions
	if workers < 1 {
		return usage("--workers %d: want at least 1", workers)
	}

	var client replay.Client = replay.DirClient{Root: s3Root}
	var region string
	if s3Root == "" || queueURL != "" {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return usage("%v", err)
		}
		region = cfg.Region
		if s3Root == "" {
			client = s3.NewFromConfig(cfg)
		}
		if queueURL != "" && !dryRun {
			listing, code := listArchive(ctx, client, sc, stderr)
			if code != exitOK {
				return code
			}
			n, err := replay.Enqueue(ctx, sqs.NewFromConfig(cfg), queueURL, sc.Bucket, region, listing.Objects)
			fmt.Fprintf(stderr, "atrest: %d of %d log files (%.1f MB) sent to %s\n", n, len(listing.Objects), float64(listing.Bytes)/1e6, terminal.Escape(queueURL))
			if err != nil {
				fmt.Fprintf(stderr, "atrest: %s\n", terminal.Escape(err.Error()))
				return exitBadInput
			}
			return exitOK
		}
	}
	listing, code := listArchive(ctx, client, sc, stderr)
	if code != exitOK {
		return code
	}
	if dryRun {
		fmt.Fprintln(stdout, replay.EstimateFleet(len(listing.Objects), listing.Bytes, memoryMB, throughput))
		return exitOK
	}

	s, code := c.open(ctx, "replay", stdout, stderr)
	if s == nil {
		return code
	}
	if err := s.start(ctx, state.NewMemory(), pipeline.Options{}, replay.Source); err != nil {
		return s.usage("%v", err)
	}
	opts := replay.Options{
		Client: client, Bucket: sc.Bucket, Workers: workers, MaxInflight: inflight,
		OnObject: func(o replay.Object, rep pipeline.Report) {
			s.report("s3://"+sc.Bucket+"/"+o.Key, rep)
		},
	}
	if checkpoint != "" {
		if opts.Checkpoint, err = replay.OpenCheckpoint(checkpoint); err != nil {
			return s.usage("%v", err)
		}
	}
	if isTerminal(stderr) {
		opts.Progress = replay.NewBar(stderr)
	} else {
		opts.Progress = replay.NewLines(stderr, every)
	}
	res, err := replay.Run(ctx, s.run, listing.Objects, opts)
	for _, e := range res.Failed {
		s.fail("%v", e)
	}
	switch {
	case err != nil && ctx.Err() != nil && checkpoint != "":
		s.fail("interrupted: %d log files judged in all; rerun with --checkpoint %s to go on", opts.Checkpoint.Len(), checkpoint)
	case err != nil && ctx.Err() != nil:
		s.fail("interrupted after %d log files", res.Objects)
	case err != nil:
		s.fail("%v", err)
	}
	fmt.Fprintf(stderr, "atrest: %d log files read (%.1f MB), %d resumed from the checkpoint, %d failed; %d records (%d of interest), %d duplicates, %d findings\n",
		res.Objects, float64(res.Bytes)/1e6, res.Resumed, len(res.Failed), res.Report.Decode.Records,
		res.Report.Processed+res.Report.Decode.Invalid, res.Report.Duplicates, res.Report.Findings)
	return s.finish(ctx)
}

// listArchive lists the scope and says what it found.
func listArchive(ctx context.Context, client replay.Client, sc replay.Scope, stderr io.Writer) (replay.Listing, int) {
	listing, err := replay.List(ctx, client, sc)
	if err != nil {
		fmt.Fprintf(stderr, "atrest replay: %s\n", terminal.Escape(err.Error()))
		if errors.Is(err, replay.ErrScope) {
			return listing, exitUsage
		}
		return listing, exitBadInput
	}
	if len(listing.Skipped) > 0 {
		fmt.Fprintf(stderr, "atrest: %d objects in the day folders are not log files and were skipped (first: %s)\n", len(listing.Skipped), terminal.Escape(listing.Skipped[0]))
	}
	return listing, exitOK
}

// archiveScope reads s3://BUCKET[/PREFIX] and the date range; until is
// today (UTC) when not given.
func archiveScope(target, since, until string, now time.Time) (replay.Scope, error) {
	rest, ok := strings.CutPrefix(target, "s3://")
	if !ok {
		return replay.Scope{}, fmt.Errorf("archive %q: want s3://BUCKET[/PREFIX]", target)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	sc := replay.Scope{Bucket: bucket, Prefix: prefix}
	if bucket == "" {
		return sc, fmt.Errorf("archive %q: no bucket", target)
	}
	if since == "" {
		return sc, errors.New("--since is required (YYYY-MM-DD)")
	}
	var err error
	if sc.Since, err = time.Parse(time.DateOnly, since); err != nil {
		return sc, fmt.Errorf("--since %q: want YYYY-MM-DD", since)
	}
	sc.Until = now.UTC()
	if until != "" {
		if sc.Until, err = time.Parse(time.DateOnly, until); err != nil {
			return sc, fmt.Errorf("--until %q: want YYYY-MM-DD", until)
		}
	}
	if sc.Until.Before(sc.Since) {
		return sc, fmt.Errorf("--until %s is before --since %s", sc.Until.Format(time.DateOnly), since)
	}
	return sc, nil
}
