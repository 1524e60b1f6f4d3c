package metrics

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/schemas"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go/transport/http/protocol/awsquery"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

func motoCloudWatch(t *testing.T) (*cloudwatch.Client, *awstest.Calls) {
	t.Helper()
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	c := &awstest.Calls{}
	cfg := awstest.Config(t, url)
	c.Install(&cfg)
	// moto 5.2.1 does not speak the Smithy RPC v2 CBOR protocol this SDK
	// version uses for CloudWatch by default; it answers the awsQuery
	// protocol, which CloudWatch also accepts.
	return cloudwatch.NewFromConfig(cfg, func(o *cloudwatch.Options) {
		o.Protocol = awsquery.New(schemas.GraniteServiceVersion20100801)
	}), c
}

// TestMotoPutMetricData publishes a known invocation and reads the metrics
// back with ListMetrics and GetMetricStatistics.
func TestMotoPutMetricData(t *testing.T) {
	client, calls := motoCloudWatch(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	inv := NewInvocation(Options{Organization: true, Now: func() time.Time { return now }})
	for _, f := range []finding.Finding{
		{Rule: "kms_key_rotation_enabled", Status: finding.NonCompliant, Account: "111111111111", Source: SourceEventBridge, EventTime: now.Add(-2 * time.Second)},
		{Rule: "kms_key_rotation_enabled", Status: finding.NonCompliant, Account: "111111111111", Source: SourceEventBridge, EventTime: now.Add(-4 * time.Second)},
		{Rule: "efs_encrypted_at_rest", Status: finding.Compliant, Account: "111111111111", Source: SourceSweep},
	} {
		inv.AddFinding(f)
	}
	inv.Count(EventsProcessed, SourceEventBridge, 5)
	inv.SetNonCompliant("kms_key_rotation_enabled", 2)
	if err := NewCloudWatchSink(client).Publish(ctx, inv.Batch()); err != nil {
		t.Fatal(err)
	}
	if got := calls.Get("PutMetricData"); got != 1 {
		t.Errorf("PutMetricData calls %d, want 1", got)
	}

	out, err := client.ListMetrics(ctx, &cloudwatch.ListMetricsInput{Namespace: aws.String("Atrest")})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, m := range out.Metrics {
		var dims []string
		for _, d := range m.Dimensions {
			dims = append(dims, aws.ToString(d.Name)+"="+aws.ToString(d.Value))
		}
		listed = append(listed, aws.ToString(m.MetricName)+"{"+strings.Join(dims, ",")+"}")
	}
	sort.Strings(listed)
	want := []string{
		"DetectionLatency{Source=eventbridge}",
		"EventsProcessed{Source=eventbridge}",
		"Findings{Rule=efs_encrypted_at_rest,Status=COMPLIANT,Account=111111111111}",
		"Findings{Rule=kms_key_rotation_enabled,Status=NON_COMPLIANT,Account=111111111111}",
		"NonCompliantResources{Rule=kms_key_rotation_enabled}",
	}
	if strings.Join(listed, "\n") != strings.Join(want, "\n") {
		t.Errorf("ListMetrics:\n%s\nwant\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}

	stat := func(name string, dims []types.Dimension, s types.Statistic) float64 {
		t.Helper()
		out, err := client.GetMetricStatistics(ctx, &cloudwatch.GetMetricStatisticsInput{
			Namespace: aws.String("Atrest"), MetricName: aws.String(name), Dimensions: dims,
			StartTime: aws.Time(now.Add(-time.Hour)), EndTime: aws.Time(now.Add(time.Hour)),
			Period: aws.Int32(3600), Statistics: []types.Statistic{s},
		})
		if err != nil {
			t.Fatalf("GetMetricStatistics %s: %v", name, err)
		}
		if len(out.Datapoints) != 1 {
			t.Fatalf("%s: %d datapoints, want 1", name, len(out.Datapoints))
		}
		dp := out.Datapoints[0]
		switch s {
		case types.StatisticSum:
			return aws.ToFloat64(dp.Sum)
		case types.StatisticMaximum:
			return aws.ToFloat64(dp.Maximum)
		case types.StatisticSampleCount:
			return aws.ToFloat64(dp.SampleCount)
		}
		return aws.ToFloat64(dp.Average)
	}
	dim := func(kv ...string) []types.Dimension {
		var ds []types.Dimension
		for i := 0; i < len(kv); i += 2 {
			ds = append(ds, types.Dimension{Name: aws.String(kv[i]), Value: aws.String(kv[i+1])})
		}
		return ds
	}
	if got := stat(MetricFindings, dim(DimRule, "kms_key_rotation_enabled", DimStatus, "NON_COMPLIANT", DimAccount, "111111111111"), types.StatisticSum); got != 2 {
		t.Errorf("Findings NON_COMPLIANT sum %v, want 2", got)
	}
	if got := stat(MetricEventsProcessed, dim(DimSource, "eventbridge"), types.StatisticSum); got != 5 {
		t.Errorf("EventsProcessed sum %v, want 5", got)
	}
	if got := stat(MetricNonCompliantResources, dim(DimRule, "kms_key_rotation_enabled"), types.StatisticMaximum); got != 2 {
		t.Errorf("NonCompliantResources max %v, want 2", got)
	}
	if got := stat(MetricDetectionLatency, dim(DimSource, "eventbridge"), types.StatisticMaximum); got != 4000 {
		t.Errorf("DetectionLatency max %v, want 4000", got)
	}
	if got := stat(MetricDetectionLatency, dim(DimSource, "eventbridge"), types.StatisticSampleCount); got != 2 {
		t.Errorf("DetectionLatency samples %v, want 2", got)
	}
}

// TestMotoThousandFindingsCalls counts the PutMetricData calls one
// invocation of 1,000 findings makes.
func TestMotoThousandFindingsCalls(t *testing.T) {
	client, calls := motoCloudWatch(t)
	b := thousandFindings().Batch()
	b.Timestamp = time.Now()
	if err := NewCloudWatchSink(client).Publish(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	got := calls.Get("PutMetricData")
	t.Logf("1,000 findings, %d datums: %d PutMetricData calls", len(b.Datums), got)
	if got != 2 {
		t.Fatalf("PutMetricData calls %d, want 2", got)
	}
}
