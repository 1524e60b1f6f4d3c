package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MaxSettleDelay is the longest delay SQS allows on one message
// (DelaySeconds 0 to 900):
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
const MaxSettleDelay = 900 * time.Second

// SQSSender is the SQS call the SQS settler makes; *sqs.Client satisfies
// it.
type SQSSender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

var _ SQSSender = (*sqs.Client)(nil)

// SQSSettler holds a finding by sending it, as JSON, to a queue with a
// delay that ends when its settle window does: the settle function reads
// it then (ParseHeld) and re-checks it (Run.Recheck).
type SQSSettler struct {
	client   SQSSender
	queueURL string
	now      func() time.Time
}

var _ Settler = (*SQSSettler)(nil)

// NewSQSSettler builds an SQS settler sending to queueURL; now is the
// clock the delay is measured with (time.Now when nil).
func NewSQSSettler(client SQSSender, queueURL string, now func() time.Time) (*SQSSettler, error) {
	if client == nil || queueURL == "" {
		return nil, errors.New("sqs settler: a client and a queue URL are required")
	}
	if now == nil {
		now = time.Now
	}
	return &SQSSettler{client: client, queueURL: queueURL, now: now}, nil
}

// Hold sends h to the queue, delivered when its window ends.
func (s *SQSSettler) Hold(ctx context.Context, h Held) error {
	body, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("hold %s %s: %w", h.Finding.Rule, h.Finding.Resource, err)
	}
	_, err = s.client.SendMessage(ctx, &sqs.SendMessageInput{
		QueueUrl:     aws.String(s.queueURL),
		MessageBody:  aws.String(string(body)),
		DelaySeconds: SettleDelay(h.Due, s.now()),
	})
	if err != nil {
		return fmt.Errorf("hold %s %s: send to the settle queue: %w", h.Finding.Rule, h.Finding.Resource, err)
	}
	return nil
}

// SettleDelay is the message delay, in whole seconds, that delivers a held
// finding due at due when the time is now: rounded up, so the message is
// never read before its window ended, 0 when it is already due, and at
// most MaxSettleDelay (a longer window is re-checked early).
func SettleDelay(due, now time.Time) int32 {
	d := due.Sub(now)
	if d <= 0 {
		return 0
	}
	if d >= MaxSettleDelay {
		return int32(MaxSettleDelay / time.Second)
	}
	secs := d / time.Second
	if d%time.Second != 0 {
		secs++
	}
	return int32(secs)
}
