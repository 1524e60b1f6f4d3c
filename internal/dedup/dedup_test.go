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

func mustTable(t *testing.T, client API, name string, opts ...Option) *Table {
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

// TestTableRetriedPutOnMoto: a put that DynamoDB applied but answered with
// a 500 is retried by the SDK, and the retry fails the condition on the
// item the first attempt wrote. That item holds the call's claim, so the
// record is not taken for one delivered before; a second call still is.
func TestTableRetriedPutOnMoto(t *testing.T) {
	_, name := newTable(t)
	proxy, puts := awstest.AppliedThen500(t, awstest.Moto(t), "DynamoDB_20120810.PutItem")
	tb := mustTable(t, dynamodb.NewFromConfig(awstest.Config(t, proxy)), name)
	if seen(t, tb, "e-1") {
		t.Error("a put retried after its first attempt wrote the item reports seen: the record would be dropped")
	}
	if n := puts(); n != 2 {
		t.Fatalf("%d PutItem requests, want the first and the SDK's retry", n)
	}
	if !seen(t, tb, "e-1") {
		t.Error("a second delivery of e-1 reports not seen")
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
	err    error
	in     *dynamodb.PutItemInput
	getErr error
	// own: the read back returns the item the put wrote.
	own bool
}

func (f *fakePut) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	f.in = in
	return &dynamodb.PutItemOutput{}, f.err
}

func (f *fakePut) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	if f.getErr != nil {
		return nil, f.getErr
	}
	item := map[string]types.AttributeValue{ClaimAttribute: &types.AttributeValueMemberS{Value: "another call's"}}
	if f.own {
		item = f.in.Item
	}
	return &dynamodb.GetItemOutput{Item: item}, nil
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
		t.Error("a failed condition on another call's item does not report seen")
	}
	f.own = true
	if seen(t, mustTable(t, f, "t"), "e-1") {
		t.Error("a failed condition on the item this call wrote reports seen")
	}
	f.getErr = errors.New("read throttled")
	if s, err := mustTable(t, f, "t").Seen(context.Background(), "e-1"); s || !errors.Is(err, f.getErr) {
		t.Errorf("Seen = %v, %v; want the read's error, not a guess", s, err)
	}
}
