package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/dedup"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

func TestMain(m *testing.M) { awstest.Main(m) }

const trailARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/atrest-trail"

func trailEvent(id string, minutes int, name, req string) map[string]any {
	return record(id, minutes, cloudtrail.SourceCloudTrail, name, req, "")
}

func statuses(fs []finding.Finding) string {
	var out []string
	for _, f := range fs {
		out = append(out, fmt.Sprintf("%s %s %s %s: %s", f.EventName, f.Rule, f.Resource, f.Status, f.Reason))
	}
	return strings.Join(out, "\n")
}

// keysOnlyStore models file systems and keys but not the monitoring path,
// as the live store does.
type keysOnlyStore struct{ m *state.Memory }

func (s keysOnlyStore) Apply(ctx context.Context, rec *cloudtrail.Record) (state.Change, error) {
	if state.MonitoringSource(rec.EventSource) {
		return state.Change{}, errors.New("keysOnlyStore got a monitoring record")
	}
	return s.m.Apply(ctx, rec)
}
func (s keysOnlyStore) FileSystem(ctx context.Context, arn string) (*state.FileSystem, error) {
	return s.m.FileSystem(ctx, arn)
}
func (s keysOnlyStore) Key(ctx context.Context, arn string) (*state.Key, error) {
	return s.m.Key(ctx, arn)
}
func (s keysOnlyStore) FileSystemsForKey(ctx context.Context, arn string) ([]*state.FileSystem, error) {
	return s.m.FileSystemsForKey(ctx, arn)
}

func TestMonitoringPathFindings(t *testing.T) {
	in := logFile(t,
		trailEvent("stop", 0, "StopLogging", fmt.Sprintf(`{"name":%q}`, trailARN)),
		trailEvent("start", 1, "StartLogging", `{"name":"atrest-trail"}`),
		record("del", 2, cloudtrail.SourceEvents, "DeleteRule", `{"name":"atrest-trail-events"}`, ""),
		record("other", 3, cloudtrail.SourceEvents, "DisableRule", `{"name":"someone-elses"}`, ""),
		record("sf", 4, cloudtrail.SourceLogs, "DeleteSubscriptionFilter", `{"logGroupName":"trail","filterName":"atrest"}`, ""),
	)
	want := strings.Join([]string{
		"StopLogging cloudtrail_monitoring_intact " + trailARN + " NON_COMPLIANT: trail atrest-trail: logging is off",
		"StartLogging cloudtrail_monitoring_intact " + trailARN + " COMPLIANT: trail atrest-trail is logging",
		"DeleteRule cloudtrail_monitoring_intact arn:aws:events:us-east-1:111122223333:rule/atrest-trail-events NON_COMPLIANT: watched EventBridge rule atrest-trail-events was deleted",
		"DisableRule cloudtrail_monitoring_intact arn:aws:events:us-east-1:111122223333:rule/someone-elses NOT_APPLICABLE: EventBridge rule someone-elses is not in watched_event_rules",
		"DeleteSubscriptionFilter cloudtrail_monitoring_intact arn:aws:logs:us-east-1:111122223333:log-group:trail:subscription-filter:atrest NON_COMPLIANT: watched subscription filter atrest on log group trail was deleted",
	}, "\n")
	cfg := config.Default()
	cfg.WatchedEventRules = []string{"atrest-trail-events"}
	cfg.WatchedSubscriptionFilters = []string{"trail:*"}
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]state.Store{"memory": state.NewMemory(), "store without trails": keysOnlyStore{state.NewMemory()}} {
		t.Run(name, func(t *testing.T) {
			p, err := New(Options{Store: store, Engine: e, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			var got collected
			rep, err := p.ProcessInput(context.Background(), "trail.json", strings.NewReader(in), got.emit)
			if err != nil || rep.Bad() {
				t.Fatalf("ProcessInput: %v, %+v", err, rep)
			}
			if s := statuses(got); s != want {
				t.Errorf("findings:\n%s\nwant:\n%s", s, want)
			}
			for _, f := range got {
				if f.ResourceType != string(state.TypeMonitoringPath) || f.Severity != "HIGH" || f.Account != acct || f.Region != region {
					t.Errorf("finding = %+v", f)
				}
			}
		})
	}
}

func newDedupTable(t *testing.T) *dedup.Table {
	t.Helper()
	client := dynamodb.NewFromConfig(awstest.Config(t, awstest.Moto(t)))
	name := fmt.Sprintf("atrest-pipeline-dedup-%d", time.Now().UnixNano())
	ctx := context.Background()
	if _, err := client.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String(dedup.KeyAttribute), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String(dedup.KeyAttribute), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest,
	}); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String(dedup.TTLAttribute), Enabled: aws.Bool(true)},
	}); err != nil {
		t.Fatalf("UpdateTimeToLive: %v", err)
	}
	tb, err := dedup.NewTable(client, name)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// A batch retried to a fresh process (a new Lambda instance: empty store,
// nothing remembered in memory) gives no findings twice with the table on,
// and every finding again without it.
func TestRetriedBatchWithDedupTableOnMoto(t *testing.T) {
	batch := logFile(t, createKey, createFS, keyEvent("d", 2, "DisableKey"))
	// CreateKey: 5 key findings; CreateFileSystem: 2 file-system and the 4
	// key rules it triggers (all but rotation); DisableKey: the 3 it
	// triggers (availability, rotation, the round trip).
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	run := func(seen func(context.Context, string) (bool, error)) (collected, Report, *state.Memory) {
		t.Helper()
		store := state.NewMemory()
		p, err := New(Options{Store: store, Engine: e, Config: config.Default(), Seen: seen})
		if err != nil {
			t.Fatal(err)
		}
		var got collected
		rep, err := p.ProcessInput(context.Background(), "batch.json", strings.NewReader(batch), got.emit)
		if err != nil {
			t.Fatal(err)
		}
		return got, rep, store
	}
	table := newDedupTable(t)
	first, rep1, _ := run(table.Seen)
	retry, rep2, store2 := run(table.Seen)
	if len(first) != 14 || rep1.Processed != 3 || rep1.Duplicates != 0 {
		t.Fatalf("first delivery: %d findings, report %+v", len(first), rep1)
	}
	if len(retry) != 0 || rep2.Duplicates != 3 || rep2.Processed != 0 {
		t.Errorf("retried delivery: %d findings, report %+v; want none, 3 duplicates", len(retry), rep2)
	}
	// The retry still applied the records: the new process's model is whole.
	if k, _ := store2.Key(context.Background(), keyARN); k == nil || k.KeyState != state.KeyStateDisabled {
		t.Errorf("key after the retried batch = %+v, want Disabled", k)
	}
	// Without the table the retry is judged again.
	again, _, _ := run(nil)
	if len(again) != len(first) {
		t.Errorf("without a table: %d findings, want %d", len(again), len(first))
	}
}

func TestDedupFailureStillJudges(t *testing.T) {
	var calls atomic.Int64
	failing := func(context.Context, string) (bool, error) {
		calls.Add(1)
		return false, errors.New("ProvisionedThroughputExceededException")
	}
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(), Seen: failing})
	if err != nil {
		t.Fatal(err)
	}
	failed := keyEvent("f", 3, "DisableKey")
	failed["errorCode"] = "AccessDeniedException"
	var got collected
	rep, err := p.ProcessInput(context.Background(), "x.json", strings.NewReader(logFile(t, createKey, createKey, failed)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	// Consulted once for CreateKey: not for the in-process duplicate, not for
	// the failed call.
	if len(got) != 5 || rep.Processed != 2 || rep.Duplicates != 1 || rep.Failed != 1 || calls.Load() != 1 {
		t.Errorf("%d findings, %d calls, report %+v", len(got), calls.Load(), rep)
	}
}
