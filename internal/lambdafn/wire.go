package lambdafn

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	awssecurityhub "github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/coldstart"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/dedup"
	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/remediation"
	"github.com/atrest/atrest/internal/securityhub"
	"github.com/atrest/atrest/internal/state"
)

// NewLogger is the functions' logger: JSON lines on w, snake_case keys.
func NewLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// awsConfig loads the SDK configuration once, on first use: a function
// whose settings need no AWS client (memory store, local S3 root, EMF
// metrics, no bus) never loads it.
type awsConfig func() (aws.Config, error)

func newAWSConfig(ctx context.Context, s Settings, log *slog.Logger) awsConfig {
	return sync.OnceValues(func() (aws.Config, error) {
		cfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
		}
		if s.TraceAWSCalls {
			traceCalls(&cfg, log)
		}
		return cfg, nil
	})
}

// ruleConfig is the rule config of the settings: ATREST_RULE_CONFIG (or the
// embedded defaults) with the watched monitoring path of the ATREST_WATCHED_*
// variables and the accounts and regions of the ATREST_MONITORED_* variables
// added and the settle window of ATREST_SETTLE_SECONDS, when set, in place
// of the config's.
func ruleConfig(s Settings) (config.Config, error) {
	cfg := config.Default()
	if s.RuleConfig != "" {
		var err error
		if cfg, err = config.Parse(EnvRuleConfig, []byte(s.RuleConfig)); err != nil {
			return cfg, err
		}
	}
	add := func(list []string, more []string) []string {
		for _, v := range more {
			if !slices.Contains(list, v) {
				list = append(list, v)
			}
		}
		return list
	}
	cfg.WatchedTrails = add(cfg.WatchedTrails, s.WatchedTrails)
	cfg.WatchedEventRules = add(cfg.WatchedEventRules, s.WatchedEventRules)
	cfg.WatchedSubscriptionFilters = add(cfg.WatchedSubscriptionFilters, s.WatchedSubscriptionFilters)
	cfg.MonitoredAccounts = add(cfg.MonitoredAccounts, s.MonitoredAccounts)
	cfg.MonitoredRegions = add(cfg.MonitoredRegions, s.MonitoredRegions)
	if s.SettleSeconds != nil {
		cfg.SettleSeconds = *s.SettleSeconds
	}
	if err := cfg.Validate("ATREST_WATCHED_* and ATREST_MONITORED_*"); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrSettings, err)
	}
	return cfg, nil
}

// Option adjusts the harness a Monitor is built with.
type Option func(*monitor.Options)

// WithClock sets the clock metrics are stamped and latencies measured with.
func WithClock(now func() time.Time) Option {
	return func(o *monitor.Options) { o.MetricsOptions.Now = now }
}

// NewMonitor builds a function's Monitor from its settings: the rule
// config, the rules compiled once, the store, the S3 opener, the
// deduplication table, the key verifier, the metrics sink and the finding
// sinks (the findings bus, Security Hub). stdout receives EMF metric lines.
func NewMonitor(ctx context.Context, s Settings, log *slog.Logger, stdout io.Writer, opts ...Option) (*Monitor, error) {
	cfg, err := ruleConfig(s)
	if err != nil {
		return nil, err
	}
	// The rules compile on a goroutine of their own (policy.Start) while
	// the rest is built: on a machine with a second core, setting up the
	// store and the clients overlaps compiling. INIT waits for them below.
	// The collection that ends INIT's hold on the collector runs now, beside
	// the compiler (coldstart.CollectAside), not after it.
	engine, err := policy.Start(ctx)
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	coldstart.CollectAside()
	awsCfg := newAWSConfig(ctx, s, log)

	var (
		store   state.Store
		sweeper monitor.Sweeper
		keys    KeyLister
	)
	switch s.Store {
	case StoreMemory:
		store = state.NewMemory()
	default:
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		accounts := inventory.NewAccounts(inventory.AccountsOptions{
			Config: c, Account: s.Account, RoleName: s.OrganizationRole, ExternalID: s.OrganizationExternalID,
		})
		live := inventory.NewLive(inventory.Options{Clients: accounts, Watch: inventory.Watch{
			Trails: cfg.WatchedTrails, EventRules: cfg.WatchedEventRules, SubscriptionFilters: cfg.WatchedSubscriptionFilters,
		}})
		store, sweeper, keys = live, live, inventory.FileSystemKeys{Clients: accounts}
	}

	var opener cloudtrail.Opener
	if s.S3Root != "" {
		opener = cloudtrail.DirOpener{Root: s.S3Root}
	} else {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		// A log file is gzip of JSON: an object larger than what the
		// decoder would inflate (the function's own bound) is refused
		// before it is read.
		opener = cloudtrail.S3Opener{Client: s3.NewFromConfig(c), ExpectedBucketOwner: s.TrailBucketOwner,
			MaxBytes: cmp.Or(s.MaxInflatedBytes, cloudtrail.DefaultMaxInflatedBytes)}
	}

	var gate *integrity.Gate
	if s.RequireIntegrity {
		if gate, err = integrityGate(s, awsCfg, opener, log); err != nil {
			return nil, err
		}
		opener = gate
	}

	popts := pipeline.Options{
		Store: store, Config: cfg, Logger: log,
		Decoder: &cloudtrail.Decoder{Opener: opener, Limits: cloudtrail.Limits{MaxInflatedBytes: s.MaxInflatedBytes}},
	}
	if s.DedupTable != "" {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		table, err := dedup.NewTable(dynamodb.NewFromConfig(c), s.DedupTable, dedup.WithTTL(s.DedupTTL))
		if err != nil {
			return nil, err
		}
		popts.Seen = table.Seen
	}
	if s.VerifyKeys {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		v, err := keyverify.New(c, keyverify.WithInterval(s.VerifyInterval))
		if err != nil {
			return nil, fmt.Errorf("key verifier: %w", err)
		}
		popts.Verifier = v
	}
	hopts := monitor.Options{
		Pipeline: popts, Log: log, Integrity: gate,
		MetricsOptions: metrics.Options{Namespace: s.MetricNamespace, Organization: s.OrganizationRole != ""},
	}
	switch s.Metrics {
	case MetricsEMF:
		hopts.Metrics = metrics.NewEMFSink(stdout)
	case MetricsCloudWatch:
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		hopts.Metrics = metrics.NewCloudWatchSink(cloudwatch.NewFromConfig(c))
	default:
		hopts.Metrics = metrics.Nop{}
	}
	if s.FindingsBus != "" {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		hopts.Sinks = append(hopts.Sinks, monitor.BusSink(
			findingsbus.NewPublisher(eventbridge.NewFromConfig(c), findingsbus.PublisherOptions{EventBusName: s.FindingsBus, RuleActions: remediation.DefaultRuleActions()})))
	}
	if s.SecurityHub {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		hopts.Sinks = append(hopts.Sinks, monitor.HubSink(securityhub.NewExporter(awssecurityhub.NewFromConfig(c))))
	}
	if s.LedgerTable != "" {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		if hopts.Ledger, err = ledger.NewTable(dynamodb.NewFromConfig(c), s.LedgerTable); err != nil {
			return nil, err
		}
	}
	if s.SettleQueue != "" {
		c, err := awsCfg()
		if err != nil {
			return nil, err
		}
		// The delay is measured with the harness's clock (WithClock).
		now := func() time.Time {
			if hopts.MetricsOptions.Now != nil {
				return hopts.MetricsOptions.Now()
			}
			return time.Now()
		}
		if hopts.Settler, err = monitor.NewSQSSettler(sqs.NewFromConfig(c), s.SettleQueue, now); err != nil {
			return nil, err
		}
	}
	if err := engine.Wait(); err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	hopts.Pipeline.Engine = engine
	for _, o := range opts {
		o(&hopts)
	}
	h, err := monitor.New(hopts)
	if err != nil {
		return nil, err
	}
	return &Monitor{Harness: h, Log: log, Sweeper: sweeper, Regions: s.SweepRegions, Keys: keys, TrailBucket: s.TrailBucket}, nil
}

// NewRemediator builds the remediate function's handler state: the actions,
// opted in by settings, bounded to the monitor's own account and region, and
// publishing their outcomes to the findings bus.
func NewRemediator(ctx context.Context, s Settings, log *slog.Logger) (*Remediator, error) {
	c, err := newAWSConfig(ctx, s, log)()
	if err != nil {
		return nil, err
	}
	opts, err := actionOptions(s)
	if err != nil {
		return nil, err
	}
	a := &remediation.Actions{
		KMS: kms.NewFromConfig(c), EFS: efs.NewFromConfig(c),
		Options: opts, Logger: log,
		Guard: &remediation.Guard{Account: s.StackAccount, MaxAge: s.RemediationMaxAge},
	}
	if s.FindingsBus != "" {
		a.Publisher = findingsbus.NewPublisher(eventbridge.NewFromConfig(c), findingsbus.PublisherOptions{EventBusName: s.FindingsBus})
	}
	return &Remediator{Actions: a, Log: log}, nil
}
