package findingsbus

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

type busFixture struct {
	eb    *eventbridge.Client
	sqs   *sqs.Client
	queue string
	calls *awstest.Calls
}

// newBus creates a custom bus whose rule {"source":["atrest"]} targets an
// SQS queue.
func newBus(t *testing.T, name string, withTarget bool) busFixture {
	t.Helper()
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	cfg := awstest.Config(t, url)
	calls := &awstest.Calls{}
	ebCfg := cfg.Copy()
	ebCfg.APIOptions = append(ebCfg.APIOptions, calls.Middleware)
	eb := eventbridge.NewFromConfig(ebCfg)
	sq := sqs.NewFromConfig(cfg)
	ctx := context.Background()
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	if !withTarget {
		return busFixture{eb: eb, sqs: sq, calls: calls}
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-queue")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("atrest-all"), EventBusName: aws.String(name), EventPattern: aws.String(`{"source":["atrest"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("atrest-all"), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return busFixture{eb: eb, sqs: sq, queue: aws.ToString(q.QueueUrl), calls: calls}
}

// receive drains the queue until it has want messages, returning each
// message body (an EventBridge event). Each receive long-polls for up to a
// second, so it returns as soon as a message arrives; ten empty ones end
// the wait.
func (b busFixture) receive(t *testing.T, want int) []map[string]json.RawMessage {
	t.Helper()
	var events []map[string]json.RawMessage
	for empty := 0; len(events) < want && empty < 10; {
		out, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(b.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var ev map[string]json.RawMessage
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("message %s: %v", aws.ToString(m.Body), err)
			}
			events = append(events, ev)
			if _, err := b.sqs.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(b.queue), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
		if len(out.Messages) == 0 {
			empty++
		}
	}
	return events
}

func str(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return s
}

// TestMotoEventsReachRuleTarget publishes a NON_COMPLIANT finding, its
// return to COMPLIANT and a remediation outcome, and reads all three from
// the SQS queue the bus's rule targets.
func TestMotoEventsReachRuleTarget(t *testing.T) {
	bus := newBus(t, "atrest-findings", true)
	p := NewPublisher(bus.eb, PublisherOptions{EventBusName: "atrest-findings", RuleActions: testRuleActions})
	ctx := context.Background()
	f := keyFinding(7, finding.NonCompliant)
	if res, err := p.PublishFindings(ctx, []finding.Finding{f}); err != nil || res.Published != 1 {
		t.Fatalf("published %+v err %v", res, err)
	}
	closed := f
	closed.Status = finding.Compliant
	if res, err := p.PublishFindings(ctx, []finding.Finding{closed}); err != nil || res.Published != 1 {
		t.Fatalf("published %+v err %v", res, err)
	}
	if err := p.PublishOutcomes(ctx, Outcome{FindingID: f.ID, Rule: f.Rule, Resource: f.Resource, Action: "enable_key_rotation", Result: "dry_run"}); err != nil {
		t.Fatal(err)
	}
	events := bus.receive(t, 3)
	if len(events) != 3 {
		t.Fatalf("%d events on the queue, want 3", len(events))
	}
	type seen struct{ detailType, status, prev, action, id, result string }
	var got []seen
	for _, ev := range events {
		if str(t, ev["source"]) != "atrest" {
			t.Errorf("source %s", ev["source"])
		}
		var d struct {
			ID             string `json:"id"`
			FindingID      string `json:"finding_id"`
			Status         string `json:"status"`
			PreviousStatus string `json:"previous_status"`
			Result         string `json:"result"`
			Remediation    json.RawMessage
			Action         string `json:"action"`
		}
		if err := json.Unmarshal(ev["detail"], &d); err != nil {
			t.Fatal(err)
		}
		s := seen{detailType: str(t, ev["detail-type"]), status: d.Status, prev: d.PreviousStatus, id: d.ID + d.FindingID, result: d.Result, action: d.Action}
		if len(d.Remediation) > 0 {
			var r Suggestion
			_ = json.Unmarshal(d.Remediation, &r)
			s.action = r.Action
		}
		got = append(got, s)
	}
	sort.Slice(got, func(i, j int) bool { return fmt.Sprint(got[i]) < fmt.Sprint(got[j]) })
	want := []seen{
		{detailType: "Atrest Finding", status: "COMPLIANT", prev: "NON_COMPLIANT", action: "", id: f.ID},
		{detailType: "Atrest Finding", status: "NON_COMPLIANT", action: "enable_key_rotation", id: f.ID},
		{detailType: "Atrest Remediation", action: "enable_key_rotation", id: f.ID, result: "dry_run"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events\n got %+v\nwant %+v", got, want)
	}
}

// TestMotoThousandFindingsPutEvents counts the PutEvents calls for one
// invocation of 1,000 NON_COMPLIANT findings.
func TestMotoThousandFindingsPutEvents(t *testing.T) {
	// No rule on this bus: moto takes minutes to route 1,000 events to an
	// SQS target, and routing is tested above.
	bus := newBus(t, "atrest-load", false)
	p := NewPublisher(bus.eb, PublisherOptions{EventBusName: "atrest-load"})
	var fs []finding.Finding
	for i := range 1000 {
		fs = append(fs, keyFinding(i, finding.NonCompliant))
	}
	res, err := p.PublishFindings(context.Background(), fs)
	if err != nil || res.Published != 1000 {
		t.Fatalf("published %+v err %v", res, err)
	}
	got := bus.calls.Get("PutEvents")
	t.Logf("1,000 findings: %d PutEvents calls", got)
	if got != 100 {
		t.Fatalf("PutEvents calls %d, want 100", got)
	}
}
