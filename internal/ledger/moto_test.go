package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var tableSeq atomic.Int64

// newMotoTable creates a ledger table on moto shaped as template.yaml
// declares it (partition key pk, type S, on-demand) and returns its name
// and the endpoint's config.
func newMotoTable(t *testing.T) (aws.Config, string) {
	t.Helper()
	return newMotoTableAt(t, awstest.Moto(t))
}

// newMotoTableAt is newMotoTable on endpoint.
func newMotoTableAt(t *testing.T, endpoint string) (aws.Config, string) {
	t.Helper()
	cfg := awstest.Config(t, endpoint)
	name := fmt.Sprintf("atrest-ledger-%d-%d", time.Now().UnixNano(), tableSeq.Add(1))
	_, err := dynamodb.NewFromConfig(cfg).CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return cfg, name
}

// twoInstanceFindings are the findings of several pairs, each history with
// at most one change of state, so every arrival order gives the in-order
// entry exactly, Since included (see the package documentation).
func twoInstanceFindings() []finding.Finding {
	key := func(n int) string {
		return fmt.Sprintf("arn:aws:kms:us-east-1:123456789012:key/0000000%d-12ab-34cd-56ef-1234567890ab", n)
	}
	on := func(f finding.Finding, n int) finding.Finding { f.Resource = key(n); return f }
	var fs []finding.Finding
	// Created without rotation, fixed 30 s later, restated after.
	fs = append(fs,
		on(fnd(0, cloudtrail.EventCreateKey, "k1-create", nc, "rotation is disabled"), 1),
		on(fnd(30, cloudtrail.EventEnableKeyRotation, "k1-enable", ok, "rotation is enabled"), 1),
		on(fnd(60, "TagResource", "k1-tag", ok, "rotation is enabled"), 1),
		on(fnd(90, "PutKeyPolicy", "k1-policy", ok, "rotation is enabled"), 1))
	// Non-compliant until deleted.
	fs = append(fs,
		on(fnd(0, cloudtrail.EventCreateKey, "k2-create", nc, "rotation is disabled"), 2),
		on(fnd(5, "TagResource", "k2-tag", nc, "rotation is disabled"), 2),
		on(deleted(fnd(90, cloudtrail.EventDeleteKey, "k2-delete", nc, "the key was deleted")), 2))
	// Created and fixed in the same second: the creation orders first.
	fs = append(fs,
		on(fnd(0, cloudtrail.EventCreateKey, "z-k3-create", nc, "rotation is disabled"), 3),
		on(fnd(0, cloudtrail.EventEnableKeyRotation, "a-k3-enable", ok, "rotation is enabled"), 3),
		on(fnd(10, "TagResource", "k3-tag", ok, "rotation is enabled"), 3))
	// Another rule on the same key, compliant all along.
	for i := range 5 {
		f := on(fnd(i*10, "TagResource", fmt.Sprintf("k1-state-%d", i), ok, "the key is enabled"), 1)
		f.Rule = "kms_key_enabled"
		fs = append(fs, f)
	}
	return fs
}

// withoutHistory drops what arrival order may change: the transitions
// (the changes each instance reported as news).
func withoutHistory(es []Entry) []Entry {
	out := slices.Clone(es)
	for i := range out {
		out[i].Transitions = nil
	}
	return out
}

// TestTwoInstancesOutOfOrderOnMoto is two function instances sharing the
// ledger table: one receives the records in order (the EventBridge copies),
// the other the same records shuffled (a log file read later), both at
// once. The table ends as the memory store does with the records in order,
// and every transition an instance reported is in the table once.
func TestTwoInstancesOutOfOrderOnMoto(t *testing.T) {
	// The two instances write concurrently: through a proxy that makes
	// moto's conditional writes atomic, as DynamoDB's are.
	endpoint := awstest.OneAtATime(t, awstest.Moto(t))
	cfg, name := newMotoTableAt(t, endpoint)
	ctx := context.Background()
	fs := twoInstanceFindings()

	want := NewMemory()
	for _, f := range fs { // already in order within each pair
		if _, err := want.Apply(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	wantList, _ := want.List(ctx)

	for round := range 3 {
		t.Run(fmt.Sprintf("round %d", round), func(t *testing.T) {
			cfg, name := cfg, name
			if round > 0 {
				cfg, name = newMotoTableAt(t, endpoint)
			}
			arrivals := [][]finding.Finding{slices.Clone(fs), slices.Clone(fs)}
			rng := rand.New(rand.NewPCG(uint64(round), 13))
			rng.Shuffle(len(arrivals[1]), func(i, j int) { arrivals[1][i], arrivals[1][j] = arrivals[1][j], arrivals[1][i] })

			var wg sync.WaitGroup
			var reported, conflicts atomic.Int64
			errs := make(chan error, 2)
			start := make(chan struct{})
			for _, arrival := range arrivals {
				// Each instance has its own client, as two Lambda
				// execution environments do.
				tb := mustTable(t, dynamodb.NewFromConfig(cfg), name)
				wg.Go(func() {
					<-start
					for _, f := range arrival {
						out, err := tb.Apply(ctx, f)
						if err != nil {
							errs <- err
							return
						}
						if out.Transition != nil {
							reported.Add(1)
						}
						conflicts.Add(int64(out.Conflicts))
					}
				})
			}
			close(start)
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			got, err := mustTable(t, dynamodb.NewFromConfig(cfg), name).List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.EqualFunc(withoutHistory(got), withoutHistory(wantList), entriesEqual) {
				t.Errorf("table:\n%+v\nwant:\n%+v", withoutHistory(got), withoutHistory(wantList))
			}
			stored := 0
			for _, e := range got {
				stored += len(e.Transitions)
				if n := len(e.Transitions); n == 0 || e.Transitions[n-1].To != e.Status || e.Transitions[n-1].Resolved != e.Resolved {
					t.Errorf("%s %s: transitions %+v do not end at the entry's state", e.Rule, e.Resource, e.Transitions)
				}
			}
			if int64(stored) != reported.Load() {
				t.Errorf("instances reported %d transitions, the table holds %d", reported.Load(), stored)
			}
			t.Logf("%d findings applied twice: %d transitions, %d conflicts retried", len(fs), reported.Load(), conflicts.Load())
		})
	}
}

// TestTableStaleAndRestatementOnMoto: a stale record changes nothing in the
// item, the same record again neither, and a restatement updates the event
// without a transition.
func TestTableStaleAndRestatementOnMoto(t *testing.T) {
	cfg, name := newMotoTable(t)
	ctx := context.Background()
	client := dynamodb.NewFromConfig(cfg)
	tb := mustTable(t, client, name)
	item := func() map[string]types.AttributeValue {
		out, err := client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(name), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{KeyAttribute: &types.AttributeValueMemberS{Value: Key(testRule, testKey)}},
		})
		if err != nil {
			t.Fatal(err)
		}
		return out.Item
	}
	enable := fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled")
	if out, err := tb.Apply(ctx, enable); err != nil || describe(out.Transition) != ">COMPLIANT" {
		t.Fatalf("first Apply: %q, %v", describe(out.Transition), err)
	}
	// The same record again writes nothing; a late CreateKey of the key is
	// stale too, and writes only where the run it cannot touch begins
	// (PriorOrder).
	before := item()
	for i, f := range []finding.Finding{enable, fnd(0, cloudtrail.EventCreateKey, "e-create", nc, "rotation is disabled")} {
		out, err := tb.Apply(ctx, f)
		if err != nil || !out.Stale || out.Transition != nil || out.Entry.Status != ok {
			t.Fatalf("Apply(%s): stale %v transition %q status %s, %v", f.EventID, out.Stale, describe(out.Transition), out.Entry.Status, err)
		}
		if i == 0 && !reflect.DeepEqual(item(), before) {
			t.Errorf("the same record again changed the item:\n%v\nwas\n%v", item(), before)
		}
	}
	after := item()
	if p := after["prior_order"].(*types.AttributeValueMemberS).Value; p != "2026-11-23T13:00:00.000000000Z 0 e-create" {
		t.Errorf("prior_order %q", p)
	}
	if v := after[VersionAttribute].(*types.AttributeValueMemberN).Value; v != "2" {
		t.Errorf("version %s after a stale record that moved PriorOrder, want 2", v)
	}
	if after["status"].(*types.AttributeValueMemberS).Value != "COMPLIANT" || after["event_id"].(*types.AttributeValueMemberS).Value != "e-enable" ||
		after["since"].(*types.AttributeValueMemberS).Value != before["since"].(*types.AttributeValueMemberS).Value {
		t.Errorf("a stale record changed the item: %v", after)
	}
	out, err := tb.Apply(ctx, fnd(60, "TagResource", "e-tag", ok, "rotation is still enabled"))
	if err != nil || out.Transition != nil || out.Stale {
		t.Fatalf("restatement: %q stale %v, %v", describe(out.Transition), out.Stale, err)
	}
	e, found, err := tb.Get(ctx, testRule, testKey)
	if err != nil || !found || e.EventID != "e-tag" || e.Reason != "rotation is still enabled" ||
		!e.Since.Equal(t0.Add(30*time.Second)) || len(e.Transitions) != 1 {
		t.Errorf("after the restatement: %+v, %v, %v", e, found, err)
	}
	if _, found, err := tb.Get(ctx, testRule, "arn:aws:kms:us-east-1:123456789012:key/none"); found || err != nil {
		t.Errorf("Get of a pair never judged: found %v, %v", found, err)
	}
}

// TestTableRetriedWriteOnMoto: a write DynamoDB applied but answered with a
// 500 is retried by the SDK, and the retry fails its condition on the item
// the first attempt wrote. Apply knows that item by its claim and reports
// the transition it stored; counted as a conflict, it would have reported
// none and the transition's notification would be lost.
func TestTableRetriedWriteOnMoto(t *testing.T) {
	proxy, puts := awstest.AppliedThen500(t, awstest.Moto(t), "DynamoDB_20120810.PutItem")
	cfg, name := newMotoTableAt(t, proxy)
	tb := mustTable(t, dynamodb.NewFromConfig(cfg), name)
	f := twoInstanceFindings()[0]
	out, err := tb.Apply(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if n := puts(); n != 2 {
		t.Fatalf("%d PutItem requests, want the first and the SDK's retry", n)
	}
	if out.Transition == nil || out.Conflicts != 0 {
		t.Errorf("outcome %+v: want the transition the applied write stored, no conflict", out)
	}
	e, ok, err := tb.Get(context.Background(), f.Rule, f.Resource)
	if err != nil || !ok || len(e.Transitions) != 1 || e.Status != f.Status {
		t.Fatalf("entry %+v (%v, %v): want the one transition", e, ok, err)
	}
	// Applied again, the same finding is a restatement: no transition.
	if again, err := tb.Apply(context.Background(), f); err != nil || again.Transition != nil {
		t.Errorf("applied again: %+v, %v; want no transition", again, err)
	}
}
