package lambdafn

import (
	"context"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
)

// SourceSettle is the Source of the settle function's findings and metrics.
const SourceSettle = "settle"

// Settle handles a batch of SQS messages of the settle queue, each a
// NON_COMPLIANT verdict a monitoring function held for the settle window
// (monitor.Held), delivered when the window ended. Each is re-checked
// against the ledger and the resource as it now stands (the live store):
// published at the end of the invocation if it is still non-compliant,
// dropped if it was fixed. A body that is no held verdict is logged and
// counted as a decode error, not failed: delivering it again cannot help.
// A re-check that fails (the ledger could not be read) is returned in
// BatchItemFailures, so only that message comes back; so are the messages
// not reached before the handler's deadline.
func (m *Monitor) Settle(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
	run := m.Harness.Start(SourceSettle)
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
	for i, msg := range event.Records {
		if hctx.Err() != nil {
			for _, rest := range event.Records[i:] {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: rest.MessageId})
			}
			break
		}
		h, err := monitor.ParseHeld([]byte(msg.Body))
		if err != nil {
			m.Log.WarnContext(ctx, "message refused", "message_id", msg.MessageId, "error", err.Error())
			run.Count(metrics.DecodeErrors, 1)
			continue
		}
		if err := run.Recheck(hctx, h); err != nil {
			m.Log.WarnContext(ctx, "held finding not re-checked, to be delivered again", "message_id", msg.MessageId,
				"rule", h.Finding.Rule, "resource_arn", h.Finding.Resource, "error", err.Error())
			resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}
	run.Finish(ctx)
	return resp, nil
}
