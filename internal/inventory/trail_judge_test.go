package inventory

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// TestLiveMonitoringVerdicts: what the sweep reads (DescribeRule's
// EventPattern, ListTargetsByRule's target ARNs, DescribeSubscriptionFilters'
// filterPattern, DescribeTrails' CloudWatchLogsLogGroupArn and
// IsMultiRegionTrail) is judged as the events are: each resource is read
// once, changed in AWS, read again after the cache's TTL, and judged by
// cloudtrail_monitoring_intact.
func TestLiveMonitoringVerdicts(t *testing.T) {
	e, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	kmsOnly := func(names ...string) string {
		return fmt.Sprintf(`{"source":["aws.kms"],"detail":{"eventName":["%s"]}}`, strings.Join(names, `","`))
	}
	rule := func(f *trailFixture) *fakeRule { return f.rules[testRegion].rules["atrest-trail-events"] }
	allKMSBut := func(keep string) string {
		var out []string
		for _, n := range cloudtrail.SourceEventNames(cloudtrail.SourceKMS) {
			if n != keep {
				out = append(out, n)
			}
		}
		return strings.Join(out, ", ")
	}
	tests := []struct {
		name   string
		arn    string
		change func(f *trailFixture)
		want   string
	}{
		{name: "rule as deployed", arn: ruleARN,
			want: "COMPLIANT: watched EventBridge rule atrest-trail-events is enabled"},
		{name: "rule pattern narrowed", arn: ruleARN, change: func(f *trailFixture) { rule(f).pattern = kmsOnly("CreateKey") },
			want: "NON_COMPLIANT: watched EventBridge rule atrest-trail-events: its event pattern no longer matches kms.amazonaws.com calls " + allKMSBut("CreateKey")},
		{name: "rule pattern unreadable", arn: ruleARN, change: func(f *trailFixture) { rule(f).pattern = `{"source":[{"regex":"kms"}]}` },
			want: `NON_COMPLIANT: watched EventBridge rule atrest-trail-events: atrest cannot read its event pattern (event pattern cannot be read: source: operator "regex" is not supported)`},
		{name: "rule without a pattern", arn: ruleARN, change: func(f *trailFixture) { rule(f).pattern = "" },
			want: "NON_COMPLIANT: watched EventBridge rule atrest-trail-events: its event pattern matches no elasticfilesystem.amazonaws.com call atrest judges; its event pattern matches no kms.amazonaws.com call atrest judges"},
		{name: "target re-pointed", arn: ruleARN, change: func(f *trailFixture) { rule(f).arns = map[string]string{"fn": "arn:aws:sqs:x:1:q"} },
			want: "NON_COMPLIANT: watched EventBridge rule atrest-trail-events: target fn points to arn:aws:sqs:x:1:q, not " + fnTarget},
		{name: "target removed", arn: ruleARN, change: func(f *trailFixture) { rule(f).targets = []string{"queue"} },
			want: "NON_COMPLIANT: watched EventBridge rule atrest-trail-events: targets fn were removed"},
		{name: "filter as deployed", arn: filterID,
			want: "COMPLIANT: watched subscription filter atrest on log group aws-cloudtrail-logs is in place"},
		{name: "filter dropping EFS", arn: filterID,
			change: func(f *trailFixture) {
				f.logs[testRegion].patterns["atrest"] = `{ $.eventSource = "kms.amazonaws.com" }`
			},
			want: "NON_COMPLIANT: watched subscription filter atrest on log group aws-cloudtrail-logs: its filter pattern drops every elasticfilesystem.amazonaws.com record"},
		{name: "filter pattern unreadable", arn: filterID, change: func(f *trailFixture) { f.logs[testRegion].patterns["atrest"] = `?kms ?efs` },
			want: "NON_COMPLIANT: watched subscription filter atrest on log group aws-cloudtrail-logs: atrest cannot read its filter pattern (filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read)"},
		{name: "log group deleted", arn: filterID, change: func(f *trailFixture) { delete(f.logs[testRegion].filters, "aws-cloudtrail-logs") },
			want: "NON_COMPLIANT: log group aws-cloudtrail-logs of watched subscription filter atrest on log group aws-cloudtrail-logs was deleted"},
		{name: "trail delivering to the watched log group", arn: trailOrg,
			want: "COMPLIANT: trail org is logging"},
		{name: "trail's CloudWatch Logs delivery removed", arn: trailOrg,
			change: func(f *trailFixture) { f.trails[testRegion].trails[trailOrg].desc.CloudWatchLogsLogGroupArn = nil },
			want:   "NON_COMPLIANT: trail org: CloudWatch Logs delivery to log group aws-cloudtrail-logs, which watched subscription filters read, was removed"},
		{name: "single-Region trail and two monitored regions", arn: trailAudit,
			want: "NON_COMPLIANT: trail audit: event selectors do not log write management events from kms.amazonaws.com; single-Region trail logs only us-west-2, not monitored regions " + testRegion},
		{name: "single-Region trail made multi-Region", arn: trailAudit, change: func(f *trailFixture) {
			a := f.trails[testRegion].trails[trailAudit]
			a.desc.IsMultiRegionTrail, a.selectors = aws.Bool(true), nil
			a.desc.HasCustomEventSelectors = aws.Bool(false)
		}, want: "COMPLIANT: trail audit is logging"},
	}
	cfg := config.Default()
	cfg.WatchedEventRules = []string{"atrest-trail-events"}
	cfg.WatchedSubscriptionFilters = []string{"aws-cloudtrail-logs:atrest"}
	cfg.MonitoredRegions = []string{testRegion, otherRegion}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrailFixture(t, Watch{EventRules: cfg.WatchedEventRules, SubscriptionFilters: cfg.WatchedSubscriptionFilters})
			ctx := context.Background()
			ref := state.ResourceRef{Type: state.TypeMonitoringPath, ARN: tc.arn}
			if _, _, err := pipeline.BuildInput(ctx, f.live, ref, nil, cfg); err != nil {
				t.Fatal(err)
			}
			if tc.change != nil {
				tc.change(f)
			}
			f.clock.Add(2 * time.Minute) // past the TTL
			in, _, err := pipeline.BuildInput(ctx, f.live, ref, nil, cfg)
			if err != nil {
				t.Fatal(err)
			}
			res, err := e.Evaluate(ctx, in)
			if err != nil || len(res) != 1 {
				t.Fatalf("Evaluate = %+v, %v", res, err)
			}
			if got := fmt.Sprintf("%s: %s", res[0].Status, res[0].Reason); got != tc.want {
				t.Errorf("verdict:\n %s\nwant\n %s", got, tc.want)
			}
		})
	}
}
