// Package lambdafn holds the handlers of atrest's Lambda functions. Each
// function's main only wires: it reads Settings from the environment, builds
// a Monitor (the pipeline, the store, the sinks) and starts one handler.
//
// Every handler pushes its input through internal/pipeline, logs each finding
// as one JSON line, hands the findings to the sinks that are configured
// (metrics, the findings event bus) and never lets a malformed event fail an
// invocation: bad input is logged with its position and counted, and the
// valid records around it still produce findings. The one exception is
// trail-archive, where an S3 object that cannot be read marks its SQS message
// failed so that only that message is delivered again.
package lambdafn

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/dedup"
	"github.com/atrest/atrest/internal/keyverify"
)

// Environment variables the functions read.
const (
	// EnvStore selects the state store: "live" (KMS and EFS reads; the
	// deployed default) or "memory" (filled from events alone; local runs).
	EnvStore = "ATREST_STORE"
	// EnvS3Root, when set, resolves s3://bucket/key to EnvS3Root/bucket/key
	// instead of calling S3 GetObject (local runs).
	EnvS3Root = "ATREST_S3_ROOT"
	// EnvTrailBucketOwner is the account that must own the CloudTrail
	// bucket; S3 refuses objects of a bucket owned by another account.
	EnvTrailBucketOwner = "ATREST_TRAIL_BUCKET_OWNER"
	// EnvRuleConfig is the rule parameters as YAML or JSON text
	// (internal/config); empty means the embedded defaults.
	EnvRuleConfig = "ATREST_RULE_CONFIG"
	// EnvMetrics selects the metrics sink: "emf" (default: embedded metric
	// format lines on standard output), "cloudwatch" (PutMetricData) or
	// "none".
	EnvMetrics = "ATREST_METRICS"
	// EnvMetricNamespace is the CloudWatch namespace (default "Atrest").
	EnvMetricNamespace = "ATREST_METRIC_NAMESPACE"
	// EnvFindingsBus is the EventBridge bus "Atrest Finding" events are
	// published to; empty publishes none.
	EnvFindingsBus = "ATREST_FINDINGS_BUS"
	// EnvOrganizationRole is the role assumed in other accounts of the
	// organization to read them; empty reads the monitor's own account only.
	EnvOrganizationRole = "ATREST_ORGANIZATION_ROLE"
	// EnvSweepRegions is a comma-separated list of regions the sweep
	// inventories; empty means the function's own region (AWS_REGION).
	EnvSweepRegions = "ATREST_SWEEP_REGIONS"
	// EnvRemediate lists the remediation actions opted in, comma-separated;
	// any action not listed is reported as a dry run only.
	EnvRemediate = "ATREST_REMEDIATE"
	// EnvVerifyKeys, "true", proves each key that protects a file system
	// works with an envelope round trip (KMS GenerateDataKey and Decrypt)
	// in a sweep and after events that can break a key
	// (efs_kms_key_verified). The key policies must allow the function's
	// role.
	EnvVerifyKeys = "ATREST_VERIFY_KEYS"
	// EnvVerifyInterval is how long a key's verification is reused before
	// the key is verified again, as a Go duration ("1h"; default
	// keyverify.DefaultInterval). The verify function verifies every key on
	// each scheduled run regardless: its schedule is its interval.
	EnvVerifyInterval = "ATREST_VERIFY_INTERVAL"
	// EnvDedupTable is the DynamoDB table (internal/dedup) that records the
	// eventIDs judged, so a record delivered again to another execution
	// environment, or by another path, gives no findings twice; empty
	// deduplicates within one execution environment only.
	EnvDedupTable = "ATREST_DEDUP_TABLE"
	// EnvDedupTTL is how long the table remembers an eventID, as a Go
	// duration ("168h"; default dedup.DefaultTTL).
	EnvDedupTTL = "ATREST_DEDUP_TTL"
	// EnvLedgerTable is the DynamoDB table (internal/ledger) that keeps the
	// compliance status of every rule and resource across execution
	// environments; empty keeps the ledger in the execution environment's
	// memory only.
	EnvLedgerTable = "ATREST_LEDGER_TABLE"
	// EnvSettleQueue is the SQS queue URL a monitoring function sends the
	// NON_COMPLIANT verdicts it holds for the settle window to, delayed
	// until the window ends (the settle function re-checks them); empty
	// holds none past the invocation (each is re-checked when it ends).
	EnvSettleQueue = "ATREST_SETTLE_QUEUE"
	// EnvSettleSeconds is the settle window in whole seconds, 0 (off) to
	// 900; it replaces the rule config's settle_seconds. Empty keeps the
	// rule config's (default 300).
	EnvSettleSeconds = "ATREST_SETTLE_SECONDS"
	// EnvSecurityHub, "true", imports every finding into AWS Security Hub
	// (BatchImportFindings).
	EnvSecurityHub = "ATREST_SECURITY_HUB"
	// EnvTraceAWSCalls ("true") logs every AWS API call the function makes,
	// by IAM action, so tests can check the role grants what the code calls.
	EnvTraceAWSCalls = "ATREST_TRACE_AWS_CALLS"
	// EnvWatchedTrails, EnvWatchedEventRules and
	// EnvWatchedSubscriptionFilters are comma-separated lists added to the
	// rule config's watched_trails, watched_event_rules and
	// watched_subscription_filters ("LOG_GROUP:FILTER"): the monitoring
	// path atrest itself relies on, which the sweep lists and
	// cloudtrail_monitoring_intact judges from events too.
	EnvWatchedTrails              = "ATREST_WATCHED_TRAILS"
	EnvWatchedEventRules          = "ATREST_WATCHED_EVENT_RULES"
	EnvWatchedSubscriptionFilters = "ATREST_WATCHED_SUBSCRIPTION_FILTERS"
	// EnvRequireIntegrity, "true", makes trail-archive validate each log
	// file against the CloudTrail digest files of its bucket before judging
	// it, and refuse (fail the message) one not proven intact
	// (internal/integrity).
	EnvRequireIntegrity = "ATREST_REQUIRE_INTEGRITY"
	// EnvAccount is the monitor's own account id; empty asks STS once.
	EnvAccount = "ATREST_ACCOUNT"
	// EnvOrganizationExternalID is the external id passed on every
	// sts:AssumeRole of EnvOrganizationRole; empty passes none.
	EnvOrganizationExternalID = "ATREST_ORGANIZATION_EXTERNAL_ID"
	// EnvMonitoredAccounts and EnvMonitoredRegions are comma-separated
	// lists added to the rule config's monitored_accounts and
	// monitored_regions: a record of an account or region not listed is
	// reported as bad input and changes nothing, so it neither makes the
	// live store assume a role nor adds a metric dimension. Both lists
	// empty (and the config's too) judge every account and region.
	EnvMonitoredAccounts = "ATREST_MONITORED_ACCOUNTS"
	EnvMonitoredRegions  = "ATREST_MONITORED_REGIONS"
	// EnvStackAccount is the account the stack is deployed in: remediate
	// refuses finding events put in any other (default ATREST_ACCOUNT).
	EnvStackAccount = "ATREST_STACK_ACCOUNT"
	// EnvRemediationMaxAge is the oldest "Atrest Finding" event the
	// remediate function acts on: whole seconds ("3600") or a Go duration
	// ("3600s", "1h"); empty is DefaultRemediationMaxAge.
	EnvRemediationMaxAge = "ATREST_REMEDIATION_MAX_AGE"
	// EnvTrailBucket is the S3 bucket the trail delivers log files to:
	// trail-archive reads only notifications of this bucket.
	EnvTrailBucket = "ATREST_TRAIL_BUCKET"
	// EnvMaxInflatedBytes bounds what one gzip stream (a log file, an
	// awslogs payload) may inflate to, in bytes; empty is
	// cloudtrail.DefaultMaxInflatedBytes. The template sizes it to what the
	// function's timeout can read.
	EnvMaxInflatedBytes = "ATREST_MAX_INFLATED_BYTES"
	// EnvRegion is set by Lambda to the function's region.
	EnvRegion = "AWS_REGION"
)

// DefaultRemediationMaxAge is the age past which remediate refuses a
// finding event when EnvRemediationMaxAge is not set.
const DefaultRemediationMaxAge = time.Hour

// Store kinds.
const (
	StoreLive   = "live"
	StoreMemory = "memory"
)

// Metrics sinks.
const (
	MetricsEMF        = "emf"
	MetricsCloudWatch = "cloudwatch"
	MetricsNone       = "none"
)

// ErrSettings marks a bad environment variable.
var ErrSettings = errors.New("bad setting")

// Settings are a function's configuration, read from its environment.
type Settings struct {
	Store            string
	S3Root           string
	TrailBucketOwner string
	RuleConfig       string
	Metrics          string
	MetricNamespace  string
	FindingsBus      string
	OrganizationRole string
	SweepRegions     []string
	Remediate        []string
	Region           string
	Account          string
	// OrganizationExternalID is passed on every sts:AssumeRole of
	// OrganizationRole when set.
	OrganizationExternalID string
	// MonitoredAccounts and MonitoredRegions are added to the rule
	// config's monitored_accounts and monitored_regions.
	MonitoredAccounts []string
	MonitoredRegions  []string
	// StackAccount is the stack's account (EnvStackAccount, or Account).
	StackAccount string
	// RemediationMaxAge is the oldest finding event remediate acts on.
	RemediationMaxAge time.Duration
	// TrailBucket is the bucket whose notifications trail-archive reads.
	TrailBucket string
	// MaxInflatedBytes bounds one gzip stream; 0 is the decoder's default.
	MaxInflatedBytes int64
	VerifyKeys       bool
	VerifyInterval   time.Duration
	DedupTable       string
	DedupTTL         time.Duration
	// LedgerTable is the ledger's DynamoDB table name (EnvLedgerTable).
	LedgerTable string
	// SettleQueue is the settle queue's URL (EnvSettleQueue).
	SettleQueue string
	// SettleSeconds is the settle window (EnvSettleSeconds); nil keeps the
	// rule config's.
	SettleSeconds    *int
	SecurityHub      bool
	TraceAWSCalls    bool
	RequireIntegrity bool
	// Watched* are added to the rule config's watched_* lists.
	WatchedTrails              []string
	WatchedEventRules          []string
	WatchedSubscriptionFilters []string
}

// FromEnv reads Settings through getenv (os.Getenv in main). The store
// defaults to live: a function deployed without the variable reads AWS.
func FromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Store:            strings.TrimSpace(getenv(EnvStore)),
		S3Root:           getenv(EnvS3Root),
		TrailBucketOwner: strings.TrimSpace(getenv(EnvTrailBucketOwner)),
		RuleConfig:       getenv(EnvRuleConfig),
		Metrics:          strings.TrimSpace(getenv(EnvMetrics)),
		MetricNamespace:  strings.TrimSpace(getenv(EnvMetricNamespace)),
		FindingsBus:      strings.TrimSpace(getenv(EnvFindingsBus)),
		OrganizationRole: strings.TrimSpace(getenv(EnvOrganizationRole)),
		SweepRegions:     splitList(getenv(EnvSweepRegions)),
		Remediate:        splitList(getenv(EnvRemediate)),
		Region:           strings.TrimSpace(getenv(EnvRegion)),
		Account:          strings.TrimSpace(getenv(EnvAccount)),
		DedupTable:       strings.TrimSpace(getenv(EnvDedupTable)),
		LedgerTable:      strings.TrimSpace(getenv(EnvLedgerTable)),
		SettleQueue:      strings.TrimSpace(getenv(EnvSettleQueue)),

		OrganizationExternalID: strings.TrimSpace(getenv(EnvOrganizationExternalID)),
		MonitoredAccounts:      splitList(getenv(EnvMonitoredAccounts)),
		MonitoredRegions:       splitList(getenv(EnvMonitoredRegions)),
		StackAccount:           strings.TrimSpace(getenv(EnvStackAccount)),
		TrailBucket:            strings.TrimSpace(getenv(EnvTrailBucket)),

		WatchedTrails:              splitList(getenv(EnvWatchedTrails)),
		WatchedEventRules:          splitList(getenv(EnvWatchedEventRules)),
		WatchedSubscriptionFilters: splitList(getenv(EnvWatchedSubscriptionFilters)),
	}
	var err error
	if s.VerifyKeys, err = boolSetting(getenv, EnvVerifyKeys); err != nil {
		return s, err
	}
	if s.SecurityHub, err = boolSetting(getenv, EnvSecurityHub); err != nil {
		return s, err
	}
	if s.TraceAWSCalls, err = boolSetting(getenv, EnvTraceAWSCalls); err != nil {
		return s, err
	}
	if s.RequireIntegrity, err = boolSetting(getenv, EnvRequireIntegrity); err != nil {
		return s, err
	}
	if s.VerifyInterval, err = durationSetting(getenv, EnvVerifyInterval, keyverify.DefaultInterval, 0); err != nil {
		return s, err
	}
	if s.DedupTTL, err = durationSetting(getenv, EnvDedupTTL, dedup.DefaultTTL, time.Second); err != nil {
		return s, err
	}
	if s.RemediationMaxAge, err = ageSetting(getenv, EnvRemediationMaxAge, DefaultRemediationMaxAge); err != nil {
		return s, err
	}
	if v := strings.TrimSpace(getenv(EnvSettleSeconds)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > config.MaxSettleSeconds {
			return s, fmt.Errorf("%w: %s=%q, want whole seconds from 0 (off) to %d", ErrSettings, EnvSettleSeconds, v, config.MaxSettleSeconds)
		}
		s.SettleSeconds = &n
	}
	if s.SettleQueue != "" && !strings.HasPrefix(s.SettleQueue, "https://") && !strings.HasPrefix(s.SettleQueue, "http://") {
		return s, fmt.Errorf("%w: %s=%q is not a queue URL", ErrSettings, EnvSettleQueue, s.SettleQueue)
	}
	if s.StackAccount == "" {
		s.StackAccount = s.Account
	}
	if v := strings.TrimSpace(getenv(EnvMaxInflatedBytes)); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return s, fmt.Errorf("%w: %s=%q, want a number of bytes above 0", ErrSettings, EnvMaxInflatedBytes, v)
		}
		s.MaxInflatedBytes = n
	}
	if s.Store == "" {
		s.Store = StoreLive
	}
	if s.Store != StoreLive && s.Store != StoreMemory {
		return s, fmt.Errorf("%w: %s=%q, want %q or %q", ErrSettings, EnvStore, s.Store, StoreLive, StoreMemory)
	}
	if s.Metrics == "" {
		s.Metrics = MetricsEMF
	}
	switch s.Metrics {
	case MetricsEMF, MetricsCloudWatch, MetricsNone:
	default:
		return s, fmt.Errorf("%w: %s=%q, want emf, cloudwatch or none", ErrSettings, EnvMetrics, s.Metrics)
	}
	if len(s.SweepRegions) == 0 && s.Region != "" {
		s.SweepRegions = []string{s.Region}
	}
	for name, v := range map[string]string{EnvTrailBucketOwner: s.TrailBucketOwner, EnvStackAccount: s.StackAccount} {
		if v != "" && !isAccountID(v) {
			return s, fmt.Errorf("%w: %s=%q is not an account id", ErrSettings, name, v)
		}
	}
	if s.LedgerTable != "" && !isTableName(s.LedgerTable) {
		return s, fmt.Errorf("%w: %s=%q is not a DynamoDB table name (3 to 255 of a-z, A-Z, 0-9, _ - .)", ErrSettings, EnvLedgerTable, s.LedgerTable)
	}
	return s, nil
}

// isTableName reports whether v follows DynamoDB's naming rules for a table:
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
func isTableName(v string) bool {
	if len(v) < 3 || len(v) > 255 {
		return false
	}
	for _, c := range v {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// isAccountID reports whether v is a 12-digit AWS account id.
func isAccountID(v string) bool {
	_, err := strconv.ParseUint(v, 10, 64)
	return err == nil && len(v) == 12
}

// boolSetting reads "true" or "false"; empty is false.
func boolSetting(getenv func(string) string, name string) (bool, error) {
	switch v := strings.TrimSpace(getenv(name)); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, fmt.Errorf("%w: %s=%q, want true or false", ErrSettings, name, v)
	}
}

// durationSetting reads a Go duration of at least least; empty is def.
func durationSetting(getenv func(string) string, name string, def, least time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < least {
		return 0, fmt.Errorf("%w: %s=%q, want a duration of at least %v such as \"1h\"", ErrSettings, name, v, least)
	}
	return d, nil
}

// ageSetting reads a positive age: whole seconds or a Go duration; empty
// is def.
func ageSetting(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := strings.TrimSpace(getenv(name))
	if v == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 || n > math.MaxInt64/int64(time.Second) {
			return 0, fmt.Errorf("%w: %s=%q, want a positive number of seconds", ErrSettings, name, v)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%w: %s=%q, want a positive number of seconds or a duration such as \"1h\"", ErrSettings, name, v)
	}
	return d, nil
}

func splitList(v string) []string {
	var out []string
	for part := range strings.SplitSeq(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
