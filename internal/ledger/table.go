package ledger

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/finding"
)

// Attribute names of a Table's items. The table's partition key is
// KeyAttribute (type S); every other attribute but ClaimAttribute is an
// Entry field, in the field's JSON name.
const (
	// KeyAttribute holds Key(rule, resource).
	KeyAttribute = "pk"
	// VersionAttribute (type N) counts the item's writes; every write is
	// conditioned on the version it read.
	VersionAttribute = "version"
	// TransitionsAttribute holds the entry's transitions as a JSON array
	// (type S).
	TransitionsAttribute = "transitions"
	// ClaimAttribute holds a random token of the write that stored the item
	// (type S): a write the SDK retried after DynamoDB applied it fails its
	// condition on the item it wrote itself, and knows it by the token.
	ClaimAttribute = "claim"
)

// maxAttempts is how many read-modify-write rounds one Apply makes before it
// gives up on contention.
const maxAttempts = 5

// ErrContention is returned (wrapped) when other writers updated an entry
// between every one of an Apply's reads and its conditional write.
var ErrContention = errors.New("ledger: entry kept changing under a conditional write")

// Key is the partition key of the item of (rule, resource): the rule id, a
// '#', and the resource. Rule ids never contain a '#', so the first one
// separates the two.
func Key(rule, resource string) string { return rule + "#" + resource }

// TableAPI is the DynamoDB calls a Table makes; *dynamodb.Client satisfies
// it.
type TableAPI interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
}

var _ TableAPI = (*dynamodb.Client)(nil)

// Table keeps the ledger in a DynamoDB table, one item per (rule, resource),
// shared by every process that names the table. Apply reads the item
// (strongly consistent), decides with the same logic as Memory, and writes
// conditioned on the version it read (or on the item's absence); when
// another writer got there first it reads again, up to maxAttempts times. It
// is safe for concurrent use.
type Table struct {
	client TableAPI
	name   string
	opts   options
}

var _ Store = (*Table)(nil)

// NewTable returns a Table over the DynamoDB table name.
func NewTable(client TableAPI, name string, opts ...Option) (*Table, error) {
	if client == nil || name == "" {
		return nil, errors.New("ledger: a client and a table name are required")
	}
	return &Table{client: client, name: name, opts: newOptions(opts)}, nil
}

// Apply implements Store. Outcome.Conflicts counts the writes that lost a
// race with another writer.
func (t *Table) Apply(ctx context.Context, f finding.Finding) (Outcome, error) {
	if err := check(f); err != nil {
		return Outcome{}, err
	}
	f = stamp(f, t.opts.now)
	order := OrderKey(f)
	key := Key(f.Rule, f.Resource)
	conflicts := 0
	var last struct {
		claim string
		out   Outcome
	}
	for range maxAttempts {
		prev, version, claim, ok, err := t.read(ctx, key)
		if err != nil {
			return Outcome{Conflicts: conflicts}, err
		}
		if last.claim != "" && claim == last.claim {
			// The last write was applied; the condition its retry failed
			// was on that write's own item, not another writer's.
			last.out.Conflicts = conflicts - 1
			return last.out, nil
		}
		out := next(prev, ok, f, order)
		out.Conflicts = conflicts
		if !out.Changed {
			return out, nil
		}
		last.claim, last.out = rand.Text(), out
		item := encode(out.Entry, version+1)
		item[ClaimAttribute] = &types.AttributeValueMemberS{Value: last.claim}
		in := &dynamodb.PutItemInput{
			TableName:                aws.String(t.name),
			Item:                     item,
			ExpressionAttributeNames: map[string]string{"#pk": KeyAttribute},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		}
		if ok {
			in.ConditionExpression = aws.String("#v = :v")
			in.ExpressionAttributeNames = map[string]string{"#v": VersionAttribute}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":v": number(version)}
		}
		_, err = t.client.PutItem(ctx, in)
		if err == nil {
			return out, nil
		}
		var ccf *types.ConditionalCheckFailedException
		if !errors.As(err, &ccf) {
			return Outcome{Conflicts: conflicts}, fmt.Errorf("ledger: write %s to table %s: %w", key, t.name, err)
		}
		conflicts++
	}
	return Outcome{Conflicts: conflicts}, fmt.Errorf("%w: %s in table %s after %d attempts", ErrContention, key, t.name, maxAttempts)
}

// Get implements Store.
func (t *Table) Get(ctx context.Context, rule, resource string) (Entry, bool, error) {
	e, _, _, ok, err := t.read(ctx, Key(rule, resource))
	return e, ok, err
}

// List implements Store: a strongly consistent Scan of the whole table,
// page by page.
func (t *Table) List(ctx context.Context) ([]Entry, error) {
	var out []Entry
	var start map[string]types.AttributeValue
	for {
		page, err := t.client.Scan(ctx, &dynamodb.ScanInput{
			TableName:         aws.String(t.name),
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, fmt.Errorf("ledger: scan table %s: %w", t.name, err)
		}
		for _, item := range page.Items {
			e, _, err := decode(item)
			if err != nil {
				return nil, fmt.Errorf("ledger: table %s: %w", t.name, err)
			}
			out = append(out, e)
		}
		if len(page.LastEvaluatedKey) == 0 {
			break
		}
		start = page.LastEvaluatedKey
	}
	sortEntries(out)
	return out, nil
}

// read is the entry under key, its version and the claim of the write that
// stored it.
func (t *Table) read(ctx context.Context, key string) (Entry, int64, string, bool, error) {
	got, err := t.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(t.name),
		Key:            map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: key}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Entry{}, 0, "", false, fmt.Errorf("ledger: read %s from table %s: %w", key, t.name, err)
	}
	if len(got.Item) == 0 {
		return Entry{}, 0, "", false, nil
	}
	e, version, err := decode(got.Item)
	if err != nil {
		return Entry{}, 0, "", false, fmt.Errorf("ledger: table %s: %w", t.name, err)
	}
	var claim string
	if c, ok := got.Item[ClaimAttribute].(*types.AttributeValueMemberS); ok {
		claim = c.Value
	}
	return e, version, claim, true, nil
}

func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// encode is the item of e at version. Empty strings and lists are left
// out.
func encode(e Entry, version int64) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		KeyAttribute:     &types.AttributeValueMemberS{Value: Key(e.Rule, e.Resource)},
		VersionAttribute: number(version),
		"resolved":       &types.AttributeValueMemberBOOL{Value: e.Resolved},
	}
	str := func(name, v string) {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	str("rule", e.Rule)
	str("resource", e.Resource)
	str("resource_type", e.ResourceType)
	str("account", e.Account)
	str("region", e.Region)
	str("status", string(e.Status))
	str("reason", e.Reason)
	str("severity", e.Severity)
	str("title", e.Title)
	str("event_time", e.EventTime.UTC().Format(time.RFC3339Nano))
	str("event_id", e.EventID)
	str("event_name", e.EventName)
	str("order", e.Order)
	str("since", e.Since.UTC().Format(time.RFC3339Nano))
	str("since_order", e.SinceOrder)
	str("prior_order", e.PriorOrder)
	if len(e.FileSystems) > 0 {
		l := make([]types.AttributeValue, len(e.FileSystems))
		for i, fs := range e.FileSystems {
			l[i] = &types.AttributeValueMemberS{Value: fs}
		}
		item["file_systems"] = &types.AttributeValueMemberL{Value: l}
	}
	if len(e.Transitions) > 0 {
		// Marshalling a slice of plain structs cannot fail.
		b, _ := json.Marshal(e.Transitions)
		item[TransitionsAttribute] = &types.AttributeValueMemberS{Value: string(b)}
	}
	return item
}

// decode reads an item encode wrote, naming the attribute that is not what
// it should be.
func decode(item map[string]types.AttributeValue) (Entry, int64, error) {
	pk, _ := item[KeyAttribute].(*types.AttributeValueMemberS)
	if pk == nil {
		return Entry{}, 0, fmt.Errorf("item without a string %s", KeyAttribute)
	}
	var e Entry
	var err error
	fail := func(name, what string) {
		if err == nil {
			err = fmt.Errorf("item %s: attribute %s %s", pk.Value, name, what)
		}
	}
	str := func(name string) string {
		v, ok := item[name]
		if !ok {
			return ""
		}
		s, ok := v.(*types.AttributeValueMemberS)
		if !ok {
			fail(name, "is not a string")
			return ""
		}
		return s.Value
	}
	tm := func(name string) time.Time {
		s := str(name)
		if s == "" {
			return time.Time{}
		}
		t, perr := time.Parse(time.RFC3339Nano, s)
		if perr != nil {
			fail(name, "is not an RFC 3339 time")
		}
		return t
	}
	e.Rule = str("rule")
	e.Resource = str("resource")
	e.ResourceType = str("resource_type")
	e.Account = str("account")
	e.Region = str("region")
	e.Status = finding.Status(str("status"))
	e.Reason = str("reason")
	e.Severity = str("severity")
	e.Title = str("title")
	e.EventTime = tm("event_time")
	e.EventID = str("event_id")
	e.EventName = str("event_name")
	e.Order = str("order")
	e.Since = tm("since")
	e.SinceOrder = str("since_order")
	e.PriorOrder = str("prior_order")
	if v, ok := item["resolved"]; ok {
		b, ok := v.(*types.AttributeValueMemberBOOL)
		if !ok {
			fail("resolved", "is not a boolean")
		} else {
			e.Resolved = b.Value
		}
	}
	if v, ok := item["file_systems"]; ok {
		l, ok := v.(*types.AttributeValueMemberL)
		if !ok {
			fail("file_systems", "is not a list")
		} else {
			for _, x := range l.Value {
				s, ok := x.(*types.AttributeValueMemberS)
				if !ok {
					fail("file_systems", "holds a value that is not a string")
					break
				}
				e.FileSystems = append(e.FileSystems, s.Value)
			}
		}
	}
	if s := str(TransitionsAttribute); s != "" {
		if jerr := json.Unmarshal([]byte(s), &e.Transitions); jerr != nil {
			fail(TransitionsAttribute, "is not a JSON array of transitions: "+jerr.Error())
		}
	}
	var version int64
	if v, ok := item[VersionAttribute].(*types.AttributeValueMemberN); ok {
		n, perr := strconv.ParseInt(v.Value, 10, 64)
		if perr != nil {
			fail(VersionAttribute, "is not an integer")
		}
		version = n
	} else {
		fail(VersionAttribute, "is missing or not a number")
	}
	if e.Rule == "" || e.Resource == "" || e.Order == "" || !e.Status.Valid() {
		fail("rule, resource, order or status", "is missing or invalid")
	}
	if err != nil {
		return Entry{}, 0, err
	}
	return e, version, nil
}
