package inventory

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/awstest"
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
		if r.Type == state.TypeTrail {
			trails = append(trails, r)
		}
	}
	want := []state.ResourceRef{{Type: state.TypeTrail, ARN: local}, {Type: state.TypeTrail, ARN: org}}
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
			ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, Updated: e.now}},
		// CreateTrail leaves a trail off until StartLogging.
		{local, &state.Trail{ARN: local, Name: "local", Account: awstest.Account, HomeRegion: "eu-west-1", Logging: state.LoggingOff,
			MultiRegion: &off, IncludeGlobalEvents: &on, S3Bucket: "trail-logs", BaselineMultiRegion: &off, BaselineS3Bucket: "trail-logs",
			ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, Updated: e.now}},
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
