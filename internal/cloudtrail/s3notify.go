package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Event sources of the envelopes that share the "Records" key with log files.
const (
	sourceS3  = "aws:s3"
	sourceSQS = "aws:sqs"
	sourceSNS = "aws:sns"
)

// S3EventRecord is one record of an S3 event notification.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
type S3EventRecord struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"object"`
	} `json:"s3"`
}

func (src *source) s3Record(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("S3 notification inside an S3 object"))
		return nil
	}
	var rec S3EventRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return src.envelopeError(loc, "S3 event record", err)
	}
	if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
		return nil
	}
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		src.report(loc, "", ErrEncoding, fmt.Errorf("object key %q: %w", rec.S3.Object.Key, err))
		return nil
	}
	return src.openObject(rec.S3.Bucket.Name, key, loc)
}

// digestPath marks the keys of CloudTrail digest files.
const digestPath = "/CloudTrail-Digest/"

// openObject decodes the log file s3://bucket/key.
func (src *source) openObject(bucket, key, loc string) error {
	if strings.Contains(key, digestPath) {
		src.run.stats.Digests++
		return nil
	}
	uri := "s3://" + bucket + "/" + key
	if err := src.run.ctx.Err(); err != nil {
		return err
	}
	if bucket == "" || key == "" {
		src.report(loc, "", ErrMissingField, fmt.Errorf("S3 notification without bucket or key (%s)", uri))
		return nil
	}
	if src.run.opener == nil {
		src.report(loc, "", ErrObject, fmt.Errorf("%s: no opener for S3 objects", uri))
		return nil
	}
	body, err := src.run.opener.Open(src.run.ctx, bucket, key)
	if err != nil {
		if ctxErr := src.run.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		src.report(loc, "", ErrObject, fmt.Errorf("%s: %w", uri, err))
		return nil
	}
	defer body.Close()
	child := &source{run: src.run, input: uri, shape: ShapeS3Notification, level: src.level + 1, object: true}
	return child.stream(body)
}

// sqsRecord is one message of a Lambda SQS event.
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
type sqsRecord struct {
	MessageID string `json:"messageId"`
	Body      string `json:"body"`
}

func (src *source) sqsRecord(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SQS message inside an S3 object"))
		return nil
	}
	var m sqsRecord
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SQS message", err)
	}
	return src.nested(strings.NewReader(m.Body), loc+".body.", "")
}

// snsLambdaRecord is one record of a Lambda SNS event.
// https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
type snsLambdaRecord struct {
	SNS snsMessage `json:"Sns"`
}

// snsMessage is an SNS notification, as delivered over HTTP, SQS or Lambda.
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
type snsMessage struct {
	Type      string `json:"Type"`
	MessageID string `json:"MessageId"`
	TopicArn  string `json:"TopicArn"`
	Message   string `json:"Message"`
}

func (src *source) snsRecord(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SNS message inside an S3 object"))
		return nil
	}
	var m snsLambdaRecord
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SNS record", err)
	}
	return src.nested(strings.NewReader(m.SNS.Message), loc+".Sns.Message.", "")
}

func (src *source) snsNotification(raw []byte, loc string) error {
	var m snsMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SNS notification", err)
	}
	if m.Type != "Notification" {
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("SNS message of type %q", m.Type))
		return nil
	}
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SNS message inside an S3 object"))
		return nil
	}
	return src.nested(strings.NewReader(m.Message), loc+".Message.", "")
}

// cloudTrailNotice is the SNS message CloudTrail sends when it delivers log
// files: the bucket and the keys of the new objects.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html
type cloudTrailNotice struct {
	S3Bucket    string   `json:"s3Bucket"`
	S3ObjectKey []string `json:"s3ObjectKey"`
}

func (src *source) cloudTrailNotice(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("CloudTrail notification inside an S3 object"))
		return nil
	}
	var n cloudTrailNotice
	if err := json.Unmarshal(raw, &n); err != nil {
		return src.envelopeError(loc, "CloudTrail notification", err)
	}
	for i, key := range n.S3ObjectKey {
		if err := src.openObject(n.S3Bucket, key, loc+".s3ObjectKey["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}
