package dedup

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var tableSeq atomic.Int64

// newTable creates a DynamoDB table on moto shaped as a Table expects: key
// KeyAttribute, TTL on TTLAttribute.
func newTable(t *testing.T) (*dynamodb.Client, string) {
	t.Helper()
	client := dynamodb.NewFromConfig(awstest.Config(t, awstest.Moto(t)))
	ctx := context.Background()
	name := fmt.Sprintf("atrest-dedup-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	_, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(TTLAttribute), Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
	return client, name
}

func mustTable(t *testing.T, client PutItemAPI, name string, opts ...Option) *Table {
	t.Helper()
	tb, err := NewTable(client, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func seen(t *testing.T, tb *Table, id string) bool {
	t.Helper()
	s, err := tb.Seen(context.Background(), id)
	if err != nil {
		t.Fatalf("Seen(%s): %v", id, err)
	}
	return s
}

func TestTableOnMoto(t *testing.T) {
	client, name := newTable(t)
	now := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	tb := mustTable(t, client, name, WithClock(func() time.Time { return now }))

	if seen(t, tb, "e-1") {
		t.Error("first put of e-1 reports seen")
	}
	if !seen(t, tb, "e-1") {
		t.Error("second put of e-1 reports not seen")
	}
	if seen(t, tb, "e-2") {
		t.Error("e-2 reports seen after e-1 was recorded")
	}
	if !seen(t, tb, "e-2") || !seen(t, tb, "e-1") {
		t.Error("ids are not remembered independently")
	}
	if seen(t, tb, "") || seen(t, tb, "") {
		t.Error("an empty eventID reports seen")
	}

	// The item carries the key, the TTL attribute (epoch seconds) and when
	// it was judged.
	out, err := client.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(name),
		Key:       map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: "e-1"}},
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	ttl, _ := out.Item[TTLAttribute].(*types.AttributeValueMemberN)
	judged, _ := out.Item[JudgedAttribute].(*types.AttributeValueMemberS)
	if ttl == nil || ttl.Value != strconv.FormatInt(now.Add(DefaultTTL).Unix(), 10) || judged == nil || judged.Value != "2026-11-23T13:00:00Z" {
		t.Errorf("item = %#v", out.Item)
	}

	// Another process sharing the table sees what this one recorded.
	other := mustTable(t, client, name, WithClock(func() time.Time { return now.Add(time.Hour) }))
	if !seen(t, other, "e-1") {
		t.Error("a second Table on the same table does not see e-1")
	}

	// Past its TTL an item counts as absent, even before DynamoDB deletes it.
	later := mustTable(t, client, name, WithClock(func() time.Time { return now.Add(DefaultTTL + time.Second) }))
	if seen(t, later, "e-1") {
		t.Error("e-1 reports seen after its TTL passed")
	}
	if !seen(t, later, "e-1") {
		t.Error("e-1 recorded again after expiry reports not seen")
	}
}

func TestTableShortTTLOnMoto(t *testing.T) {
	client, name := newTable(t)
	now := time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)
	clock := now
	tb := mustTable(t, client, name, WithTTL(time.Minute), WithClock(func() time.Time { return clock }))
	if seen(t, tb, "e-1") {
		t.Fatal("first put reports seen")
	}
	clock = now.Add(59 * time.Second)
	if !seen(t, tb, "e-1") {
		t.Error("within the TTL the id is not seen")
	}
	clock = now.Add(61 * time.Second)
	if seen(t, tb, "e-1") {
		t.Error("after the TTL the id is still seen")
	}
}

func TestTableMissingTableOnMoto(t *testing.T) {
	client := dynamodb.NewFromConfig(awstest.Config(t, awstest.Moto(t)))
	tb := mustTable(t, client, "atrest-dedup-no-such-table")
	s, err := tb.Seen(context.Background(), "e-1")
	var rnf *types.ResourceNotFoundException
	if s || !errors.As(err, &rnf) {
		t.Errorf("Seen = %v, %v; want a ResourceNotFoundException", s, err)
	}
}

// fakePut returns a fixed error and records the request.
type fakePut struct {
	err error
	in  *dynamodb.PutItemInput
}

func (f *fakePut) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.in = in
	return &dynamodb.PutItemOutput{}, f.err
}

func TestTableErrors(t *testing.T) {
	if _, err := NewTable(nil, "t"); err == nil {
		t.Error("NewTable without a client succeeded")
	}
	if _, err := NewTable(&fakePut{}, ""); err == nil {
		t.Error("NewTable without a name succeeded")
	}
	if _, err := NewTable(&fakePut{}, "t", WithTTL(0)); err == nil {
		t.Error("NewTable with a zero TTL succeeded")
	}
	boom := errors.New("throttled")
	f := &fakePut{err: boom}
	s, err := mustTable(t, f, "t").Seen(context.Background(), "e-1")
	if s || !errors.Is(err, boom) {
		t.Errorf("Seen = %v, %v; want the client's error", s, err)
	}
	if got := aws.ToString(f.in.ConditionExpression); got != "attribute_not_exists(#pk) OR #ttl < :now" {
		t.Errorf("condition = %q", got)
	}
	f.err = &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	if !seen(t, mustTable(t, f, "t"), "e-1") {
		t.Error("a failed condition does not report seen")
	}
}
