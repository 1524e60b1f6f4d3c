package replay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// BatchSize is the most messages one SendMessageBatch call takes.
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html
const BatchSize = 10

// Sender is the part of the SQS API Enqueue uses.
type Sender interface {
	SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error)
}

var _ Sender = (*sqs.Client)(nil)

// notification is an S3 event notification of one created object, the
// message trail-archive reads.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
type notification struct {
	Records []notificationRecord `json:"Records"`
}

type notificationRecord struct {
	EventVersion string `json:"eventVersion"`
	EventSource  string `json:"eventSource"`
	AWSRegion    string `json:"awsRegion"`
	EventTime    string `json:"eventTime"`
	EventName    string `json:"eventName"`
	S3           struct {
		SchemaVersion   string `json:"s3SchemaVersion"`
		ConfigurationID string `json:"configurationId"`
		Bucket          struct {
			Name string `json:"name"`
			ARN  string `json:"arn"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"object"`
	} `json:"s3"`
}

// ConfigurationID names replay's notifications, as a bucket's notification
// configuration id names S3's.
const ConfigurationID = "atrest-replay"

// NotificationBody is the S3 event notification S3 would have sent when
// the object was delivered to bucket (in region): one ObjectCreated:Put
// record, the key URL-encoded as S3 encodes it.
func NotificationBody(bucket, region string, obj Object) ([]byte, error) {
	var r notificationRecord
	r.EventVersion, r.EventSource, r.AWSRegion = "2.1", "aws:s3", region
	r.EventTime = obj.Delivered.UTC().Format("2006-01-02T15:04:05.000Z")
	r.EventName = "ObjectCreated:Put"
	r.S3.SchemaVersion, r.S3.ConfigurationID = "1.0", ConfigurationID
	r.S3.Bucket.Name, r.S3.Bucket.ARN = bucket, "arn:aws:s3:::"+bucket
	r.S3.Object.Key, r.S3.Object.Size = escapeKey(obj.Key), obj.Size
	b, err := json.Marshal(notification{Records: []notificationRecord{r}})
	if err != nil {
		return nil, fmt.Errorf("notification for s3://%s/%s: %w", bucket, obj.Key, err)
	}
	return b, nil
}

// escapeKey URL-encodes a key as S3 notifications carry it: form encoding,
// with the folder separators kept.
func escapeKey(key string) string {
	return strings.ReplaceAll(url.QueryEscape(key), "%2F", "/")
}

// Enqueue sends one notification per object to the queue, BatchSize to a
// SendMessageBatch call, and returns how many were accepted. Entries SQS
// refuses are reported in the error, by key; the rest are sent.
func Enqueue(ctx context.Context, q Sender, queueURL, bucket, region string, objs []Object) (int, error) {
	var (
		sent   int
		failed []string
	)
	for start := 0; start < len(objs); start += BatchSize {
		batch := objs[start:min(start+BatchSize, len(objs))]
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(queueURL)}
		for i, obj := range batch {
			body, err := NotificationBody(bucket, region, obj)
			if err != nil {
				return sent, err
			}
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{
				Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(string(body)),
			})
		}
		out, err := q.SendMessageBatch(ctx, in)
		if err != nil {
			return sent, fmt.Errorf("send to %s (objects %d to %d of %d): %w", queueURL, start+1, start+len(batch), len(objs), err)
		}
		sent += len(out.Successful)
		for _, f := range out.Failed {
			i, err := strconv.Atoi(aws.ToString(f.Id))
			key := aws.ToString(f.Id)
			if err == nil && i >= 0 && i < len(batch) {
				key = batch[i].Key
			}
			failed = append(failed, fmt.Sprintf("%s (%s: %s)", key, aws.ToString(f.Code), aws.ToString(f.Message)))
		}
	}
	if len(failed) > 0 {
		return sent, fmt.Errorf("send to %s: %d messages refused: %s", queueURL, len(failed), strings.Join(failed, "; "))
	}
	return sent, nil
}

// Fleet cost model. Lambda gives a function CPU in proportion to its
// memory: one vCPU at 1,769 MB
// (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
const (
	mbPerVCPU = 1769
	// DefaultMemoryMB is trail-archive's memory size (template.yaml's
	// Globals: the function sets none of its own).
	DefaultMemoryMB = 256
	// DefaultBytesPerCPUSecond is the archive bytes (gzip, as stored) one
	// core reads, inflates, decodes and judges a second: 17.7 MB of
	// generated log files (240 of atrest-bench gen-trail's, compressed
	// 9:1 as real ones are, 1 % of records of interest) took atrest replay
	// 1.75–2.1 CPU-seconds (README, "Replaying an archive").
	DefaultBytesPerCPUSecond = 10e6
)

// Estimate is what a fleet replay would cost.
type Estimate struct {
	Objects   int
	Bytes     int64
	MemoryMB  int
	Seconds   float64 // function time, summed over invocations
	GBSeconds float64
}

// EstimateFleet prices reading bytes on functions of memoryMB, each reading
// at bytesPerCPUSecond × its share of a vCPU (capped at one: the decoder
// uses one core). The time to start the functions and the latency of S3
// reads are not included.
func EstimateFleet(objects int, bytes int64, memoryMB int, bytesPerCPUSecond float64) Estimate {
	e := Estimate{Objects: objects, Bytes: bytes, MemoryMB: memoryMB}
	if memoryMB <= 0 || bytesPerCPUSecond <= 0 {
		return e
	}
	share := min(1, float64(memoryMB)/mbPerVCPU)
	e.Seconds = float64(bytes) / (bytesPerCPUSecond * share)
	e.GBSeconds = e.Seconds * float64(memoryMB) / 1024
	return e
}

// String is the dry run's report.
func (e Estimate) String() string {
	return fmt.Sprintf("%d objects, %.1f MB; at %d MB of memory the fleet would use %.0f function-seconds, %.1f GB-seconds",
		e.Objects, float64(e.Bytes)/1e6, e.MemoryMB, e.Seconds, e.GBSeconds)
}
