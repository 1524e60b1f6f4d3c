package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/envelope"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/remediation"
	ash "github.com/atrest/atrest/internal/securityhub"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/terminal"
)

// commonFlags are the flags evaluate, backfill and sweep share: output, rule
// parameters, sinks and how other accounts are read.
type commonFlags struct {
	format      string
	configPath  string
	failOn      string
	metrics     string
	namespace   string
	publishBus  string
	securityHub bool
	roleName    string
	externalID  string
	cacheTTL    time.Duration
	verifyKeys  bool
	verifyEvery time.Duration
}

func (c *commonFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&c.format, "format", "", "output format: table or json (JSON Lines); default table on a terminal, json otherwise")
	fl.StringVar(&c.configPath, "config", "", "rule parameters file (YAML or JSON); default: embedded defaults")
	fl.StringVar(&c.failOn, "fail-on", "", "exit 3 when a finding of this status was printed: non_compliant")
	fl.StringVar(&c.metrics, "metrics", "none", "metrics sink: emf (Embedded Metric Format on stderr), cloudwatch (PutMetricData) or none")
	fl.StringVar(&c.namespace, "namespace", metrics.DefaultNamespace, "CloudWatch metric namespace")
	fl.StringVar(&c.publishBus, "publish-events", "", "publish non-compliant findings (and their return to compliance) to this EventBridge bus")
	fl.BoolVar(&c.securityHub, "security-hub", false, "import findings into AWS Security Hub (ASFF)")
	fl.StringVar(&c.roleName, "role-name", "", "with live reads: role assumed in other accounts of an organization trail")
	fl.StringVar(&c.externalID, "external-id", "", "external id for --role-name")
	fl.DurationVar(&c.cacheTTL, "cache-ttl", inventory.DefaultTTL, "with live reads: how long one AWS read is reused")
	fl.BoolVar(&c.verifyKeys, "verify-keys", false, "prove each key protecting a file system works with an envelope round trip (efs_kms_key_verified), in sweeps and after events that can break a key")
	fl.DurationVar(&c.verifyEvery, "verify-interval", time.Hour, "with --verify-keys: verify one key at most once per interval")
}

// session is one run of a judging command: the engine, the printer and the
// sinks findings go to, and what to exit with.
type session struct {
	name         string
	flags        commonFlags
	cfg          config.Config
	engine       *policy.Engine
	out          printer
	stderr       io.Writer
	inv          *metrics.Invocation
	metricsSink  metrics.Sink
	publisher    *findingsbus.Publisher
	hub          *ash.Exporter
	batch        []finding.Finding // findings for the batching sinks
	nonCompliant bool
	bad          bool
}

// open validates the common flags and builds the engine and sinks. It
// returns a non-zero exit status on a usage error.
func (c commonFlags) open(ctx context.Context, name string, stdout, stderr io.Writer) (*session, int) {
	s := &session{name: name, flags: c, stderr: stderr, cfg: config.Default()}
	format := c.format
	if format == "" {
		format = "json"
		if isTerminal(stdout) {
			format = "table"
		}
	}
	if format != "table" && format != "json" {
		return nil, s.usage("--format %q: want table or json", format)
	}
	if c.failOn != "" && c.failOn != "non_compliant" {
		return nil, s.usage("--fail-on %q: want non_compliant", c.failOn)
	}
	if c.configPath != "" {
		var err error
		if s.cfg, err = config.Load(c.configPath); err != nil {
			return nil, s.usage("%v", err)
		}
	}
	var err error
	if s.engine, err = policy.New(ctx); err != nil {
		return nil, s.usage("%v", err)
	}
	s.inv = metrics.NewInvocation(metrics.Options{Namespace: c.namespace, Organization: c.roleName != "", Source: "cli"})
	switch c.metrics {
	case "none", "":
		s.metricsSink = metrics.Nop{}
	case "emf":
		s.metricsSink = metrics.NewEMFSink(stderr)
	case "cloudwatch":
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, s.usage("%v", err)
		}
		s.metricsSink = metrics.NewCloudWatchSink(cloudwatch.NewFromConfig(cfg))
	default:
		return nil, s.usage("--metrics %q: want emf, cloudwatch or none", c.metrics)
	}
	if c.publishBus != "" || c.securityHub {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, s.usage("%v", err)
		}
		if c.publishBus != "" {
			s.publisher = findingsbus.NewPublisher(eventbridge.NewFromConfig(cfg), findingsbus.PublisherOptions{EventBusName: c.publishBus, RuleActions: remediation.DefaultRuleActions()})
		}
		if c.securityHub {
			s.hub = ash.NewExporter(securityhub.NewFromConfig(cfg))
		}
	}
	s.out = newPrinter(format, stdout)
	return s, exitOK
}

func (s *session) usage(format string, args ...any) int {
	fmt.Fprintf(s.stderr, "atrest %s: %s\n", s.name, terminal.Escape(fmt.Sprintf(format, args...)))
	return exitUsage
}

// memoryStore or liveStore: the store a command judges against.
func (s *session) store(ctx context.Context, live bool) (state.Store, *inventory.Live, *inventory.Accounts, error) {
	if !live {
		return state.NewMemory(), nil, nil, nil
	}
	// A sweep lists the monitoring path the config names, besides every
	// file system and key.
	l, acc, err := newLiveStore(ctx, liveSettings{
		RoleName: s.flags.roleName, ExternalID: s.flags.externalID, TTL: s.flags.cacheTTL, Watch: watchOf(s.cfg),
	})
	return l, l, acc, err
}

// regions are the regions given, or the configured region when none were.
func (s *session) regions(ctx context.Context, given []string) ([]string, error) {
	if len(given) > 0 {
		return given, nil
	}
	return defaultRegions(ctx)
}

// pipeline builds the pipeline over store, with the key verifier when
// --verify-keys asks for it.
func (s *session) pipeline(ctx context.Context, store state.Store, opts pipeline.Options) (*pipeline.Pipeline, error) {
	opts.Store, opts.Engine, opts.Config = store, s.engine, s.cfg
	if s.flags.verifyKeys {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		v, err := envelope.New(cfg, envelope.WithInterval(s.flags.verifyEvery))
		if err != nil {
			return nil, err
		}
		opts.Verifier = v
		opts.OnVerify = func(r envelope.Result) {
			outcome := "verified"
			if !r.OK {
				outcome = string(r.Reason)
			}
			s.inv.AddVerification(outcome, r.Duration, r.Cached)
		}
	}
	return pipeline.New(opts)
}

// emit prints a finding and keeps it for the batching sinks.
func (s *session) emit(f finding.Finding) error {
	if f.Status == finding.NonCompliant {
		s.nonCompliant = true
	}
	s.inv.AddFinding(f)
	if s.publisher != nil || s.hub != nil {
		s.batch = append(s.batch, f)
	}
	return s.out.Print(f)
}

// report prints the bad input a report holds.
func (s *session) report(input string, rep pipeline.Report) {
	for _, e := range rep.DecodeErrors {
		fmt.Fprintf(s.stderr, "atrest: %s\n", terminal.Escape(e.Error()))
	}
	for _, e := range rep.ApplyErrors {
		if re := (*pipeline.RecordError)(nil); errors.As(e, &re) && re.At.Input != "" {
			fmt.Fprintf(s.stderr, "atrest: %s\n", terminal.Escape(e.Error())) // names the input already
		} else {
			fmt.Fprintf(s.stderr, "atrest: %s: %s\n", terminal.Escape(input), terminal.Escape(e.Error()))
		}
	}
	for _, c := range rep.Conflicts {
		fmt.Fprintf(s.stderr, "atrest: warning: %s\n", terminal.Escape(c.String()))
	}
	if rep.Bad() {
		s.bad = true
	}
}

// fail reports an error that made part of the run fail.
func (s *session) fail(format string, args ...any) {
	fmt.Fprintf(s.stderr, "atrest: %s\n", terminal.Escape(fmt.Sprintf(format, args...)))
	s.bad = true
}

// finish flushes the output, delivers the batching sinks and returns the
// exit status.
func (s *session) finish(ctx context.Context) int {
	if err := s.out.Close(); err != nil {
		s.fail("write output: %v", err)
	}
	if err := s.metricsSink.Publish(ctx, s.inv.Batch()); err != nil {
		s.fail("metrics: %v", err)
	}
	if s.publisher != nil {
		res, err := s.publisher.PublishFindings(ctx, s.batch)
		if err != nil {
			s.fail("publish events to %s: %v", s.flags.publishBus, err)
		} else {
			fmt.Fprintf(s.stderr, "atrest: %d events published to %s\n", res.Published, s.flags.publishBus)
		}
	}
	if s.hub != nil {
		n, err := s.hub.Export(ctx, s.batch)
		if err != nil {
			s.fail("security hub: %v", err)
		} else {
			fmt.Fprintf(s.stderr, "atrest: %d findings imported into Security Hub\n", n)
		}
	}
	switch {
	case s.bad:
		return exitBadInput
	case s.flags.failOn == "non_compliant" && s.nonCompliant:
		return exitNonCompliant
	}
	return exitOK
}

// regionsFlag is a comma-separated list of regions.
type regionsFlag []string

func (r *regionsFlag) String() string { return strings.Join(*r, ",") }

func (r *regionsFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*r = append(*r, p)
		}
	}
	return nil
}

// defaultRegions is the configured region when --regions is not given.
func defaultRegions(ctx context.Context) ([]string, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no region: set --regions, AWS_REGION or a profile region")
	}
	return []string{cfg.Region}, nil
}
