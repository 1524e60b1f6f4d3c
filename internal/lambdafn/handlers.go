package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/metrics"
)

// Deadline margins: a handler's own deadline is Lambda's less
// min(MaxDeadlineMargin, a quarter of the time left), so that past it the
// handler still has time to report what it did (batch item failures,
// findings to the sinks, metrics) before Lambda stops the invocation.
const MaxDeadlineMargin = 5 * time.Second

// handlerDeadline is the deadline a handler works to, given the
// invocation's deadline and the time now.
func handlerDeadline(deadline, now time.Time) time.Time {
	return deadline.Add(-min(MaxDeadlineMargin, deadline.Sub(now)/4))
}

// handlerContext returns ctx bounded by handlerDeadline; ctx itself, with
// Lambda's deadline, is left for reporting.
func handlerContext(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	return context.WithDeadline(ctx, handlerDeadline(dl, time.Now()))
}

// messageDeadline gives one of left messages an equal share of the time
// until the handler's deadline: a slow message runs out of its share and is
// failed alone, while the messages after it still get theirs.
func messageDeadline(handler, now time.Time, left int) time.Time {
	return now.Add(handler.Sub(now) / time.Duration(max(left, 1)))
}

// TrailEvents handles one EventBridge "AWS API Call via CloudTrail" or "AWS
// Service Event via CloudTrail" event.
// The event is passed raw to the pipeline, which recognises its shape: a
// malformed event is logged and counted, and the invocation succeeds, since
// EventBridge would otherwise deliver a poison event again and again. The
// error is non-nil only when the handler's deadline passes.
func (m *Monitor) TrailEvents(ctx context.Context, event json.RawMessage) error {
	run := m.Harness.Start(metrics.SourceEventBridge)
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	_, err := run.Input(hctx, "eventbridge:"+eventID(event), bytes.NewReader(event))
	run.Finish(ctx)
	return contextError(hctx, err)
}

// TrailLogs handles one CloudWatch Logs subscription event (awslogs.data:
// base64 of gzip). Control messages are acknowledged; bad input is logged
// and counted and the invocation succeeds.
func (m *Monitor) TrailLogs(ctx context.Context, event json.RawMessage) error {
	run := m.Harness.Start(metrics.SourceCloudWatchLogs)
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	_, err := run.Input(hctx, "awslogs", bytes.NewReader(event))
	run.Finish(ctx)
	return contextError(hctx, err)
}

// TrailArchive handles a batch of SQS messages whose bodies are S3 event
// notifications of CloudTrail log files. Only ObjectCreated notifications
// of the configured trail bucket for keys under AWSLogs/ are read (see
// archiveBody); any other body, CloudTrail records put in a message
// included, is refused, logged and counted, never judged, and an object a
// batch names twice is read once. Each message is processed on its own,
// with an equal share of the time left: a message whose log file could not
// be read (the object is missing, access was refused, its body broke off,
// its share of the time ran out) is returned in BatchItemFailures, so only
// it is delivered again and, after the queue's maxReceiveCount, moved to
// the dead-letter queue. A message that is refused, or whose object is
// over the size limit, is not failed: reading it again cannot help.
func (m *Monitor) TrailArchive(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
	run := m.Harness.Start(metrics.SourceS3)
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	seen := map[string]bool{}
	for i, msg := range event.Records {
		if hctx.Err() != nil {
			// Out of time: the messages not yet read are failed so they
			// come back, the ones read are kept.
			for _, rest := range event.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
			}
			break
		}
		body, dropped, err := archiveBody(m.TrailBucket, []byte(msg.Body), seen)
		if err != nil {
			m.Log.WarnContext(ctx, "message refused", "message_id", msg.MessageId, "error", err.Error())
			run.Count(metrics.DecodeErrors, 1)
			continue
		}
		if dropped > 0 {
			m.Log.InfoContext(ctx, "repeated object references dropped", "message_id", msg.MessageId, "dropped", dropped)
		}
		if body == nil {
			continue
		}
		hdl, ok := hctx.Deadline()
		mctx, mcancel := hctx, context.CancelFunc(func() {})
		if ok {
			mctx, mcancel = context.WithDeadline(hctx, messageDeadline(hdl, time.Now(), len(event.Records)-i))
		}
		rep, err := run.Input(mctx, "sqs:"+msg.MessageId, bytes.NewReader(body))
		mcancel()
		if err != nil || objectUnavailable(rep) {
			m.Log.WarnContext(ctx, "message failed, to be delivered again", "message_id", msg.MessageId)
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	run.Finish(ctx)
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
