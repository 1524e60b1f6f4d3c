package metrics

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// Limits of one PutMetricData request
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html).
const (
	// PutMetricDataMaxDatums is the most metrics one request may carry.
	PutMetricDataMaxDatums = 1000
	// PutMetricDataMaxBytes is the request size limit (1 MB for HTTP POST).
	PutMetricDataMaxBytes = 1 << 20
	// PutMetricDataMaxValues is the most distinct values one datum's
	// Values/Counts arrays may hold.
	PutMetricDataMaxValues = 150
	// PutMetricDataMaxDimensions is the most dimensions one metric may have.
	PutMetricDataMaxDimensions = 30
)

// requestBudget is the part of PutMetricDataMaxBytes a batch of datums may
// fill by this package's estimate, leaving room for the envelope and
// headers.
const requestBudget = PutMetricDataMaxBytes - 64<<10

// PutMetricDataAPI is the one CloudWatch call CloudWatchSink makes.
type PutMetricDataAPI interface {
	PutMetricData(ctx context.Context, in *cloudwatch.PutMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.PutMetricDataOutput, error)
}

// CloudWatchSink delivers batches with PutMetricData, as few calls as the
// API's limits allow. Throttled calls are retried by the client's SDK
// retryer (with its backoff and retry quota), never by the sink as well:
// one request is tried at most the retryer's MaxAttempts times.
type CloudWatchSink struct {
	client PutMetricDataAPI
}

var _ Sink = (*CloudWatchSink)(nil)

// NewCloudWatchSink returns a sink calling client.
func NewCloudWatchSink(client PutMetricDataAPI) *CloudWatchSink {
	return &CloudWatchSink{client: client}
}

// Publish sends the batch. Datums with more distinct values than one datum
// may carry are split; requests are filled up to PutMetricDataMaxDatums
// datums and the size limit.
func (s *CloudWatchSink) Publish(ctx context.Context, b Batch) error {
	reqs, err := PutMetricDataInputs(b)
	if err != nil {
		return err
	}
	for i, in := range reqs {
		if _, err := s.client.PutMetricData(ctx, in); err != nil {
			return fmt.Errorf("metrics: put metric data (request %d of %d): %w", i+1, len(reqs), err)
		}
	}
	return nil
}

// PutMetricDataInputs splits a batch into the requests CloudWatchSink
// sends.
func PutMetricDataInputs(b Batch) ([]*cloudwatch.PutMetricDataInput, error) {
	var reqs []*cloudwatch.PutMetricDataInput
	var cur *cloudwatch.PutMetricDataInput
	size := 0
	ts := b.Timestamp
	for _, d := range b.Datums {
		if len(d.Dimensions) > PutMetricDataMaxDimensions {
			return nil, fmt.Errorf("%w: %s has %d, CloudWatch allows %d", ErrTooManyDimensions, d.Name, len(d.Dimensions), PutMetricDataMaxDimensions)
		}
		if len(d.Values) != len(d.Counts) {
			return nil, fmt.Errorf("metrics: %s: %d values but %d counts", d.Name, len(d.Values), len(d.Counts))
		}
		for lo := 0; lo < len(d.Values); lo += PutMetricDataMaxValues {
			hi := min(lo+PutMetricDataMaxValues, len(d.Values))
			md := types.MetricDatum{
				MetricName: aws.String(d.Name),
				Unit:       types.StandardUnit(d.Unit),
				Timestamp:  aws.Time(ts),
			}
			for _, dim := range d.Dimensions {
				md.Dimensions = append(md.Dimensions, types.Dimension{Name: aws.String(dim.Name), Value: aws.String(dim.Value)})
			}
			if hi-lo == 1 && d.Counts[lo] == 1 {
				md.Value = aws.Float64(d.Values[lo])
			} else {
				md.Values = append([]float64(nil), d.Values[lo:hi]...)
				md.Counts = append([]float64(nil), d.Counts[lo:hi]...)
			}
			n := datumSize(md)
			if cur == nil || len(cur.MetricData) >= PutMetricDataMaxDatums || size+n > requestBudget {
				cur = &cloudwatch.PutMetricDataInput{Namespace: aws.String(b.Namespace)}
				reqs = append(reqs, cur)
				size = len(b.Namespace)
			}
			cur.MetricData = append(cur.MetricData, md)
			size += n
		}
	}
	return reqs, nil
}

// datumSize estimates a datum's share of a request: its JSON encoding with
// field names spelled out, which is no smaller than its CBOR or query
// encoding's value bytes, plus a margin for the query protocol's longer
// member keys.
func datumSize(md types.MetricDatum) int {
	b, err := json.Marshal(md)
	if err != nil {
		return requestBudget
	}
	return 2*len(b) + 32*(len(md.Dimensions)+len(md.Values))
}
