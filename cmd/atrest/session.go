package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/posture"
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
	view        string
	statuses    string
	all         bool
	reasons     bool
	output      string
}

func (c *commonFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&c.format, "format", "", "output format: table, json (JSON Lines) or html (the posture as one self-contained page); default table on a terminal, json otherwise")
	fl.StringVar(&c.view, "view", "", "posture (the final status of each rule and resource) or history (every finding as judged); default posture, history with --format json")
	fl.StringVar(&c.statuses, "status", "", "show only these statuses, comma-separated (e.g. non_compliant,error), in every view")
	fl.BoolVar(&c.all, "all", false, "posture: show NOT_APPLICABLE entries and deleted resources too")
	fl.BoolVar(&c.reasons, "reasons", false, "posture table: print every row's full reason below it instead of a shortened one")
	fl.StringVar(&c.output, "o", "", "write the output to this file instead of standard output")
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

// clock stamps metrics and measures detection latency.
var clock = time.Now

// session is one run of a judging command: the printer, the harness options
// its flags chose (metrics and findings sinks), the run once started, and
// what to exit with.
type session struct {
	name   string
	flags  commonFlags
	cfg    config.Config
	engine *policy.Engine
	out    printer
	stderr io.Writer
	hopts  monitor.Options
	run    *monitor.Run
	bad    bool
	// posture is set when the command prints the ledger's final posture
	// (format: table, json or html) rather than every finding.
	posture  bool
	format   string
	statuses []finding.Status
	dest     io.Writer
	closeOut func() error
}

// open validates the common flags and builds the engine and sinks. It
// returns a non-zero exit status on a usage error.
func (c commonFlags) open(ctx context.Context, name string, stdout, stderr io.Writer) (*session, int) {
	s := &session{name: name, flags: c, stderr: stderr, cfg: config.Default(), dest: stdout, closeOut: func() error { return nil }}
	format := c.format
	if format == "" {
		format = "json"
		if c.output == "" && isTerminal(stdout) {
			format = "table"
		}
	}
	if format != "table" && format != "json" && format != "html" {
		return nil, s.usage("--format %q: want table, json or html", format)
	}
	switch c.view {
	case "":
		s.posture = format != "json"
	case "posture":
		s.posture = true
	case "history":
		if format == "html" {
			return nil, s.usage("--format html shows the posture: drop --view history")
		}
	default:
		return nil, s.usage("--view %q: want posture or history", c.view)
	}
	s.format = format
	if c.statuses != "" {
		var err error
		if s.statuses, err = posture.ParseStatuses(c.statuses); err != nil {
			return nil, s.usage("--status: %v", err)
		}
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
	// The rules compile while the command reads its input. The collector,
	// held back since the process started, runs again once they are
	// compiled, and at once when they cannot be.
	if s.engine, err = policy.Start(ctx); err != nil {
		releaseCollector()
		return nil, s.usage("%v", err)
	}
	go func() {
		s.engine.Wait()
		releaseCollector()
	}()
	s.hopts.MetricsOptions = metrics.Options{Namespace: c.namespace, Organization: c.roleName != "", Now: clock}
	switch c.metrics {
	case "none", "":
		s.hopts.Metrics = metrics.Nop{}
	case "emf":
		s.hopts.Metrics = metrics.NewEMFSink(stderr)
	case "cloudwatch":
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, s.usage("%v", err)
		}
		s.hopts.Metrics = metrics.NewCloudWatchSink(cloudwatch.NewFromConfig(cfg))
	default:
		return nil, s.usage("--metrics %q: want emf, cloudwatch or none", c.metrics)
	}
	if c.publishBus != "" || c.securityHub {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, s.usage("%v", err)
		}
		if c.publishBus != "" {
			s.hopts.Sinks = append(s.hopts.Sinks, monitor.BusSink(
				findingsbus.NewPublisher(eventbridge.NewFromConfig(cfg), findingsbus.PublisherOptions{EventBusName: c.publishBus, RuleActions: remediation.DefaultRuleActions()})))
		}
		if c.securityHub {
			s.hopts.Sinks = append(s.hopts.Sinks, monitor.HubSink(ash.NewExporter(securityhub.NewFromConfig(cfg))))
		}
	}
	if c.output != "" {
		f, err := os.Create(c.output)
		if err != nil {
			return nil, s.usage("%v", err)
		}
		s.dest, s.closeOut = f, f.Close
	}
	if s.posture {
		s.out = nopPrinter{}
	} else {
		s.out = statusFilter{newPrinter(format, s.dest), s.statuses}
	}
	return s, exitOK
}

// statusFilter prints only the findings of the statuses asked for (all when
// none were).
type statusFilter struct {
	printer
	statuses []finding.Status
}

func (p statusFilter) Print(f finding.Finding) error {
	if len(p.statuses) > 0 && !slices.Contains(p.statuses, f.Status) {
		return nil
	}
	return p.printer.Print(f)
}

// nopPrinter prints nothing: the posture is written at the end.
type nopPrinter struct{}

func (nopPrinter) Print(finding.Finding) error { return nil }
func (nopPrinter) Close() error                { return nil }

// writePosture writes the ledger's entries in the session's format.
func (s *session) writePosture(entries []ledger.Entry, title string) error {
	return writePosture(s.dest, s.format, entries, posture.Filter{Statuses: s.statuses, All: s.flags.all}, s.flags.reasons, title)
}

// writePosture writes a posture: every command that prints one (evaluate,
// sweep, backfill, replay, status) prints it alike.
func writePosture(w io.Writer, format string, entries []ledger.Entry, filter posture.Filter, reasons bool, title string) error {
	return posture.Write(w, format, entries, posture.Options{
		Filter: filter, Title: title, Generated: clock(), Timeline: true, Reasons: reasons,
	})
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

// start builds the harness over store, with the key verifier when
// --verify-keys asks for it, and starts the command's run: its records
// and metrics count under source. Every finding is printed as it is judged.
func (s *session) start(ctx context.Context, store state.Store, opts pipeline.Options, source string) error {
	opts.Store, opts.Engine, opts.Config = store, s.engine, s.cfg
	if s.flags.verifyKeys {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return err
		}
		v, err := keyverify.New(cfg, keyverify.WithInterval(s.flags.verifyEvery))
		if err != nil {
			return err
		}
		opts.Verifier = v
	}
	hopts := s.hopts
	hopts.Pipeline = opts
	hopts.OnFinding = func(_ context.Context, f finding.Finding) error { return s.out.Print(f) }
	h, err := monitor.New(hopts)
	if err != nil {
		return err
	}
	s.run = h.Start(source)
	return nil
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

// finish flushes the output, lets the harness deliver the findings and the
// metrics, and returns the exit status.
func (s *session) finish(ctx context.Context) int {
	if err := s.out.Close(); err != nil {
		s.fail("write output: %v", err)
	}
	nonCompliant := false
	if s.run != nil {
		nonCompliant = s.run.NonCompliant()
		sum := s.run.Finish(ctx)
		if sum.MetricsErr != nil {
			s.fail("metrics: %v", sum.MetricsErr)
		}
		for _, r := range sum.Sinks {
			switch {
			case r.Err != nil:
				s.fail("%s: %v", sinkLabel(s.flags, r.Sink), r.Err)
			case r.Sink == "event_bus":
				fmt.Fprintf(s.stderr, "atrest: %d events published to %s\n", r.Delivered, terminal.Escape(s.flags.publishBus))
			case r.Sink == "security_hub":
				fmt.Fprintf(s.stderr, "atrest: %d findings imported into Security Hub\n", r.Delivered)
			}
		}
	}
	if s.posture && s.run != nil {
		entries, err := s.run.Ledger().List(ctx)
		if err == nil {
			err = s.writePosture(entries, "atrest "+s.name)
		}
		if err != nil {
			s.fail("posture: %v", err)
		}
	}
	if err := s.closeOut(); err != nil {
		s.fail("write output: %v", err)
	}
	switch {
	case s.bad:
		return exitBadInput
	case s.flags.failOn == "non_compliant" && nonCompliant:
		return exitNonCompliant
	}
	return exitOK
}

// sinkLabel names a findings sink in an error line.
func sinkLabel(c commonFlags, sink string) string {
	switch sink {
	case "event_bus":
		return "publish events to " + c.publishBus
	case "security_hub":
		return "security hub"
	}
	return sink
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
