package lambdafn_test

// Two trail-events instances under the emulator share the DynamoDB ledger on
// moto and receive the sample key story out of order: what they publish on
// the findings bus, and the ledger they leave, must be those of one in-order
// run. Without the table each instance keeps its own ledger, and the test
// shows what a user then receives.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/monitor"
)

// keyStory is the sample events of one key's life, in event-time order:
// created without rotation, rotation enabled, a file system encrypted with
// it and its EFS grant, deletion scheduled then cancelled (the key is left
// Disabled), enabled again, the grant revoked. The samples' records are the
// documented CloudTrail log entries of each call, ids replaced:
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html,
// https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html (CreateFileSystem),
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-creategrant.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-cancel-key-deletion.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekey.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-revoke-grant.html.
var keyStory = []string{
	"01-eventbridge-kms-createkey-symmetric.json",
	"03-eventbridge-kms-enablekeyrotation.json",
	"04-eventbridge-efs-createfilesystem-cmk.json",
	"05-eventbridge-kms-creategrant-efs.json",
	"12-eventbridge-kms-schedulekeydeletion.json",
	"13-eventbridge-kms-cancelkeydeletion.json",
	"14-eventbridge-kms-enablekey.json",
	"15-eventbridge-kms-revokegrant.json",
}

// arrival is one delivery: which instance receives which sample.
type arrival struct {
	instance string
	event    string
}

// outOfOrder delivers every record of the story twice, as EventBridge and a
// retry (or the S3 copy) would, split across two instances: instance B runs
// ahead through the ScheduleKeyDeletion, then instance A receives the
// creation, minutes of event time older; B finishes the story, and A's
// copies of everything B already judged arrive last. Each instance sees the
// story in its own order, so its memory state store is right for every
// record it judges: what differs between the runs is only the ledger.
var outOfOrder = []arrival{
	{"B", keyStory[0]}, {"B", keyStory[1]}, {"B", keyStory[2]}, {"B", keyStory[3]}, {"B", keyStory[4]},
	{"A", keyStory[0]}, {"A", keyStory[1]},
	{"B", keyStory[5]}, {"B", keyStory[6]}, {"B", keyStory[7]},
	{"A", keyStory[2]}, {"A", keyStory[3]}, {"A", keyStory[4]}, {"A", keyStory[5]}, {"A", keyStory[6]}, {"A", keyStory[7]},
}

// noSettle turns the settle window off: this test is about the ledger's
// ordering across instances; the window has tests of its own.
const noSettle = "settle_seconds: 0\n"

// recorder is a finding sink that keeps what it is handed.
type recorder struct{ got []finding.Finding }

func (*recorder) Name() string { return "recorder" }

func (r *recorder) PublishFindings(_ context.Context, fs []finding.Finding) (int, error) {
	r.got = append(r.got, fs...)
	return len(fs), nil
}

// notification names one "Atrest Finding" event: what changed, and the
// record that changed it.
func notification(rule string, status finding.Status, eventID string) string {
	return fmt.Sprintf("%s %s %s", rule, status, eventID)
}

// inOrder runs the story once, in order, through one in-process
// trail-events Monitor with its memory ledger: the ledger's entries and the
// notifications its transitions give (sorted).
func inOrder(t *testing.T) ([]ledger.Entry, []string) {
	t.Helper()
	env := localEnv()
	env[lambdafn.EnvRuleConfig] = noSettle
	env[lambdafn.EnvMetrics] = lambdafn.MetricsNone
	s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ctx := context.Background()
	m, err := lambdafn.NewMonitor(ctx, s, slog.New(slog.DiscardHandler), io.Discard,
		func(o *monitor.Options) { o.Sinks = append(o.Sinks, rec) })
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range keyStory {
		if err := m.TrailEvents(ctx, readEvent(t, name)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	entries, err := m.Harness.Ledger().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var news []string
	for _, f := range rec.got {
		news = append(news, notification(f.Rule, f.Status, f.EventID))
	}
	slices.Sort(news)
	return entries, news
}

var busSeq atomic.Int64

// countingBus creates a findings bus on moto whose rule sends every
// "Atrest Finding" event to an SQS queue, and returns the bus name and a
// function that reads every event the queue holds.
func countingBus(t *testing.T, cfg aws.Config) (string, func() []string) {
	t.Helper()
	sq := sqs.NewFromConfig(cfg)
	name := fmt.Sprintf("atrest-findings-%d-%d", time.Now().UnixNano(), busSeq.Add(1))
	queueURL := awstest.FindingsBus(t, cfg, name)
	return name, func() []string { return drainFindings(t, sq, queueURL) }
}

// drainFindings reads and deletes every message of a queue fed by a
// findings bus rule, until a receive comes back empty, and returns each
// event as a notification (sorted).
func drainFindings(t *testing.T, sq *sqs.Client, url string) []string {
	t.Helper()
	ctx := context.Background()
	var got []string
	for {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			var ev struct {
				DetailType string `json:"detail-type"`
				Detail     struct {
					Rule    string         `json:"rule"`
					Status  finding.Status `json:"status"`
					EventID string         `json:"event_id"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("message is not an event: %v: %s", err, aws.ToString(m.Body))
			}
			got = append(got, notification(ev.Detail.Rule, ev.Detail.Status, ev.Detail.EventID))
			if _, err := sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	slices.Sort(got)
	return got
}

var ledgerSeq atomic.Int64

// motoLedgerTable creates the ledger table on moto as template.yaml's
// ComplianceLedgerTable declares it: partition key pk of type S, on-demand.
func motoLedgerTable(t *testing.T, cfg aws.Config) string {
	t.Helper()
	name := fmt.Sprintf("atrest-ledger-%d-%d", time.Now().UnixNano(), ledgerSeq.Add(1))
	_, err := dynamodb.NewFromConfig(cfg).CreateTable(context.Background(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(ledger.KeyAttribute), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(ledger.KeyAttribute), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	return name
}

// entriesJSON renders entries one a line, for comparison and diffs.
func entriesJSON(t *testing.T, es []ledger.Entry) string {
	t.Helper()
	var b strings.Builder
	for _, e := range es {
		j, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

// twice is every notification of list, each twice (sorted).
func twice(list []string) []string {
	out := slices.Concat(list, list)
	slices.Sort(out)
	return out
}

func TestLedgerTwoInstancesOutOfOrder(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	wantEntries, wantNews := inOrder(t)
	// The story's notifications, in order: rotation off at creation and
	// its fix, the file system's missing TLS policy, the key policy that
	// blocks EFS, the key unavailable from ScheduleKeyDeletion (still so
	// after CancelKeyDeletion: a restatement) to EnableKey, and again
	// after RevokeGrant.
	if want := []string{
		notification("efs_encryption_in_transit_enforced", finding.NonCompliant, "5eed0000-0000-0000-0000-000000000004"),
		notification("efs_kms_key_available", finding.Compliant, "5eed0000-0000-0000-0000-000000000012"),
		notification("efs_kms_key_available", finding.NonCompliant, "5eed0000-0000-0000-0000-000000000010"),
		notification("efs_kms_key_available", finding.NonCompliant, "5eed0000-0000-0000-0000-000000000013"),
		notification("efs_kms_key_policy_grants_efs", finding.NonCompliant, "5eed0000-0000-0000-0000-000000000004"),
		notification("kms_key_rotation_enabled", finding.Compliant, "5eed0000-0000-0000-0000-000000000003"),
		notification("kms_key_rotation_enabled", finding.NonCompliant, "5eed0000-0000-0000-0000-000000000001"),
	}; !slices.Equal(wantNews, want) {
		t.Fatalf("in-order notifications\n got %q\nwant %q", wantNews, want)
	}

	for _, tc := range []struct {
		name  string
		table bool
		// want is the notifications on the bus.
		want []string
	}{
		// One ledger: every transition is published once, by whichever
		// instance judged it first; every later copy is stale.
		{"with the table", true, wantNews},
		// Each instance's own ledger: A, which judges its copies after B,
		// finds every transition new to it and publishes it again.
		{"without the table", false, twice(wantNews)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus, drain := countingBus(t, cfg)
			env := localEnv()
			for k, v := range awsEnv(endpoint) {
				if strings.HasPrefix(k, "AWS_") {
					env[k] = v
				}
			}
			env[lambdafn.EnvRuleConfig] = noSettle
			env[lambdafn.EnvFindingsBus] = bus
			var table string
			if tc.table {
				table = motoLedgerTable(t, cfg)
				env[lambdafn.EnvLedgerTable] = table
			}
			instances := map[string]*emulated{
				"A": startFunction(t, lambdafn.FunctionTrailEvents, env),
				"B": startFunction(t, lambdafn.FunctionTrailEvents, env),
			}
			published := map[string]int{}
			for _, a := range outOfOrder {
				r := instances[a.instance].invokeFile(t, a.event)
				if string(r.Response) != "null" {
					t.Fatalf("%s %s: response %s", a.instance, a.event, r.Response)
				}
				for _, msg := range []string{"findings not delivered", "ledger not updated"} {
					if l := hasLog(r, msg); l != nil {
						t.Errorf("%s %s: %s: %v", a.instance, a.event, msg, l)
					}
				}
				if l := delivered(r, "event_bus"); l != nil {
					n, _ := l["delivered"].(float64)
					published[a.instance] += int(n)
				}
			}
			got := drain()
			t.Logf("%s: %d events on the bus (instance A %d, B %d); the in-order ledger's transitions that notify: %d",
				tc.name, len(got), published["A"], published["B"], len(wantNews))
			if !slices.Equal(got, tc.want) {
				t.Errorf("events on the bus\n got %q\nwant %q", got, tc.want)
			}
			if !tc.table {
				// Instance B ran ahead and published the whole story;
				// A published it all again.
				if published["A"] != len(wantNews) || published["B"] != len(wantNews) {
					t.Errorf("published by A %d, by B %d, want %d each", published["A"], published["B"], len(wantNews))
				}
				return
			}
			if published["A"] != 0 || published["B"] != len(wantNews) {
				t.Errorf("published by A %d, by B %d, want 0 and %d", published["A"], published["B"], len(wantNews))
			}
			lt, err := ledger.NewTable(dynamodb.NewFromConfig(cfg), table)
			if err != nil {
				t.Fatal(err)
			}
			entries, err := lt.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if g, w := entriesJSON(t, entries), entriesJSON(t, wantEntries); g != w {
				t.Errorf("the table's entries differ from the in-order ledger's\n got:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}
