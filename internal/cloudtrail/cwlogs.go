package cloudtrail

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// CloudWatch Logs message types.
const (
	messageTypeData    = "DATA_MESSAGE"
	messageTypeControl = "CONTROL_MESSAGE"
)

// awsLogsEvent is the event a CloudWatch Logs subscription passes to Lambda:
// data is the base64 of a gzip-compressed JSON payload.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
type awsLogsEvent struct {
	AWSLogs struct {
		Data string `json:"data"`
	} `json:"awslogs"`
}

func (src *source) awsLogs(raw []byte, loc string) error {
	var ev awsLogsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return src.envelopeError(loc, "awslogs event", err)
	}
	loc += ".awslogs.data"
	data, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		src.report(loc, "", ErrEncoding, fmt.Errorf("base64: %w", err))
		return nil
	}
	if !isGzip(data) {
		src.report(loc, "", ErrEncoding, errors.New("payload is not gzip"))
		return nil
	}
	return src.nested(bytes.NewReader(data), loc+".", ShapeCloudWatchLogs)
}

// logEvent is one entry of a CloudWatch Logs payload's logEvents.
type logEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// logEvents decodes the elements of a logEvents array; each message is one
// CloudTrail record.
func (src *source) logEvents(els *elements) error {
	for {
		res, ok, err := els.next()
		if err != nil || !ok {
			return err
		}
		loc := els.loc()
		if res.tooLarge {
			src.report(loc, "", ErrTooLarge, fmt.Errorf("log event of %d bytes over the %d-byte limit", res.size, src.run.lim.MaxRecordBytes))
			continue
		}
		if res.raw == nil {
			continue
		}
		var le logEvent
		if err := json.Unmarshal(res.raw, &le); err != nil {
			src.envelopeError(loc, "log event", err)
			continue
		}
		note := ""
		if le.ID != "" {
			note = "log event " + le.ID
		}
		if err := src.recordBytes([]byte(le.Message), loc, note, ShapeCloudWatchLogs, nil); err != nil {
			return err
		}
	}
}

// logEventsFrom decodes the logEvents member of a payload held in memory.
func (src *source) logEventsFrom(raw []byte, loc string) error {
	var payload struct {
		LogEvents json.RawMessage `json:"logEvents"`
	}
	if err := json.Unmarshal(raw, &payload); err != nil {
		return src.envelopeError(loc, "CloudWatch Logs payload", err)
	}
	sc := newBytesScanner(payload.LogEvents)
	if c, ok := sc.skipSpace(); !ok || c != '[' {
		src.report(loc, "", ErrWrongType, errors.New("logEvents is not an array"))
		return nil
	}
	err := src.logEvents(newElements(sc, src, "logEvents"))
	if errors.Is(err, errStop) || errors.Is(err, errResync) {
		return nil
	}
	return err
}
