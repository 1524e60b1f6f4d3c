package inventory

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

// TestMotoTrails reads trails from moto: a multi-region trail is listed in
// every region (as a shadow trail outside its home) and swept once; a
// single-region trail only in its own region. moto returns no event
// selectors for a trail created without any, where AWS returns the default
// selector; DescribeTrails' HasCustomEventSelectors false makes the live
// store read the default.
func TestMotoTrails(t *testing.T) {
	ctx := context.Background()
	e := newMotoEnv(t, "")
	must(s3.NewFromConfig(e.cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}))
	ct := awscloudtrail.NewFromConfig(e.cfg)
	org := aws.ToString(must(ct.CreateTrail(ctx, &awscloudtrail.CreateTrailInput{
		Name: aws.String("org"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true),
	})).TrailARN)
	must(ct.StartLogging(ctx, &awscloudtrail.StartLoggingInput{Name: aws.String("org")}))
	euCfg := e.cfg.Copy()
	euCfg.Region = "eu-west-1"
	local := aws.ToString(must(awscloudtrail.NewFromConfig(euCfg).CreateTrail(ctx, &awscloudtrail.CreateTrailInput{
		Name: aws.String("local"), S3BucketName: aws.String("trail-logs"),
	})).TrailARN)

	res, err := e.live.Sweep(ctx, []string{awstest.Region, "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 0 {
		t.Fatalf("sweep errors: %v", res.Errors)
	}
	var trails []state.ResourceRef
	for _, r := range res.Refs {
		if r.Type == state.TypeMonitoringPath {
			trails = append(trails, r)
		}
	}
	want := []state.ResourceRef{{Type: state.TypeMonitoringPath, ARN: local}, {Type: state.TypeMonitoringPath, ARN: org}}
	if !reflect.DeepEqual(trails, want) || res.Trails != 2 || res.Watched != 0 {
		t.Fatalf("trail refs = %v (%d, %d watched), want %v", trails, res.Trails, res.Watched, want)
	}
	on, off := true, false
	for _, tc := range []struct {
		arn  string
		want *state.Trail
	}{
		{org, &state.Trail{ARN: org, Name: "org", Account: awstest.Account, HomeRegion: awstest.Region, Logging: state.LoggingOn,
			MultiRegion: &on, IncludeGlobalEvents: &on, S3Bucket: "trail-logs", BaselineMultiRegion: &on, BaselineS3Bucket: "trail-logs",
			ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, CloudWatchLogsKnown: true, Updated: e.now}},
		// CreateTrail leaves a trail off until StartLogging.
		{local, &state.Trail{ARN: local, Name: "local", Account: awstest.Account, HomeRegion: "eu-west-1", Logging: state.LoggingOff,
			MultiRegion: &off, IncludeGlobalEvents: &on, S3Bucket: "trail-logs", BaselineMultiRegion: &off, BaselineS3Bucket: "trail-logs",
			ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, CloudWatchLogsKnown: true, Updated: e.now}},
	} {
		got, err := e.live.Trail(ctx, tc.arn)
		if err != nil {
			t.Fatal(err)
		}
		assertJSONEqual(t, got, tc.want)
	}
	// The sweep read each trail once, in its home region.
	for _, op := range []string{"GetTrailStatus", "GetEventSelectors"} {
		if n := e.calls.Get(op); n != 2 {
			t.Errorf("%s calls = %d, want 2", op, n)
		}
	}
}

// TestMotoMonitoringPathReads reads from moto what the monitoring rule judges
// beyond existence: DescribeRule's EventPattern, ListTargetsByRule's target
// ARNs, and DescribeTrails' CloudWatchLogsLogGroupArn (UpdateTrail with ""
// clears it). moto's PutSubscriptionFilter needs an existing Lambda,
// Firehose or Kinesis destination, which this module's SDK clients cannot
// create, so filter patterns are read from the fake in TestWatchedSnapshot
// and TestLiveMonitoringVerdicts only.
func TestMotoMonitoringPathReads(t *testing.T) {
	ctx := context.Background()
	e := newMotoEnv(t, "")
	e.live = NewLive(Options{Clients: e.acc, Now: func() time.Time { return e.now },
		Watch: Watch{EventRules: []string{"atrest-kms-calls"}}})
	eb := eventbridge.NewFromConfig(e.cfg)
	full := `{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail","AWS Service Event via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":[{"prefix":""}]}}`
	ruleARN := aws.ToString(must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("atrest-kms-calls"), EventPattern: aws.String(full)})).RuleArn)
	fn := "arn:aws:logs:" + awstest.Region + ":" + awstest.Account + ":log-group:atrest"
	must(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("atrest-kms-calls"), Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(fn)}}}))

	w := must(e.live.Watched(ctx, ruleARN))
	if !w.PatternKnown || w.PatternError != "" || len(w.Dropped) != 0 || w.Targets["fn"] != fn || len(w.Retargeted()) != 0 {
		t.Fatalf("rule as put = %+v", w)
	}
	// Narrowed and re-pointed; read again after the cache's TTL.
	must(eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("atrest-kms-calls"),
		EventPattern: aws.String(`{"source":["aws.kms"],"detail":{"eventName":["CreateKey"]}}`)}))
	other := "arn:aws:logs:" + awstest.Region + ":" + awstest.Account + ":log-group:elsewhere"
	must(eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("atrest-kms-calls"), Targets: []ebtypes.Target{{Id: aws.String("fn"), Arn: aws.String(other)}}}))
	e.now = e.now.Add(2 * time.Minute)
	w = must(e.live.Watched(ctx, ruleARN))
	if len(w.Dropped) != 1 || w.Dropped[0].Source != cloudtrail.SourceKMS || w.Dropped[0].All || slices.Contains(w.Dropped[0].EventNames, "CreateKey") {
		t.Errorf("narrowed rule: dropped %+v", w.Dropped)
	}
	if got, want := w.Retargeted(), []state.Retarget{{ID: "fn", ARN: other, Expected: fn}}; !reflect.DeepEqual(got, want) {
		t.Errorf("retargeted = %+v, want %+v", got, want)
	}

	must(s3.NewFromConfig(e.cfg).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("trail-logs")}))
	ct := awscloudtrail.NewFromConfig(e.cfg)
	group := "arn:aws:logs:" + awstest.Region + ":" + awstest.Account + ":log-group:trail:*"
	org := aws.ToString(must(ct.CreateTrail(ctx, &awscloudtrail.CreateTrailInput{
		Name: aws.String("org"), S3BucketName: aws.String("trail-logs"), IsMultiRegionTrail: aws.Bool(true),
		CloudWatchLogsLogGroupArn: aws.String(group), CloudWatchLogsRoleArn: aws.String("arn:aws:iam::" + awstest.Account + ":role/ct"),
	})).TrailARN)
	tr := must(e.live.Trail(ctx, org))
	if !tr.CloudWatchLogsKnown || tr.CloudWatchLogsLogGroupARN != group || tr.BaselineCloudWatchLogsLogGroupARN != group {
		t.Fatalf("trail as created: delivery %q (known %v), baseline %q", tr.CloudWatchLogsLogGroupARN, tr.CloudWatchLogsKnown, tr.BaselineCloudWatchLogsLogGroupARN)
	}
	must(ct.UpdateTrail(ctx, &awscloudtrail.UpdateTrailInput{Name: aws.String("org"), CloudWatchLogsLogGroupArn: aws.String(""), CloudWatchLogsRoleArn: aws.String("")}))
	e.now = e.now.Add(2 * time.Minute)
	tr = must(e.live.Trail(ctx, org))
	if !tr.CloudWatchLogsKnown || tr.CloudWatchLogsLogGroupARN != "" || tr.BaselineCloudWatchLogsLogGroupARN != group {
		t.Errorf("trail after the update: delivery %q (known %v), baseline %q", tr.CloudWatchLogsLogGroupARN, tr.CloudWatchLogsKnown, tr.BaselineCloudWatchLogsLogGroupARN)
	}
}
