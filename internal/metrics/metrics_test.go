package metrics

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func TestMain(m *testing.M) { awstest.Main(m) }

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() time.Time { return t0 }

// knownInvocation is a small invocation whose datums the tests spell out.
func knownInvocation(org bool) *Invocation {
	inv := NewInvocation(Options{Organization: org, Source: SourceEventBridge, Now: fixedClock})
	inv.AddFinding(finding.Finding{Rule: "kms_key_rotation_enabled", Status: finding.NonCompliant, Account: "111111111111", Source: SourceEventBridge, EventTime: t0.Add(-1500 * time.Millisecond)})
	inv.AddFinding(finding.Finding{Rule: "kms_key_rotation_enabled", Status: finding.NonCompliant, Account: "222222222222", Source: SourceEventBridge, EventTime: t0.Add(-1500 * time.Millisecond)})
	inv.AddFinding(finding.Finding{Rule: "kms_key_rotation_enabled", Status: finding.NonCompliant, Account: "111111111111", EventTime: t0.Add(-200 * time.Millisecond)})
	inv.AddFinding(finding.Finding{Rule: "efs_encrypted_at_rest", Status: finding.Compliant, Account: "111111111111", Source: SourceSweep})
	inv.AddFinding(finding.Finding{Rule: "efs_encrypted_at_rest", Status: finding.NonCompliant, Account: "111111111111", Source: SourceS3, EventTime: t0.Add(-250 * time.Millisecond)})
	// An event time after the clock (skew) counts as zero latency.
	inv.AddFinding(finding.Finding{Rule: "efs_encrypted_at_rest", Status: finding.NonCompliant, Account: "111111111111", Source: SourceS3, EventTime: t0.Add(time.Second)})
	inv.Count(EventsProcessed, SourceEventBridge, 3)
	inv.Count(EventsProcessed, "", 2)
	inv.Count(EventsSkipped, SourceEventBridge, 1)
	inv.Count(DecodeErrors, SourceS3, 2)
	inv.Count(FailedCalls, SourceSweep, 1)
	inv.Count(EvaluationErrors, SourceCLI, 4)
	inv.SetNonCompliant("kms_key_rotation_enabled", 7)
	inv.SetNonCompliant("kms_key_rotation_enabled", 3) // a gauge keeps the last value
	return inv
}

func one(n float64) ([]float64, []float64) { return []float64{n}, []float64{1} }

func cnt(name string, n float64, dims ...Dimension) Datum {
	v, c := one(n)
	return Datum{Name: name, Unit: UnitCount, Dimensions: dims, Values: v, Counts: c}
}

func TestInvocationBatch(t *testing.T) {
	src := func(s string) Dimension { return Dimension{DimSource, s} }
	tests := []struct {
		name string
		org  bool
		want []Datum
	}{
		{
			name: "single account",
			want: []Datum{
				cnt(MetricDecodeErrors, 2, src("s3")),
				{Name: MetricDetectionLatency, Unit: UnitMilliseconds, Dimensions: []Dimension{src("eventbridge")}, Values: []float64{200, 1500}, Counts: []float64{1, 2}},
				{Name: MetricDetectionLatency, Unit: UnitMilliseconds, Dimensions: []Dimension{src("s3")}, Values: []float64{0, 250}, Counts: []float64{1, 1}},
				cnt(MetricEvaluationErrors, 4, src("cli")),
				cnt(MetricEventsProcessed, 5, src("eventbridge")),
				cnt(MetricEventsSkipped, 1, src("eventbridge")),
				cnt(MetricFailedCalls, 1, src("sweep")),
				cnt(MetricFindings, 1, Dimension{DimRule, "efs_encrypted_at_rest"}, Dimension{DimStatus, "COMPLIANT"}),
				cnt(MetricFindings, 2, Dimension{DimRule, "efs_encrypted_at_rest"}, Dimension{DimStatus, "NON_COMPLIANT"}),
				cnt(MetricFindings, 3, Dimension{DimRule, "kms_key_rotation_enabled"}, Dimension{DimStatus, "NON_COMPLIANT"}),
				cnt(MetricNonCompliantResources, 3, Dimension{DimRule, "kms_key_rotation_enabled"}),
			},
		},
		{
			name: "organization",
			org:  true,
			want: []Datum{
				cnt(MetricDecodeErrors, 2, src("s3")),
				{Name: MetricDetectionLatency, Unit: UnitMilliseconds, Dimensions: []Dimension{src("eventbridge")}, Values: []float64{200, 1500}, Counts: []float64{1, 2}},
				{Name: MetricDetectionLatency, Unit: UnitMilliseconds, Dimensions: []Dimension{src("s3")}, Values: []float64{0, 250}, Counts: []float64{1, 1}},
				cnt(MetricEvaluationErrors, 4, src("cli")),
				cnt(MetricEventsProcessed, 5, src("eventbridge")),
				cnt(MetricEventsSkipped, 1, src("eventbridge")),
				cnt(MetricFailedCalls, 1, src("sweep")),
				cnt(MetricFindings, 1, Dimension{DimRule, "efs_encrypted_at_rest"}, Dimension{DimStatus, "COMPLIANT"}, Dimension{DimAccount, "111111111111"}),
				cnt(MetricFindings, 2, Dimension{DimRule, "efs_encrypted_at_rest"}, Dimension{DimStatus, "NON_COMPLIANT"}, Dimension{DimAccount, "111111111111"}),
				cnt(MetricFindings, 2, Dimension{DimRule, "kms_key_rotation_enabled"}, Dimension{DimStatus, "NON_COMPLIANT"}, Dimension{DimAccount, "111111111111"}),
				cnt(MetricFindings, 1, Dimension{DimRule, "kms_key_rotation_enabled"}, Dimension{DimStatus, "NON_COMPLIANT"}, Dimension{DimAccount, "222222222222"}),
				cnt(MetricNonCompliantResources, 3, Dimension{DimRule, "kms_key_rotation_enabled"}),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := knownInvocation(tt.org).Batch()
			if b.Namespace != "Atrest" || !b.Timestamp.Equal(t0) {
				t.Fatalf("namespace %q timestamp %v", b.Namespace, b.Timestamp)
			}
			if !reflect.DeepEqual(b.Datums, tt.want) {
				t.Errorf("datums:\n got %+v\nwant %+v", b.Datums, tt.want)
			}
		})
	}
}

func TestEmptyInvocation(t *testing.T) {
	b := NewInvocation(Options{Namespace: "Custom", Now: fixedClock}).Batch()
	if b.Namespace != "Custom" || len(b.Datums) != 0 {
		t.Fatalf("got %+v", b)
	}
	docs, err := EMFDocuments(b)
	if err != nil || len(docs) != 0 {
		t.Fatalf("docs %d err %v", len(docs), err)
	}
	reqs, err := PutMetricDataInputs(b)
	if err != nil || len(reqs) != 0 {
		t.Fatalf("requests %d err %v", len(reqs), err)
	}
}

// thousandFindings is an invocation of 1,000 findings over 500 rules, each
// with a distinct detection latency.
func thousandFindings() *Invocation {
	inv := NewInvocation(Options{Now: fixedClock})
	for i := range 1000 {
		st := finding.NonCompliant
		if i >= 500 {
			st = finding.Compliant
		}
		inv.AddFinding(finding.Finding{
			Rule: fmt.Sprintf("rule_%03d", i%500), Status: st, Source: SourceSweep,
			EventTime: t0.Add(-time.Duration(i+1) * time.Millisecond),
		})
	}
	inv.Count(EventsProcessed, SourceSweep, 1000)
	return inv
}

type countingPutMetricData struct {
	calls  int
	datums []int
	errs   []error // returned by the first calls, in order
}

func (c *countingPutMetricData) PutMetricData(_ context.Context, in *cloudwatch.PutMetricDataInput, _ ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error) {
	c.calls++
	if len(c.errs) > 0 {
		err := c.errs[0]
		c.errs = c.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	c.datums = append(c.datums, len(in.MetricData))
	return &cloudwatch.PutMetricDataOutput{}, nil
}

func TestCloudWatchSinkBatching(t *testing.T) {
	b := thousandFindings().Batch()
	// 1,000 Findings datums (500 rules x 2 statuses), 1 EventsProcessed,
	// 1 DetectionLatency with 1,000 distinct values.
	if len(b.Datums) != 1002 {
		t.Fatalf("datums %d, want 1002", len(b.Datums))
	}
	fake := &countingPutMetricData{}
	sink := NewCloudWatchSink(fake)
	if err := sink.Publish(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	// The latency datum splits into ceil(1000/150) = 7 datums: 1,008 in
	// all, ceil(1008/1000) = 2 calls.
	if fake.calls != 2 || !reflect.DeepEqual(fake.datums, []int{1000, 8}) {
		t.Fatalf("calls %d datums %v, want 2 calls [1000 8]", fake.calls, fake.datums)
	}
}

func TestPutMetricDataInputsSizeLimit(t *testing.T) {
	long := make([]byte, 1024)
	for i := range long {
		long[i] = 'a' + byte(i%26)
	}
	var b Batch
	b.Namespace = "Atrest"
	b.Timestamp = t0
	for i := range 100 {
		d := cnt("Wide", float64(i))
		for j := range 30 {
			d.Dimensions = append(d.Dimensions, Dimension{fmt.Sprintf("D%02d", j), fmt.Sprintf("%d-%s", i, long)})
		}
		b.Datums = append(b.Datums, d)
	}
	reqs, err := PutMetricDataInputs(b)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, r := range reqs {
		total += len(r.MetricData)
		size := 0
		for _, md := range r.MetricData {
			size += datumSize(md)
		}
		if size > requestBudget {
			t.Errorf("request %d estimated %d bytes, budget %d", i, size, requestBudget)
		}
		// A request is closed only when the next datum would not fit.
		if i < len(reqs)-1 && size+datumSize(reqs[i+1].MetricData[0]) <= requestBudget {
			t.Errorf("request %d (%d bytes) closed early", i, size)
		}
	}
	// Each datum is about 64 KB by the estimate: 15 fit a request.
	if total != 100 || len(reqs) != 7 || len(reqs[0].MetricData) != 15 {
		t.Fatalf("requests %d (first %d datums) datums %d, want 7 requests of 15 and 100 datums", len(reqs), len(reqs[0].MetricData), total)
	}
	b.Datums[0].Dimensions = append(b.Datums[0].Dimensions, Dimension{"D30", "x"})
	if _, err := PutMetricDataInputs(b); !errors.Is(err, ErrTooManyDimensions) {
		t.Fatalf("31 dimensions: err %v, want ErrTooManyDimensions", err)
	}
}

// TestCloudWatchSinkThrottles sends a batch through a real CloudWatch
// client whose responses a middleware fakes inside the SDK's retry loop: the
// SDK retryer retries throttled calls up to its MaxAttempts, and the sink
// adds no attempts of its own (3 attempts, not 3 × the sink's).
func TestCloudWatchSinkThrottles(t *testing.T) {
	throttle := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded"}
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}
	tests := []struct {
		name      string
		errs      []error // the first attempts' errors, then success
		wantCalls int
		wantErr   string // an error code, "" for success
	}{
		{name: "throttled twice then ok", errs: []error{throttle, throttle}, wantCalls: 3},
		{name: "throttled to the retryer's limit", errs: []error{throttle, throttle, throttle, throttle}, wantCalls: 3, wantErr: "Throttling"},
		{name: "other errors are not retried", errs: []error{denied}, wantCalls: 1, wantErr: "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			errs := tt.errs
			fake := middleware.DeserializeMiddlewareFunc("fakePutMetricData", func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
				calls++
				if len(errs) > 0 {
					err := errs[0]
					errs = errs[1:]
					return middleware.DeserializeOutput{}, middleware.Metadata{}, err
				}
				return middleware.DeserializeOutput{Result: &cloudwatch.PutMetricDataOutput{}}, middleware.Metadata{}, nil
			})
			client := cloudwatch.New(cloudwatch.Options{
				Region:      "us-east-1",
				Credentials: aws.AnonymousCredentials{},
				Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
					o.MaxAttempts = 3
					o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return 0, nil })
				}),
				APIOptions: []func(*middleware.Stack) error{func(s *middleware.Stack) error {
					return s.Deserialize.Add(fake, middleware.Before)
				}},
			})
			err := NewCloudWatchSink(client).Publish(context.Background(), knownInvocation(false).Batch())
			if calls != tt.wantCalls {
				t.Errorf("attempts %d, want %d", calls, tt.wantCalls)
			}
			var ae smithy.APIError
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err %v, want none", err)
			case tt.wantErr != "" && (!errors.As(err, &ae) || ae.ErrorCode() != tt.wantErr):
				t.Errorf("err %v, want %s", err, tt.wantErr)
			}
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs:\n got %s\nwant %s", path, got, want)
	}
}

func TestKeyVerificationMetrics(t *testing.T) {
	inv := NewInvocation(Options{Now: func() time.Time { return time.Unix(1_800_000_000, 0) }})
	inv.AddVerification("verified", 6*time.Millisecond, false)
	inv.AddVerification("verified", 6*time.Millisecond, false)
	inv.AddVerification("verified", 0, true) // served from the cache: counted, no latency
	inv.AddVerification("disabled", 4*time.Millisecond, false)
	var got []string
	for _, d := range inv.Batch().Datums {
		got = append(got, fmt.Sprintf("%s %v %s %v %v", d.Name, d.Dimensions, d.Unit, d.Values, d.Counts))
	}
	want := []string{
		"KeyVerificationLatency [{Outcome disabled}] Milliseconds [4] [1]",
		"KeyVerificationLatency [{Outcome verified}] Milliseconds [6] [2]",
		"KeyVerifications [{Outcome disabled}] Count [1] [1]",
		"KeyVerifications [{Outcome verified}] Count [3] [1]",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("datums:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The ledger's counters are per-source counters like the others: the
// harness counts what each Apply returned.
func TestLedgerCounters(t *testing.T) {
	inv := NewInvocation(Options{Now: fixedClock})
	inv.Count(LedgerWrites, SourceEventBridge, 3)
	inv.Count(LedgerTransitions, SourceEventBridge, 1)
	inv.Count(LedgerStale, SourceS3, 4)
	inv.Count(LedgerContention, SourceS3, 2)
	inv.Count(LedgerContention, SourceS3, 1)
	src := func(s string) Dimension { return Dimension{DimSource, s} }
	want := []Datum{
		cnt("LedgerContention", 3, src("s3")),
		cnt("LedgerStale", 4, src("s3")),
		cnt("LedgerTransitions", 1, src("eventbridge")),
		cnt("LedgerWrites", 3, src("eventbridge")),
	}
	if got := inv.Batch().Datums; !reflect.DeepEqual(got, want) {
		t.Errorf("datums:\n got %+v\nwant %+v", got, want)
	}
}
