package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestParseWatchedLists(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte(`
watched_trails: [org, "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit"]
watched_event_rules: [atrest-trail-events, "arn:aws:events:us-east-1:111122223333:rule/bus/r"]
watched_subscription_filters: ["aws-cloudtrail-logs:atrest", "/org/trail:*"]
`))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.WatchedTrails = []string{"org", "arn:aws:cloudtrail:us-east-1:111122223333:trail/audit"}
	want.WatchedEventRules = []string{"atrest-trail-events", "arn:aws:events:us-east-1:111122223333:rule/bus/r"}
	want.WatchedSubscriptionFilters = []string{"aws-cloudtrail-logs:atrest", "/org/trail:*"}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("Parse = %+v, want %+v", cfg, want)
	}
}

func TestDefaultListsAreEmptyNotNull(t *testing.T) {
	for _, text := range []string{"", "watched_trails: null\nwatched_event_rules:\n"} {
		cfg, err := Parse("c.yaml", []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.WatchedTrails == nil || cfg.WatchedEventRules == nil || cfg.WatchedSubscriptionFilters == nil || cfg.AllowedKMSKeyARNs == nil {
			t.Errorf("Parse(%q) = %+v: lists must be empty, not nil", text, cfg)
		}
	}
}

func TestValidateWatchedLists(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"trail ARN of another service", `watched_trails: ["arn:aws:s3:::bucket"]`, "watched_trails[0]"},
		{"empty trail", `watched_trails: [""]`, "watched_trails[0]"},
		{"rule ARN of another service", `watched_event_rules: [ok, "arn:aws:sqs:us-east-1:1:q"]`, "watched_event_rules[1]"},
		{"filter without group", `watched_subscription_filters: [":f"]`, "watched_subscription_filters[0]"},
		{"filter without colon", `watched_subscription_filters: ["group"]`, "watched_subscription_filters[0]"},
		{"filter with two colons", `watched_subscription_filters: ["g:f:x"]`, "watched_subscription_filters[0]"},
		{"unknown key", `watched_rules: [x]`, "watched_rules"},
		{"account not 12 digits", `monitored_accounts: ["1111"]`, "monitored_accounts[0]"},
		{"region not a region", `monitored_regions: [us-east-1, "Mars"]`, "monitored_regions[1]"},
		{"rotation period too short", `max_rotation_period_days: 30`, "max_rotation_period_days 30"},
		{"allowed key not a key ARN", `allowed_kms_key_arns: ["alias/x"]`, "allowed_kms_key_arns[0]"},
		{"wrong type", `require_customer_managed_keys: "yes"`, "require_customer_managed_keys"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tc.text))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Parse = %v, want an error naming %s", err, tc.want)
			}
		})
	}
}

func TestMonitors(t *testing.T) {
	cfg, err := Parse("c.yaml", []byte("monitored_accounts: [\"111122223333\"]\nmonitored_regions: [eu-west-1]\n"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		account, region string
		want            bool
	}{
		{"111122223333", "eu-west-1", true},
		{"111122223333", "us-east-1", false},
		{"999988887777", "eu-west-1", false},
	}
	for _, tc := range tests {
		if got := cfg.Monitors(tc.account, tc.region); got != tc.want {
			t.Errorf("Monitors(%s, %s) = %v, want %v", tc.account, tc.region, got, tc.want)
		}
	}
	if !Default().Monitors("999988887777", "ap-south-2") {
		t.Error("the default config must monitor every account and region")
	}
}
