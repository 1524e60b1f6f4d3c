// Package config holds the rule parameters atrest evaluates with, loaded from
// a YAML or JSON file, with documented defaults embedded in the binary.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/atrest/atrest/internal/arns"
)

// Config is the set of rule parameters.
type Config struct {
	// AllowedKMSKeyARNs, when not empty, lists the only keys a file system
	// may be encrypted with (efs_encrypted_at_rest). Default: empty (any key).
	AllowedKMSKeyARNs []string `yaml:"allowed_kms_key_arns" json:"allowed_kms_key_arns"`
	// RequireCustomerManagedKeys makes a file system encrypted with an AWS
	// managed key non-compliant (efs_encrypted_at_rest). Default: false.
	RequireCustomerManagedKeys bool `yaml:"require_customer_managed_keys" json:"require_customer_managed_keys"`
	// MaxRotationPeriodDays, when above zero, is the longest rotation period
	// a key may have: a key that rotates less often is non-compliant (kms_key_rotation_enabled). KMS allows
	// 90 to 2560 days and defaults to 365. Default: 0 (any period).
	MaxRotationPeriodDays int `yaml:"max_rotation_period_days" json:"max_rotation_period_days"`
	// WatchedTrails names the CloudTrail trails atrest relies on, by name or
	// ARN (cloudtrail_monitoring_intact). Default: empty (every trail seen).
	WatchedTrails []string `yaml:"watched_trails" json:"watched_trails"`
	// WatchedEventRules names the EventBridge rules that deliver events to
	// atrest, by name (any bus, account and region) or rule ARN
	// (cloudtrail_monitoring_intact). Default: empty (none watched).
	WatchedEventRules []string `yaml:"watched_event_rules" json:"watched_event_rules"`
	// WatchedSubscriptionFilters names the CloudWatch Logs subscription
	// filters that deliver events to atrest, each "LOG_GROUP:FILTER" (FILTER
	// "*": every filter on the group; neither name may contain a colon)
	// (cloudtrail_monitoring_intact). Default: empty (none watched).
	WatchedSubscriptionFilters []string `yaml:"watched_subscription_filters" json:"watched_subscription_filters"`
	// MonitoredAccounts, when not empty, lists the only accounts whose
	// records are judged; a record of another account is reported as bad
	// input (a misrouted or forged delivery) and changes nothing. Not a rule
	// parameter, so rules do not see it. Default: empty (any account).
	MonitoredAccounts []string `yaml:"monitored_accounts" json:"-"`
	// SettleSeconds is the settle window: a NON_COMPLIANT verdict that a
	// rule's METADATA (custom.settle_after) names as expected right after a
	// resource's creation (rotation after CreateKey, logging after
	// CreateTrail, the TLS policy after CreateFileSystem) is held this long
	// and published only if the resource is still non-compliant then. 0
	// turns the window off; at most MaxSettleSeconds. Not a rule
	// parameter. Default: DefaultSettleSeconds.
	SettleSeconds int `yaml:"settle_seconds" json:"-"`
	// MonitoredRegions, like MonitoredAccounts, for regions. Default: empty
	// (any region).
	MonitoredRegions []string `yaml:"monitored_regions" json:"-"`
}

// Monitors reports whether records of account and region are in scope.
func (c Config) Monitors(account, region string) bool {
	return (len(c.MonitoredAccounts) == 0 || slices.Contains(c.MonitoredAccounts, account)) &&
		(len(c.MonitoredRegions) == 0 || slices.Contains(c.MonitoredRegions, region))
}

// The settle window's default and bound: SQS delays a message by at most
// 15 minutes, which is how the functions re-check a held verdict.
const (
	DefaultSettleSeconds = 300
	MaxSettleSeconds     = 900
)

// Default returns the embedded defaults.
func Default() Config {
	return Config{
		SettleSeconds:              DefaultSettleSeconds,
		AllowedKMSKeyARNs:          []string{},
		WatchedTrails:              []string{},
		WatchedEventRules:          []string{},
		WatchedSubscriptionFilters: []string{},
	}
}

// Load reads a config file. Unknown keys and wrong types are errors that name
// the file and line.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes config text (YAML, of which JSON is a subset).
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	if err := checkTypes(&doc); err != nil {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config %s: %w", name, err)
	}
	for _, list := range []*[]string{&cfg.AllowedKMSKeyARNs, &cfg.WatchedTrails, &cfg.WatchedEventRules, &cfg.WatchedSubscriptionFilters} {
		if *list == nil {
			*list = []string{}
		}
	}
	return cfg, cfg.Validate(name)
}

// checkTypes rejects values whose YAML type differs from the field's: YAML
// would otherwise turn the string "yes" into true or "90" into 90.
func checkTypes(doc *yaml.Node) error {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping of parameters", root.Line)
	}
	fields := map[string]reflect.Kind{}
	t := reflect.TypeFor[Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		fields[strings.Split(f.Tag.Get("yaml"), ",")[0]] = f.Type.Kind()
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key, val := root.Content[i], root.Content[i+1]
		kind, ok := fields[key.Value]
		if !ok || (val.Kind == yaml.ScalarNode && val.Tag == "!!null") {
			continue // unknown keys are reported by the decoder; null keeps the default
		}
		var want string
		switch kind {
		case reflect.Bool:
			want = "!!bool"
		case reflect.Int:
			want = "!!int"
		case reflect.Slice:
			if val.Kind != yaml.SequenceNode {
				return fmt.Errorf("line %d: %s: want a list", val.Line, key.Value)
			}
			for _, item := range val.Content {
				if item.Kind != yaml.ScalarNode || item.Tag != "!!str" {
					return fmt.Errorf("line %d: %s: want a list of strings", item.Line, key.Value)
				}
			}
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Tag != want {
			return fmt.Errorf("line %d: %s: want %s, got %s", val.Line, key.Value, strings.TrimPrefix(want, "!!"), strings.TrimPrefix(val.Tag, "!!"))
		}
	}
	return nil
}

var (
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// Validate checks the parameters' ranges.
func (c Config) Validate(name string) error {
	for i, a := range c.MonitoredAccounts {
		if !accountRE.MatchString(a) {
			return fmt.Errorf("config %s: monitored_accounts[%d] %q is not a 12-digit account id", name, i, a)
		}
	}
	for i, r := range c.MonitoredRegions {
		if !regionRE.MatchString(r) {
			return fmt.Errorf("config %s: monitored_regions[%d] %q is not a region name", name, i, r)
		}
	}
	if c.SettleSeconds < 0 || c.SettleSeconds > MaxSettleSeconds {
		return fmt.Errorf("config %s: settle_seconds %d: want 0 (off) to %d", name, c.SettleSeconds, MaxSettleSeconds)
	}
	if c.MaxRotationPeriodDays != 0 && (c.MaxRotationPeriodDays < 90 || c.MaxRotationPeriodDays > 2560) {
		return fmt.Errorf("config %s: max_rotation_period_days %d: KMS allows 90 to 2560 days", name, c.MaxRotationPeriodDays)
	}
	for i, a := range c.AllowedKMSKeyARNs {
		if !arns.IsKeyARN(a) {
			return fmt.Errorf("config %s: allowed_kms_key_arns[%d] %q is not a KMS key ARN", name, i, a)
		}
	}
	for i, t := range c.WatchedTrails {
		if t == "" || (arns.LooksLikeARN(t) && !arns.IsARNOf(t, arns.ServiceCloudTrail, "trail/")) {
			return fmt.Errorf("config %s: watched_trails[%d] %q is not a trail name or trail ARN", name, i, t)
		}
	}
	for i, r := range c.WatchedEventRules {
		if r == "" || (arns.LooksLikeARN(r) && !arns.IsARNOf(r, arns.ServiceEvents, "rule/")) {
			return fmt.Errorf("config %s: watched_event_rules[%d] %q is not an EventBridge rule name or rule ARN", name, i, r)
		}
	}
	for i, f := range c.WatchedSubscriptionFilters {
		group, filter, ok := strings.Cut(f, ":")
		if !ok || group == "" || filter == "" || strings.Contains(filter, ":") {
			return fmt.Errorf("config %s: watched_subscription_filters[%d] %q is not LOG_GROUP:FILTER", name, i, f)
		}
	}
	return nil
}
