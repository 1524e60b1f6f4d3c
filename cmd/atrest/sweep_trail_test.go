package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

const monitoringRule = "cloudtrail_monitoring_intact"

// createKinesisStream creates a stream on moto with a plain JSON 1.1 call
// (moto checks that a subscription filter's destination exists; the SDK's
// Kinesis module is not a dependency of atrest).
func createKinesisStream(t *testing.T, url, name string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"StreamName":"`+name+`","ShardCount":1}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "Kinesis_20131202.CreateStream")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=testing/20260101/"+awstest.Region+"/kinesis/aws4_request, SignedHeaders=host, Signature=x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK {
		t.Fatalf("CreateStream: %s %s", resp.Status, b)
	}
	return "arn:aws:kinesis:" + awstest.Region + ":" + awstest.Account + ":stream/" + name
}

// TestSweepTrailOnMoto sweeps the monitoring path on moto after each way of
// turning atrest's evidence off: a trail logging with the default selectors
// is compliant; stopped, or with selectors that exclude KMS, it is not; a
// watched EventBridge rule disabled and a watched subscription filter that
// does not exist are not.
func TestSweepTrailOnMoto(t *testing.T) {
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	cfg := awstest.Config(t, url)
	ctx := context.Background()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	ct := awscloudtrail.NewFromConfig(cfg)
	ev := eventbridge.NewFromConfig(cfg)
	logs := cloudwatchlogs.NewFromConfig(cfg)
	must(s3.NewFromConfig(cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}))
	created, err := ct.CreateTrail(ctx, &awscloudtrail.CreateTrailInput{Name: aws.String("org"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	trailARN := aws.ToString(created.TrailARN)
	must(ct.StartLogging(ctx, &awscloudtrail.StartLoggingInput{Name: aws.String("org")}))
	rule, err := ev.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("atrest-trail-events"), EventPattern: aws.String(`{"source":["aws.kms"]}`)})
	if err != nil {
		t.Fatal(err)
	}
	ruleARN := aws.ToString(rule.RuleArn)
	must(ev.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("atrest-trail-events"), Targets: []ebtypes.Target{
		{Id: aws.String("trail-events"), Arn: aws.String("arn:aws:lambda:" + awstest.Region + ":" + awstest.Account + ":function:atrest-trail-events")},
	}}))
	must(logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("aws-cloudtrail-logs")}))
	must(logs.PutSubscriptionFilter(ctx, &cloudwatchlogs.PutSubscriptionFilterInput{
		LogGroupName: aws.String("aws-cloudtrail-logs"), FilterName: aws.String("atrest"), FilterPattern: aws.String(""),
		DestinationArn: aws.String(createKinesisStream(t, url, "atrest")), RoleArn: aws.String("arn:aws:iam::" + awstest.Account + ":role/logs"),
	}))
	filterID := state.SubscriptionFilterID(awstest.Region, awstest.Account, "aws-cloudtrail-logs", "atrest")
	goneID := state.SubscriptionFilterID(awstest.Region, awstest.Account, "aws-cloudtrail-logs", "gone")

	conf := filepath.Join(t.TempDir(), "atrest.yaml")
	if err := os.WriteFile(conf, []byte("watched_event_rules: [atrest-trail-events]\n"+
		"watched_subscription_filters: [\"aws-cloudtrail-logs:atrest\", \"aws-cloudtrail-logs:gone\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pointAt(t, url)
	sweep := func(t *testing.T) map[string]finding.Finding {
		t.Helper()
		out, stderr, code := runCLI(t, "", "sweep", "--format", "json", "--config", conf, "--regions", awstest.Region)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "1 trails, 3 watched rules and filters") {
			t.Errorf("stderr = %q, want the trail and the three watched resources counted", stderr)
		}
		got := map[string]finding.Finding{}
		for _, f := range decodeFindings(t, out) {
			if f.Rule == monitoringRule {
				got[f.Resource] = f
			}
		}
		if len(got) != 4 {
			t.Errorf("%d %s findings, want 4: %v", len(got), monitoringRule, got)
		}
		return got
	}
	type want struct {
		status finding.Status
		reason string // a part of the reason
	}
	check := func(t *testing.T, got map[string]finding.Finding, wants map[string]want) {
		t.Helper()
		for res, w := range wants {
			f, ok := got[res]
			if !ok {
				t.Errorf("no %s finding for %s", monitoringRule, res)
				continue
			}
			if f.Status != w.status || !strings.Contains(f.Reason, w.reason) || f.Source != "sweep" || f.ResourceType != string(state.TypeMonitoringPath) {
				t.Errorf("%s = %s %q (source %s, type %s), want %s with %q", res, f.Status, f.Reason, f.Source, f.ResourceType, w.status, w.reason)
			}
		}
	}
	pathIntact := map[string]want{
		ruleARN:  {finding.Compliant, "watched EventBridge rule atrest-trail-events is enabled"},
		filterID: {finding.Compliant, "watched subscription filter atrest on log group aws-cloudtrail-logs is in place"},
		goneID:   {finding.NonCompliant, "watched subscription filter gone on log group aws-cloudtrail-logs was deleted"},
	}

	t.Run("logging with the default selectors", func(t *testing.T) {
		got := sweep(t)
		check(t, got, pathIntact)
		check(t, got, map[string]want{trailARN: {finding.Compliant, "trail org is logging"}})
	})
	t.Run("StopLogging", func(t *testing.T) {
		must(ct.StopLogging(ctx, &awscloudtrail.StopLoggingInput{Name: aws.String("org")}))
		check(t, sweep(t), map[string]want{trailARN: {finding.NonCompliant, "trail org: logging is off"}})
	})
	t.Run("selectors excluding KMS", func(t *testing.T) {
		must(ct.StartLogging(ctx, &awscloudtrail.StartLoggingInput{Name: aws.String("org")}))
		must(ct.PutEventSelectors(ctx, &awscloudtrail.PutEventSelectorsInput{TrailName: aws.String("org"), EventSelectors: []cttypes.EventSelector{{
			ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true), ExcludeManagementEventSources: []string{"kms.amazonaws.com"},
		}}}))
		check(t, sweep(t), map[string]want{trailARN: {finding.NonCompliant, "trail org: event selectors do not log write management events from kms.amazonaws.com"}})
	})
	t.Run("watched rule disabled", func(t *testing.T) {
		must(ev.DisableRule(ctx, &eventbridge.DisableRuleInput{Name: aws.String("atrest-trail-events")}))
		got := sweep(t)
		check(t, got, map[string]want{
			ruleARN:  {finding.NonCompliant, "watched EventBridge rule atrest-trail-events is disabled"},
			trailARN: {finding.NonCompliant, "kms.amazonaws.com"},
		})
	})
}
