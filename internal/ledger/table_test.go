package ledger

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
)

// fakeTable keeps items in a map and evaluates the two conditions a Table
// writes with. beforePut, when set, runs before each put is checked: a
// second writer getting in between.
type fakeTable struct {
	mu        sync.Mutex
	items     map[string]map[string]types.AttributeValue
	puts      []*dynamodb.PutItemInput
	beforePut func()
	putErr    error
	pageSize  int
}

func newFakeTable() *fakeTable {
	return &fakeTable{items: map[string]map[string]types.AttributeValue{}, pageSize: 2}
}

func keyOf(item map[string]types.AttributeValue) string {
	return item[KeyAttribute].(*types.AttributeValueMemberS).Value
}

func (f *fakeTable) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: maps.Clone(f.items[keyOf(in.Key)])}, nil
}

func (f *fakeTable) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	if hook := f.beforePut; hook != nil {
		f.beforePut = nil
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.puts = append(f.puts, in)
	if f.putErr != nil {
		return nil, f.putErr
	}
	old, exists := f.items[keyOf(in.Item)]
	pass := false
	switch aws.ToString(in.ConditionExpression) {
	case "attribute_not_exists(#pk)":
		pass = !exists
	case "#v = :v":
		pass = exists && old[VersionAttribute].(*types.AttributeValueMemberN).Value == in.ExpressionAttributeValues[":v"].(*types.AttributeValueMemberN).Value
	}
	if !pass {
		return nil, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	}
	f.items[keyOf(in.Item)] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (f *fakeTable) Scan(_ context.Context, in *dynamodb.ScanInput, _ ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := slices.Sorted(maps.Keys(f.items))
	if in.ExclusiveStartKey != nil {
		start := keyOf(in.ExclusiveStartKey)
		keys = slices.DeleteFunc(keys, func(k string) bool { return k <= start })
	}
	out := &dynamodb.ScanOutput{}
	for i, k := range keys {
		if i == f.pageSize {
			out.LastEvaluatedKey = map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: keys[i-1]}}
			break
		}
		out.Items = append(out.Items, f.items[k])
	}
	return out, nil
}

func mustTable(t *testing.T, client TableAPI, name string, opts ...Option) *Table {
	t.Helper()
	tb, err := NewTable(client, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func TestTableWritesConditionally(t *testing.T) {
	ctx := context.Background()
	fake := newFakeTable()
	tb := mustTable(t, fake, "ledger")
	create := fnd(0, cloudtrail.EventCreateKey, "e-create", nc, "rotation is disabled")
	create.FileSystems = []string{"fs-0123456789abcdef0"}

	out, err := tb.Apply(ctx, create)
	if err != nil || describe(out.Transition) != ">NON_COMPLIANT" || out.Conflicts != 0 {
		t.Fatalf("first Apply: %q conflicts %d, %v", describe(out.Transition), out.Conflicts, err)
	}
	if got := aws.ToString(fake.puts[0].ConditionExpression); got != "attribute_not_exists(#pk)" {
		t.Errorf("first write's condition %q", got)
	}
	out, err = tb.Apply(ctx, fnd(10, "TagResource", "e-tag", nc, "rotation is still disabled"))
	if err != nil || out.Transition != nil || out.Stale {
		t.Fatalf("restatement: %q stale %v, %v", describe(out.Transition), out.Stale, err)
	}
	if in := fake.puts[1]; aws.ToString(in.ConditionExpression) != "#v = :v" || in.ExpressionAttributeValues[":v"].(*types.AttributeValueMemberN).Value != "1" {
		t.Errorf("second write's condition %q %v", aws.ToString(in.ConditionExpression), in.ExpressionAttributeValues)
	}
	// A stale record, and the same record again, write nothing.
	for _, f := range []finding.Finding{create, fnd(10, "TagResource", "e-tag", nc, "x")} {
		if out, err := tb.Apply(ctx, f); err != nil || !out.Stale || out.Transition != nil || out.Changed {
			t.Errorf("Apply(%s): stale %v transition %q changed %v, %v", f.EventID, out.Stale, describe(out.Transition), out.Changed, err)
		}
	}
	if len(fake.puts) != 2 {
		t.Errorf("%d writes, want 2", len(fake.puts))
	}
	// The item round-trips to the entry the memory store keeps.
	m := NewMemory()
	m.Apply(ctx, create)
	want, _ := m.Apply(ctx, fnd(10, "TagResource", "e-tag", nc, "rotation is still disabled"))
	got, found, err := tb.Get(ctx, testRule, testKey)
	if err != nil || !found || !entriesEqual(got, want.Entry) {
		t.Errorf("Get = %+v, %v, %v;\nwant %+v", got, found, err, want.Entry)
	}
	if item := fake.items[Key(testRule, testKey)]; item[VersionAttribute].(*types.AttributeValueMemberN).Value != "2" ||
		keyOf(item) != "kms_key_rotation_enabled#"+testKey {
		t.Errorf("item %v", item)
	}
}

// entriesEqual compares two entries field by field, times by instant.
func entriesEqual(a, b Entry) bool {
	return a.EventTime.Equal(b.EventTime) && a.Since.Equal(b.Since) &&
		slices.Equal(a.FileSystems, b.FileSystems) &&
		slices.EqualFunc(a.Transitions, b.Transitions, func(x, y Transition) bool {
			x.At, y.At = x.At.UTC(), y.At.UTC()
			return x == y
		}) &&
		a.Rule == b.Rule && a.Resource == b.Resource && a.ResourceType == b.ResourceType && a.Account == b.Account &&
		a.Region == b.Region && a.Status == b.Status && a.Reason == b.Reason && a.Severity == b.Severity && a.Title == b.Title &&
		a.EventID == b.EventID && a.EventName == b.EventName && a.Order == b.Order && a.SinceOrder == b.SinceOrder &&
		a.PriorOrder == b.PriorOrder && a.Resolved == b.Resolved
}

func TestTableRetriesWhenAnotherWriterWins(t *testing.T) {
	ctx := context.Background()
	fake := newFakeTable()
	tb := mustTable(t, fake, "ledger")
	other := mustTable(t, fake, "ledger")
	if _, err := tb.Apply(ctx, fnd(0, cloudtrail.EventCreateKey, "e-create", nc, "rotation is disabled")); err != nil {
		t.Fatal(err)
	}
	// Between this Apply's read and its write another process writes a
	// newer record: the write fails its condition, the Apply reads again
	// and finds its record stale.
	fake.beforePut = func() {
		if _, err := other.Apply(ctx, fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled")); err != nil {
			t.Error(err)
		}
	}
	out, err := tb.Apply(ctx, fnd(20, "TagResource", "e-tag", nc, "rotation is disabled"))
	if err != nil || out.Conflicts != 1 || !out.Stale || out.Entry.Status != ok {
		t.Fatalf("Apply: conflicts %d stale %v status %s, %v", out.Conflicts, out.Stale, out.Entry.Status, err)
	}
	// An older record's only effect (moving PriorOrder) survives a race too.
	fake.beforePut = func() {
		if _, err := other.Apply(ctx, fnd(40, "TagResource", "e-tag2", ok, "rotation is enabled")); err != nil {
			t.Error(err)
		}
	}
	out, err = tb.Apply(ctx, fnd(25, cloudtrail.EventDisableKeyRotation, "e-disable", nc, "rotation is disabled"))
	e, _, _ := tb.Get(ctx, testRule, testKey)
	if err != nil || out.Conflicts != 1 || e.EventID != "e-tag2" || e.PriorOrder != OrderKey(fnd(25, cloudtrail.EventDisableKeyRotation, "e-disable", nc, "")) {
		t.Errorf("Apply: conflicts %d, %v; entry event %s prior %q", out.Conflicts, err, e.EventID, e.PriorOrder)
	}
}

func TestTableGivesUpOnEndlessContention(t *testing.T) {
	fake := newFakeTable()
	fake.putErr = &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")}
	out, err := mustTable(t, fake, "ledger").Apply(context.Background(), fnd(0, cloudtrail.EventCreateKey, "e", nc, ""))
	if !errors.Is(err, ErrContention) || out.Conflicts != maxAttempts || len(fake.puts) != maxAttempts {
		t.Errorf("Apply: conflicts %d after %d writes, %v; want ErrContention", out.Conflicts, len(fake.puts), err)
	}
}

func TestTableErrors(t *testing.T) {
	if _, err := NewTable(nil, "t"); err == nil {
		t.Error("NewTable without a client succeeded")
	}
	if _, err := NewTable(newFakeTable(), ""); err == nil {
		t.Error("NewTable without a name succeeded")
	}
	boom := errors.New("ProvisionedThroughputExceededException")
	fake := newFakeTable()
	fake.putErr = boom
	out, err := mustTable(t, fake, "ledger").Apply(context.Background(), fnd(0, cloudtrail.EventCreateKey, "e", nc, ""))
	if !errors.Is(err, boom) || out.Conflicts != 0 || !strings.Contains(err.Error(), "write kms_key_rotation_enabled#") {
		t.Errorf("Apply = %v", err)
	}
}

func TestTableRejectsMalformedItems(t *testing.T) {
	good := encode(fromFinding(fnd(0, cloudtrail.EventCreateKey, "e", nc, "r"), "o"), 1)
	tests := []struct {
		name   string
		change func(map[string]types.AttributeValue)
		want   string
	}{
		{"no key", func(i map[string]types.AttributeValue) { delete(i, KeyAttribute) }, "item without a string pk"},
		{"no version", func(i map[string]types.AttributeValue) { delete(i, VersionAttribute) }, "attribute version is missing or not a number"},
		{"version not an integer", func(i map[string]types.AttributeValue) {
			i[VersionAttribute] = &types.AttributeValueMemberN{Value: "1.5"}
		}, "attribute version is not an integer"},
		{"status a number", func(i map[string]types.AttributeValue) { i["status"] = &types.AttributeValueMemberN{Value: "1"} }, "attribute status is not a string"},
		{"unknown status", func(i map[string]types.AttributeValue) { i["status"] = &types.AttributeValueMemberS{Value: "GREEN"} }, "attribute rule, resource, order or status is missing or invalid"},
		{"bad time", func(i map[string]types.AttributeValue) { i["since"] = &types.AttributeValueMemberS{Value: "yesterday"} }, "attribute since is not an RFC 3339 time"},
		{"bad transitions", func(i map[string]types.AttributeValue) {
			i[TransitionsAttribute] = &types.AttributeValueMemberS{Value: "{"}
		}, "attribute transitions is not a JSON array"},
		{"resolved a string", func(i map[string]types.AttributeValue) { i["resolved"] = &types.AttributeValueMemberS{Value: "yes"} }, "attribute resolved is not a boolean"},
		{"file systems a string", func(i map[string]types.AttributeValue) {
			i["file_systems"] = &types.AttributeValueMemberS{Value: "fs-1"}
		}, "attribute file_systems is not a list"},
		{"file system a number", func(i map[string]types.AttributeValue) {
			i["file_systems"] = &types.AttributeValueMemberL{Value: []types.AttributeValue{&types.AttributeValueMemberN{Value: "1"}}}
		}, "attribute file_systems holds a value that is not a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeTable()
			item := maps.Clone(good)
			tc.change(item)
			key := "x"
			if _, ok := item[KeyAttribute]; ok {
				key = keyOf(item)
			}
			fake.items[key] = item
			_, err := mustTable(t, fake, "ledger").List(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "table ledger") {
				t.Errorf("List error %v, want one naming %q", err, tc.want)
			}
		})
	}
}

func TestTableListPages(t *testing.T) {
	ctx := context.Background()
	fake := newFakeTable()
	tb := mustTable(t, fake, "ledger")
	m := NewMemory()
	for i, r := range []string{"r5", "r1", "r4", "r2", "r3"} {
		f := fnd(i, "PutKeyPolicy", "e", ok, "")
		f.Resource = r
		if _, err := tb.Apply(ctx, f); err != nil {
			t.Fatal(err)
		}
		m.Apply(ctx, f)
	}
	got, err := tb.List(ctx)
	want, _ := m.List(ctx)
	if err != nil || len(got) != 5 || !slices.EqualFunc(got, want, entriesEqual) {
		t.Errorf("List = %d entries, %v; want the memory store's 5", len(got), err)
	}
}

// Every field of an entry survives the item encoding.
func TestItemRoundTrip(t *testing.T) {
	m := NewMemory()
	ctx := context.Background()
	create := fnd(0, cloudtrail.EventCreateKey, "e-create", nc, "rotation is disabled")
	create.FileSystems = []string{"fs-0123456789abcdef0", "fs-0123456789abcdef1"}
	for _, f := range []finding.Finding{
		create,
		fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled"),
		deleted(fnd(90, cloudtrail.EventDeleteKey, "e-delete", ok, "the key was deleted")),
		fnd(60, "TagResource", "e-tag", ok, "rotation is enabled"), // late: moves Since
	} {
		if _, err := m.Apply(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	want, _, _ := m.Get(ctx, testRule, testKey)
	if !want.Resolved || want.PriorOrder == "" || len(want.Transitions) != 3 {
		t.Fatalf("the entry does not use every field: %+v", want)
	}
	got, version, err := decode(encode(want, 7))
	if err != nil || version != 7 || !entriesEqual(got, want) {
		t.Errorf("decode(encode(e)) = %+v, %d, %v;\nwant %+v", got, version, err, want)
	}
}

// FuzzDecodeItem: an item with any attribute values decodes or fails with
// an error, never a panic; what decodes encodes back to the same entry.
func FuzzDecodeItem(f *testing.F) {
	f.Add("COMPLIANT", "2026-11-23T13:00:00Z", `[{"to":"COMPLIANT","at":"2026-11-23T13:00:00Z","reason":"","order":"o"}]`, "3", true)
	f.Add("NON_COMPLIANT", "yesterday", "{", "x", false)
	f.Add("", "", "", "", false)
	f.Fuzz(func(t *testing.T, status, since, transitions, version string, resolved bool) {
		item := encode(fromFinding(fnd(0, cloudtrail.EventCreateKey, "e", nc, "r"), "o"), 1)
		item["status"] = &types.AttributeValueMemberS{Value: status}
		item["since"] = &types.AttributeValueMemberS{Value: since}
		item[TransitionsAttribute] = &types.AttributeValueMemberS{Value: transitions}
		item[VersionAttribute] = &types.AttributeValueMemberN{Value: version}
		item["resolved"] = &types.AttributeValueMemberBOOL{Value: resolved}
		e, v, err := decode(item)
		if err != nil {
			return
		}
		again, v2, err := decode(encode(e, v))
		if err != nil || v2 != v || !entriesEqual(again, e) {
			t.Errorf("re-decoding %+v gave %+v, %d, %v", e, again, v2, err)
		}
	})
}
