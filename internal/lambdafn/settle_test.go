package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/awstest"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
)

// keeper is a Settler that keeps what it is handed, as the settle queue
// would deliver it.
type keeper struct{ held []monitor.Held }

func (k *keeper) Hold(_ context.Context, h monitor.Held) error {
	k.held = append(k.held, h)
	return nil
}

// flakyLedger is a memory ledger whose Get fails once broken is set.
type flakyLedger struct {
	*ledger.Memory
	broken bool
}

func (l *flakyLedger) Get(ctx context.Context, rule, resource string) (ledger.Entry, bool, error) {
	if l.broken {
		return ledger.Entry{}, false, errors.New("ProvisionedThroughputExceededException")
	}
	return l.Memory.Get(ctx, rule, resource)
}

// batches is a metrics sink that keeps every batch.
type batches struct{ got []metrics.Batch }

func (b *batches) Publish(_ context.Context, batch metrics.Batch) error {
	b.got = append(b.got, batch)
	return nil
}

// sum adds up every value of the metric name the batches hold.
func (b *batches) sum(name string) float64 {
	var n float64
	for _, batch := range b.got {
		for _, d := range batch.Datums {
			if d.Name == name {
				for _, v := range d.Values {
					n += v
				}
			}
		}
	}
	return n
}

// counter is a finding sink that counts what it is handed.
type counter struct{ handed []finding.Finding }

func (c *counter) Name() string { return "counter" }

func (c *counter) PublishFindings(_ context.Context, fs []finding.Finding) (int, error) {
	c.handed = append(c.handed, fs...)
	return len(fs), nil
}

// settleMonitor is a function's Monitor with the memory store and the
// memory ledger, its held verdicts kept by k and its published findings
// counted by c.
func settleMonitor(t *testing.T, k *keeper, c *counter, mb *batches, l *flakyLedger, log *bytes.Buffer) *lambdafn.Monitor {
	t.Helper()
	s, err := lambdafn.FromEnv(func(name string) string {
		return map[string]string{lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvMetrics: lambdafn.MetricsNone}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(log), &bytes.Buffer{},
		func(o *monitor.Options) { o.Settler = k; o.Sinks = append(o.Sinks, c); o.Metrics = mb; o.Ledger = l })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sampleEvent(t *testing.T, name string) json.RawMessage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sqsEvent is a batch of the settle queue whose bodies are bodies.
func sqsEvent(bodies ...string) events.SQSEvent {
	var e events.SQSEvent
	for i, b := range bodies {
		e.Records = append(e.Records, events.SQSMessage{
			MessageId: "m-" + string(rune('1'+i)), Body: b, EventSource: "aws:sqs",
			EventSourceARN: "arn:aws:sqs:us-east-1:111122223333:atrest-settle",
		})
	}
	return e
}

// TestSettle: the kms_key_rotation_enabled verdict of a CreateKey is held;
// the settle function publishes it when rotation was still not enabled and
// nothing once an EnableKeyRotation was applied; a body that is no held
// verdict is counted as a decode error and not failed. The CreateKey and
// EnableKeyRotation records are the samples in events/ (01 and 03).
func TestSettle(t *testing.T) {
	const (
		rule   = "kms_key_rotation_enabled"
		keyARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	tests := []struct {
		name          string
		inputs        []string // trail-events invocations before the window ends
		malformed     string   // a body sent in place of the held verdict
		sample        string   // a sample SQS event of events/ sent in place of the held verdict
		ledgerDown    bool     // the ledger cannot be read when the window ends
		wantFailed    []string // message ids returned in BatchItemFailures
		wantPublished []string // rule|status|resource handed to the sinks by Settle
		wantLog       string
	}{
		{
			name:          "CreateKey alone: published when the window ends",
			inputs:        []string{"01-eventbridge-kms-createkey-symmetric.json"},
			wantPublished: []string{rule + "|NON_COMPLIANT|" + keyARN},
			wantLog:       "held finding confirmed",
		},
		{
			name:          "the sample event (sam local invoke -e events/settle-held.json) after CreateKey",
			inputs:        []string{"01-eventbridge-kms-createkey-symmetric.json"},
			sample:        "settle-held.json",
			wantPublished: []string{rule + "|NON_COMPLIANT|" + keyARN},
			wantLog:       "held finding confirmed",
		},
		{
			name:    "CreateKey then EnableKeyRotation: nothing published",
			inputs:  []string{"01-eventbridge-kms-createkey-symmetric.json", "03-eventbridge-kms-enablekeyrotation.json"},
			wantLog: "held finding settled",
		},
		{
			name:       "the ledger cannot be read: the message is failed, to come back, and nothing published",
			inputs:     []string{"01-eventbridge-kms-createkey-symmetric.json"},
			ledgerDown: true,
			wantFailed: []string{"m-1"},
			wantLog:    "held finding not re-checked, to be delivered again",
		},
		{
			name:      "a body that is no held verdict: counted, not failed",
			inputs:    []string{"01-eventbridge-kms-createkey-symmetric.json"},
			malformed: `{"finding":{"rule":"kms_key_rotation_enabled"}`,
			wantLog:   "message refused",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, c, mb := &keeper{}, &counter{}, &batches{}
			var log bytes.Buffer
			l := &flakyLedger{Memory: ledger.NewMemory()}
			m := settleMonitor(t, k, c, mb, l, &log)
			ctx := context.Background()
			for _, in := range tc.inputs {
				if err := m.TrailEvents(ctx, sampleEvent(t, in)); err != nil {
					t.Fatal(err)
				}
			}
			var bodies []string
			for _, h := range k.held {
				if h.Finding.Rule != rule || h.Finding.Resource != keyARN || h.Finding.EventName != "CreateKey" {
					t.Errorf("held %s %s after %s, want only %s of %s after CreateKey", h.Finding.Rule, h.Finding.Resource, h.Finding.EventName, rule, keyARN)
				}
				b, err := json.Marshal(h)
				if err != nil {
					t.Fatal(err)
				}
				bodies = append(bodies, string(b))
			}
			if len(bodies) != 1 {
				t.Fatalf("%d verdicts held, want 1", len(bodies))
			}
			for _, f := range c.handed {
				if f.Rule == rule && f.Status == finding.NonCompliant {
					t.Errorf("the held verdict was published before the window ended: %+v", f)
				}
			}
			if tc.malformed != "" {
				bodies = []string{tc.malformed}
			}
			c.handed, mb.got = nil, nil
			log.Reset()
			batch := sqsEvent(bodies...)
			if tc.sample != "" {
				batch = events.SQSEvent{}
				if err := json.Unmarshal(sampleEvent(t, tc.sample), &batch); err != nil {
					t.Fatal(err)
				}
			}
			l.broken = tc.ledgerDown
			resp, err := m.Settle(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			var failed []string
			for _, f := range resp.BatchItemFailures {
				failed = append(failed, f.ItemIdentifier)
			}
			if strings.Join(failed, ",") != strings.Join(tc.wantFailed, ",") {
				t.Errorf("batch item failures %q, want %q", failed, tc.wantFailed)
			}
			var got []string
			for _, f := range c.handed {
				got = append(got, f.Rule+"|"+string(f.Status)+"|"+f.Resource)
			}
			if strings.Join(got, ",") != strings.Join(tc.wantPublished, ",") {
				t.Errorf("published %q, want %q", got, tc.wantPublished)
			}
			if !strings.Contains(log.String(), tc.wantLog) {
				t.Errorf("log has no %q:\n%s", tc.wantLog, log.String())
			}
			wantDecodeErrors := 0
			if tc.malformed != "" {
				wantDecodeErrors = 1
			}
			if got := mb.sum(metrics.MetricDecodeErrors); got != float64(wantDecodeErrors) {
				t.Errorf("DecodeErrors %v, want %d", got, wantDecodeErrors)
			}
		})
	}
}

// TestSettleUnderEmulator runs the settle bootstrap under the Lambda
// emulator with the memory store and ledger of a fresh execution
// environment: the sample held verdict finds no ledger entry holding it
// (its sender's ledger is another process's), so it is settled and nothing
// is published; a body that is no held verdict is counted as a decode
// error; neither message is failed.
func TestSettleUnderEmulator(t *testing.T) {
	fn := startFunction(t, lambdafn.FunctionSettle, map[string]string{
		lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvMetrics: lambdafn.MetricsEMF,
	})
	malformed, err := json.Marshal(sqsEvent(`{"finding":{"rule":"kms_key_rotation_enabled","status":"COMPLIANT"}}`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name        string
		payload     []byte
		wantLog     string
		wantDecodes float64
	}{
		{name: "the sample held verdict", payload: sampleEvent(t, "settle-held.json"), wantLog: "held finding settled"},
		{name: "a body that is no held verdict", payload: malformed, wantLog: "message refused", wantDecodes: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fn.invoke(t, tc.payload)
			var resp events.SQSEventResponse
			if err := json.Unmarshal(r.Response, &resp); err != nil {
				t.Fatalf("response %s: %v", r.Response, err)
			}
			if len(resp.BatchItemFailures) != 0 {
				t.Errorf("batch item failures %+v, want none", resp.BatchItemFailures)
			}
			if len(r.Findings) != 0 {
				t.Errorf("findings %+v, want none (a re-check judges no record)", r.Findings)
			}
			logged := false
			for _, l := range r.Logs {
				if l["msg"] == tc.wantLog {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no %q log line in %v", tc.wantLog, r.Logs)
			}
			var decodes float64
			for _, m := range r.EMF {
				if v, ok := m[metrics.MetricDecodeErrors].(float64); ok {
					decodes += v
				}
			}
			if decodes != tc.wantDecodes {
				t.Errorf("DecodeErrors %v, want %v", decodes, tc.wantDecodes)
			}
		})
	}
}

// TestSettleQueueOnMoto: a monitoring function built with
// ATREST_SETTLE_QUEUE holds the CreateKey rotation verdict of sample 01 by
// sending it to the queue (moto), past due already, so with no delay; the
// message parses back to the held verdict, and the settle function handed
// it publishes it.
func TestSettleQueueOnMoto(t *testing.T) {
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	ctx := context.Background()
	client := sqs.NewFromConfig(awstest.Config(t, url))
	q, err := client.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("atrest-settle")})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	s, err := lambdafn.FromEnv(func(name string) string {
		return map[string]string{
			lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvMetrics: lambdafn.MetricsNone,
			lambdafn.EnvSettleQueue: aws.ToString(q.QueueUrl),
		}[name]
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &counter{}
	var log bytes.Buffer
	m, err := lambdafn.NewMonitor(ctx, s, lambdafn.NewLogger(&log), &bytes.Buffer{},
		func(o *monitor.Options) { o.Sinks = append(o.Sinks, c) })
	if err != nil {
		t.Fatal(err)
	}
	if err := m.TrailEvents(ctx, sampleEvent(t, "01-eventbridge-kms-createkey-symmetric.json")); err != nil {
		t.Fatal(err)
	}
	for _, f := range c.handed {
		if f.Rule == "kms_key_rotation_enabled" {
			t.Errorf("the held verdict was published at once: %+v", f)
		}
	}
	out, err := client.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 {
		t.Fatalf("%d messages on the settle queue, want 1\n%s", len(out.Messages), log.String())
	}
	h, err := monitor.ParseHeld([]byte(aws.ToString(out.Messages[0].Body)))
	if err != nil {
		t.Fatal(err)
	}
	if h.Finding.Rule != "kms_key_rotation_enabled" || h.Finding.EventName != "CreateKey" ||
		!h.Due.Equal(time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC)) {
		t.Errorf("held %s after %s due %v, want kms_key_rotation_enabled after CreateKey due 2026-11-20T09:05:00Z", h.Finding.Rule, h.Finding.EventName, h.Due)
	}
	c.handed = nil
	resp, err := m.Settle(ctx, sqsEvent(aws.ToString(out.Messages[0].Body)))
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Settle: %v, failures %+v", err, resp.BatchItemFailures)
	}
	if len(c.handed) != 1 || c.handed[0].Rule != "kms_key_rotation_enabled" || c.handed[0].Status != finding.NonCompliant {
		t.Errorf("published %+v, want the held kms_key_rotation_enabled verdict", c.handed)
	}
}
