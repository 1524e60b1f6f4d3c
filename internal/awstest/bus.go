package awstest

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// FindingsBus creates an EventBridge bus named name whose rule sends every
// "Atrest Finding" event to an SQS queue of the same name, and returns the
// queue's URL: what a test reads to see what atrest published. A bus that
// already exists is used: the SDK retries a call whose first attempt
// failed on the way back, and a retried create finds the bus the first
// attempt made.
func FindingsBus(t testing.TB, cfg aws.Config, name string) string {
	t.Helper()
	ctx := context.Background()
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	var exists *ebtypes.ResourceAlreadyExistsException
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String(name)}); err != nil && !errors.As(err, &exists) {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{Name: aws.String("findings"), EventBusName: aws.String(name),
		EventPattern: aws.String(`{"source":["atrest"],"detail-type":["Atrest Finding"]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{Rule: aws.String("findings"), EventBusName: aws.String(name),
		Targets: []ebtypes.Target{{Id: aws.String("q"), Arn: aws.String(qa.Attributes["QueueArn"])}}}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl)
}
