package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/metrics"
)

// TrailEvents handles one EventBridge "AWS API Call via CloudTrail" or "AWS
// Service Event via CloudTrail" event.
// The event is passed raw to the pipeline, which recognises its shape: a
// malformed event is logged and counted, and the invocation succeeds, since
// EventBridge would otherwise deliver a poison event again and again. The
// error is non-nil only when the invocation's deadline passes.
func (m *Monitor) TrailEvents(ctx context.Context, event json.RawMessage) error {
	inv := m.start(metrics.SourceEventBridge)
	_, err := inv.input(ctx, "eventbridge:"+eventID(event), bytes.NewReader(event))
	inv.finish(ctx)
	return contextError(ctx, err)
}

// TrailLogs handles one CloudWatch Logs subscription event (awslogs.data:
// base64 of gzip). Control messages are acknowledged; bad input is logged
// and counted and the invocation succeeds.
func (m *Monitor) TrailLogs(ctx context.Context, event json.RawMessage) error {
	inv := m.start(metrics.SourceCloudWatchLogs)
	_, err := inv.input(ctx, "awslogs", bytes.NewReader(event))
	inv.finish(ctx)
	return contextError(ctx, err)
}

// TrailArchive handles a batch of SQS messages whose bodies are S3 event
// notifications of CloudTrail log files. Each message is processed on its
// own; a message whose log file could not be read (the object is missing,
// access was refused, its body broke off) is returned in
// BatchItemFailures, so only it is delivered again and, after the queue's
// maxReceiveCount, moved to the dead-letter queue. A message whose body is
// malformed is logged and counted but not failed: reading it again cannot
// help.
func (m *Monitor) TrailArchive(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
	inv := m.start(metrics.SourceS3)
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, msg := range event.Records {
		if ctx.Err() != nil {
			// Out of time: the messages not yet read are failed so they
			// come back, the ones read are kept.
			for _, rest := range event.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
			}
			break
		}
		rep, err := inv.input(ctx, "sqs:"+msg.MessageId, bytes.NewReader([]byte(msg.Body)))
		if err != nil || objectUnavailable(rep) {
			m.Log.WarnContext(ctx, "message failed, to be delivered again", "message_id", msg.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	inv.finish(ctx)
	return resp, nil
}

// contextError keeps only an error that means the invocation ran out of
// time or was cancelled: everything else was logged and counted.
func contextError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("invocation ended: %w", ctxErr)
	}
	return nil
}

// eventID reads an EventBridge event's id for log lines; "" when the event
// has none or is not JSON.
func eventID(raw []byte) string {
	var e struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &e) != nil {
		return ""
	}
	return e.ID
}
