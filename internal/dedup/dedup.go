// Package dedup remembers which CloudTrail eventIDs atrest has judged, across
// processes, so a record that Lambda or EventBridge delivers more than once
// (they deliver at least once), or that reaches atrest by two paths
// (EventBridge and a log file), gives its findings once.
//
// A Table records each eventID in DynamoDB with a conditional put: the first
// put of an id succeeds ("not seen"), every later one fails the condition
// ("seen") until the item expires. Each put writes a random claim, and when
// its condition fails the item is read back: when the SDK retried a put
// whose first attempt DynamoDB applied but answered with an error (a 500, a
// connection lost on the way back), the item holds the call's own claim and
// the record is not taken for a duplicate. The item carries a TTL attribute so
// DynamoDB deletes it after the configured time; an item past its expiry that
// DynamoDB has not yet deleted counts as absent, so expiry is exact.
package dedup

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Attribute names of a Table's items. The table's partition key is KeyAttribute
// (type S); its TTL setting names TTLAttribute.
const (
	// KeyAttribute holds the eventID.
	KeyAttribute = "pk"
	// TTLAttribute holds the expiry time in Unix epoch seconds (type N).
	TTLAttribute = "expires_at"
	// JudgedAttribute holds when the eventID was first recorded (RFC 3339).
	JudgedAttribute = "judged_at"
	// ClaimAttribute holds a random token of the Seen call that recorded
	// the eventID.
	ClaimAttribute = "claim"
)

// DefaultTTL is how long an eventID is remembered: CloudTrail delivers a
// record within minutes, retries within hours, and a backfill may replay
// days, so a week covers every redelivery atrest expects.
const DefaultTTL = 7 * 24 * time.Hour

// API is the DynamoDB calls a Table makes: a conditional put of each
// eventID, and a read of the item when the condition fails;
// *dynamodb.Client satisfies it.
type API interface {
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
}

var _ API = (*dynamodb.Client)(nil)

// Table remembers judged eventIDs in a DynamoDB table. It is safe for concurrent use.
type Table struct {
	client API
	name   string
	ttl    time.Duration
	now    func() time.Time
}

// Option configures a Table.
type Option func(*Table)

// WithTTL sets how long an eventID is remembered (default DefaultTTL).
func WithTTL(d time.Duration) Option { return func(t *Table) { t.ttl = d } }

// WithClock sets the clock expiry times are computed from (default time.Now).
func WithClock(now func() time.Time) Option { return func(t *Table) { t.now = now } }

// NewTable returns a Table over the DynamoDB table name.
func NewTable(client API, name string, opts ...Option) (*Table, error) {
	if client == nil || name == "" {
		return nil, errors.New("dedup: a client and a table name are required")
	}
	t := &Table{client: client, name: name, ttl: DefaultTTL, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	if t.ttl < time.Second {
		return nil, fmt.Errorf("dedup: TTL %v is shorter than a second", t.ttl)
	}
	return t, nil
}

// Seen records eventID with a put that succeeds only when no unexpired item
// holds it, and reports true when the condition fails on an item another
// call wrote (the id was recorded before). An empty eventID cannot be
// deduplicated: Seen reports false without a call. Any other failure,
// reading the item back included, is returned; the caller decides whether
// to judge the record anyway.
func (t *Table) Seen(ctx context.Context, eventID string) (bool, error) {
	if eventID == "" {
		return false, nil
	}
	now := t.now()
	claim := rand.Text()
	_, err := t.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(t.name),
		Item: map[string]types.AttributeValue{
			KeyAttribute:    &types.AttributeValueMemberS{Value: eventID},
			TTLAttribute:    &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Add(t.ttl).Unix(), 10)},
			JudgedAttribute: &types.AttributeValueMemberS{Value: now.UTC().Format(time.RFC3339)},
			ClaimAttribute:  &types.AttributeValueMemberS{Value: claim},
		},
		// DynamoDB deletes expired items lazily (within days); an expired
		// item still present counts as absent.
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR #ttl < :now"),
		ExpressionAttributeNames: map[string]string{"#pk": KeyAttribute, "#ttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":now": &types.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)},
		},
	})
	if err == nil {
		return false, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, fmt.Errorf("dedup: record event %s in table %s: %w", eventID, t.name, err)
	}
	// The item the condition failed on is another delivery's, or the one
	// this call's own first attempt wrote: only the first is a duplicate.
	got, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:                aws.String(t.name),
		Key:                      map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: eventID}},
		ConsistentRead:           aws.Bool(true),
		ProjectionExpression:     aws.String("#claim"),
		ExpressionAttributeNames: map[string]string{"#claim": ClaimAttribute},
	})
	if err != nil {
		return false, fmt.Errorf("dedup: read event %s back from table %s: %w", eventID, t.name, err)
	}
	if c, ok := got.Item[ClaimAttribute].(*types.AttributeValueMemberS); ok && c.Value == claim {
		return false, nil
	}
	return true, nil
}
