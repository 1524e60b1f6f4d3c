package monitor

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// fakeSQS keeps every SendMessage input and fails when told to.
type fakeSQS struct {
	sent []*sqs.SendMessageInput
	err  error
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.sent = append(f.sent, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("m-1")}, nil
}

// heldRotation is a held kms_key_rotation_enabled verdict after CreateKey.
func heldRotation(due time.Time) Held {
	return Held{
		Finding: finding.Finding{
			Rule: "kms_key_rotation_enabled", Resource: keyARN, ResourceType: string(state.TypeKey),
			Status: finding.NonCompliant, EventName: "CreateKey", EventID: "ev-1", EventTime: due.Add(-300 * time.Second),
		},
		Order: "2026-12-01T00:00:00Z#0001#ev-1",
		Due:   due,
	}
}

func TestSettleDelay(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		due  time.Time
		want int32
	}{
		{name: "whole seconds", due: now.Add(300 * time.Second), want: 300},
		{name: "a fraction rounds up", due: now.Add(299*time.Second + time.Millisecond), want: 300},
		{name: "just under a second", due: now.Add(time.Nanosecond), want: 1},
		{name: "due now", due: now, want: 0},
		{name: "past due", due: now.Add(-time.Hour), want: 0},
		{name: "the SQS maximum", due: now.Add(900 * time.Second), want: 900},
		{name: "beyond the SQS maximum is clamped", due: now.Add(901 * time.Second), want: 900},
		{name: "far beyond", due: now.Add(1000 * time.Hour), want: 900},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SettleDelay(tc.due, now); got != tc.want {
				t.Errorf("SettleDelay = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestSQSSettlerHold(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	const url = "https://sqs.us-east-1.amazonaws.com/111122223333/atrest-settle"
	for _, tc := range []struct {
		name      string
		due       time.Time
		sendErr   error
		wantDelay int32
		wantErr   string
	}{
		{name: "due in 4 minutes 30.5 seconds", due: now.Add(270500 * time.Millisecond), wantDelay: 271},
		{name: "already due", due: now.Add(-5 * time.Second), wantDelay: 0},
		{name: "beyond 900 seconds", due: now.Add(20 * time.Minute), wantDelay: 900},
		{name: "send fails", due: now.Add(time.Minute), sendErr: errors.New("AccessDenied"), wantDelay: 60,
			wantErr: "hold kms_key_rotation_enabled " + keyARN + ": send to the settle queue: AccessDenied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &fakeSQS{err: tc.sendErr}
			s, err := NewSQSSettler(client, url, func() time.Time { return now })
			if err != nil {
				t.Fatal(err)
			}
			h := heldRotation(tc.due)
			err = s.Hold(context.Background(), h)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("Hold error %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if len(client.sent) != 1 {
				t.Fatalf("%d messages sent, want 1", len(client.sent))
			}
			in := client.sent[0]
			if aws.ToString(in.QueueUrl) != url || in.DelaySeconds != tc.wantDelay {
				t.Errorf("sent to %q with delay %d, want %q, %d", aws.ToString(in.QueueUrl), in.DelaySeconds, url, tc.wantDelay)
			}
			back, err := ParseHeld([]byte(aws.ToString(in.MessageBody)))
			if err != nil {
				t.Fatal(err)
			}
			if back.Order != h.Order || !back.Due.Equal(h.Due) || back.Finding.Rule != h.Finding.Rule ||
				back.Finding.Resource != h.Finding.Resource || back.Finding.Status != finding.NonCompliant ||
				back.Finding.EventName != "CreateKey" || !back.Finding.EventTime.Equal(h.Finding.EventTime) {
				t.Errorf("body parses back as %+v, want %+v", back, h)
			}
		})
	}
}

func TestNewSQSSettlerRefusesMissingParts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client SQSSender
		url    string
	}{
		{name: "no client", url: "https://sqs.us-east-1.amazonaws.com/111122223333/q"},
		{name: "no queue URL", client: &fakeSQS{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSQSSettler(tc.client, tc.url, nil)
			if err == nil || !strings.Contains(err.Error(), "a client and a queue URL are required") {
				t.Errorf("error %v, want one naming the missing client or URL", err)
			}
		})
	}
}

// TestMotoSettleQueueDelay sends a held finding with a 2-second delay to a
// moto queue: it is not visible at once, and is delivered (long polling)
// once the delay passed, its body parsing back to the same hold.
func TestMotoSettleQueueDelay(t *testing.T) {
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	client := sqs.NewFromConfig(awstest.Config(t, url))
	ctx := context.Background()
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("atrest-settle")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, err := NewSQSSettler(client, aws.ToString(q.QueueUrl), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	h := heldRotation(now.Add(2 * time.Second))
	if err := s.Hold(ctx, h); err != nil {
		t.Fatal(err)
	}
	early, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(early.Messages) != 0 {
		t.Fatalf("%d messages visible before the delay ended, want 0", len(early.Messages))
	}
	late, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(late.Messages) != 1 {
		t.Fatalf("%d messages after the delay, want 1", len(late.Messages))
	}
	if since := time.Since(now); since < 2*time.Second {
		t.Errorf("message delivered %v after it was sent, before its 2 s delay", since)
	}
	back, err := ParseHeld([]byte(aws.ToString(late.Messages[0].Body)))
	if err != nil {
		t.Fatal(err)
	}
	if back.Order != h.Order || back.Finding.Resource != keyARN {
		t.Errorf("delivered hold %+v, want %+v", back, h)
	}
}
