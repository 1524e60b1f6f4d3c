package lambdafn_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// oracle judges the same inputs in process, with the memory store, in the
// same order as a warm function receives them: the findings a function
// prints must be exactly these.
type oracle struct {
	p      *pipeline.Pipeline
	engine *policy.Engine
}

func newOracle(t *testing.T) *oracle {
	t.Helper()
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Options{
		Store: state.NewMemory(), Engine: engine, Config: config.Default(),
		Decoder: &cloudtrail.Decoder{Opener: cloudtrail.DirOpener{Root: filepath.Join(repoRoot, "events", "s3")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &oracle{p: p, engine: engine}
}

func (o *oracle) judge(t *testing.T, name string, payload []byte) []finding.Finding {
	t.Helper()
	var out []finding.Finding
	_, err := o.p.ProcessInput(context.Background(), name, strings.NewReader(string(payload)), func(f finding.Finding) error {
		out = append(out, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// key is what a finding is compared on.
func key(f finding.Finding) string {
	return strings.Join([]string{f.ID, f.Rule, string(f.Status), f.Resource, f.EventID, f.Reason, f.Source}, "|")
}

func sameFindings(t *testing.T, what string, got, want []finding.Finding) {
	t.Helper()
	var g, w []string
	for _, f := range got {
		g = append(g, key(f))
	}
	for _, f := range want {
		w = append(w, key(f))
	}
	if !slices.Equal(g, w) {
		t.Errorf("%s: findings\n got %q\nwant %q", what, g, w)
	}
}

// status returns the status of rule for resource among fs ("" if absent).
func status(fs []finding.Finding, rule, resource string) finding.Status {
	for _, f := range fs {
		if f.Rule == rule && f.Resource == resource {
			return f.Status
		}
	}
	return ""
}

func localEnv() map[string]string {
	root, _ := filepath.Abs(filepath.Join(repoRoot, "events", "s3"))
	return map[string]string{
		lambdafn.EnvStore: lambdafn.StoreMemory, lambdafn.EnvS3Root: root,
		lambdafn.EnvMetrics: lambdafn.MetricsEMF, lambdafn.EnvRegion: "us-east-1",
		lambdafn.EnvTrailBucket: "atrest-trail-bucket",
	}
}

const (
	storyKey = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrailEventsUnderEmulator(t *testing.T) {
	fn := startFunction(t, lambdafn.FunctionTrailEvents, localEnv())
	o := newOracle(t)
	files, err := filepath.Glob(filepath.Join(repoRoot, "events", "*-eventbridge-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var results []result
	byFile := map[string]result{}
	for _, path := range files {
		name := filepath.Base(path)
		payload := readEvent(t, name)
		r := fn.invoke(t, payload)
		results = append(results, r)
		byFile[name] = r
		if string(r.Response) != "null" {
			t.Errorf("%s: response %s, want null (success)", name, r.Response)
		}
		sameFindings(t, name, r.Findings, o.judge(t, "eventbridge:", payload))
		done := hasLog(r, "run done")
		if done == nil {
			t.Errorf("%s: no invocation summary", name)
		}
	}
	logTiming(t, lambdafn.FunctionTrailEvents, results)

	// Spot checks of the story, by hand.
	if got := status(byFile["01-eventbridge-kms-createkey-symmetric.json"].Findings, "kms_key_rotation_enabled", storyKey); got != finding.NonCompliant {
		t.Errorf("01: rotation %q, want NON_COMPLIANT", got)
	}
	if got := status(byFile["03-eventbridge-kms-enablekeyrotation.json"].Findings, "kms_key_rotation_enabled", storyKey); got != finding.Compliant {
		t.Errorf("03: rotation %q, want COMPLIANT", got)
	}
	keyRules := 0
	for _, r := range o.engine.Rules() {
		if r.ResourceType == string(state.TypeKey) {
			keyRules++
		}
	}
	if n := len(byFile["01-eventbridge-kms-createkey-symmetric.json"].Findings); n != keyRules || n < 4 {
		t.Errorf("01: %d findings, want %d (one per key rule)", n, keyRules)
	}
	if v, ok := emfValue(byFile["01-eventbridge-kms-createkey-symmetric.json"].EMF, "Findings", "Rule", "kms_key_rotation_enabled"); !ok || v != 1.0 {
		t.Errorf("01: EMF Findings for kms_key_rotation_enabled = %v, want 1", v)
	}

	// A malformed event: logged with its position and counted, never a
	// failed invocation.
	for _, bad := range []string{"91-malformed-eventbridge-missing-detail.json", "92-malformed-eventbridge-truncated.json"} {
		r := fn.invokeFile(t, bad)
		if string(r.Response) != "null" {
			t.Errorf("%s: response %s, want null", bad, r.Response)
		}
		if len(r.Findings) != 0 {
			t.Errorf("%s: %d findings", bad, len(r.Findings))
		}
		l := hasLog(r, "bad input")
		if l == nil || l["kind"] == "" {
			t.Errorf("%s: no bad input line with a kind: %v", bad, r.Logs)
		}
		if v, ok := emfValue(r.EMF, "DecodeErrors", "Source", "eventbridge"); !ok || v != 1.0 {
			t.Errorf("%s: EMF DecodeErrors = %v, want 1", bad, v)
		}
	}
}

func TestTrailLogsUnderEmulator(t *testing.T) {
	fn := startFunction(t, lambdafn.FunctionTrailLogs, localEnv())
	o := newOracle(t)
	var results []result
	for _, name := range []string{"09-cloudwatch-logs-rotation-off-policy-insecure.json", "10-cloudwatch-logs-control-message.json", "93-malformed-cloudwatch-logs-not-gzip.json"} {
		payload := readEvent(t, name)
		r := fn.invoke(t, payload)
		results = append(results, r)
		if string(r.Response) != "null" {
			t.Errorf("%s: response %s, want null", name, r.Response)
		}
		want := o.judge(t, "awslogs", payload)
		sameFindings(t, name, r.Findings, want)
		switch name {
		case "09-cloudwatch-logs-rotation-off-policy-insecure.json":
			if len(want) == 0 {
				t.Errorf("%s: no findings", name)
			}
			if v, _ := emfValue(r.EMF, "EventsSkipped", "Source", "cloudwatch_logs"); v != 1.0 {
				t.Errorf("%s: EventsSkipped = %v, want 1 (the unrelated record)", name, v)
			}
		case "10-cloudwatch-logs-control-message.json":
			if len(r.Findings) != 0 || hasLog(r, "run done")["control_messages"] != 1.0 {
				t.Errorf("%s: control message not acknowledged: %v", name, r.Logs)
			}
		case "93-malformed-cloudwatch-logs-not-gzip.json":
			if l := hasLog(r, "bad input"); l == nil || l["kind"] == "" || l["input"] != "awslogs" {
				t.Errorf("%s: no bad input line: %v", name, r.Logs)
			}
		}
	}
	logTiming(t, lambdafn.FunctionTrailLogs, results)
}

func TestTrailArchiveUnderEmulator(t *testing.T) {
	fn := startFunction(t, lambdafn.FunctionTrailArchive, localEnv())
	o := newOracle(t)
	payload := readEvent(t, "11-sqs-s3-cloudtrail-log-file.json")
	first := fn.invoke(t, payload)
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(first.Response, &resp); err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Errorf("11: response %s, want no batch item failures", first.Response)
	}
	// The oracle reads the same message bodies one by one.
	var ev struct {
		Records []struct {
			MessageID string `json:"messageId"`
			Body      string `json:"body"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	var want []finding.Finding
	for _, m := range ev.Records {
		want = append(want, o.judge(t, "sqs:"+m.MessageID, []byte(m.Body))...)
	}
	sameFindings(t, "11", first.Findings, want)
	if len(want) == 0 {
		t.Error("11: no findings")
	}
	if v, _ := emfValue(first.EMF, "FailedCalls", "Source", "s3"); v != 1.0 {
		t.Errorf("11: FailedCalls = %v, want 1", v)
	}

	// One message names a log file that is not there, one is not JSON, one
	// is good: only the first is failed, to be delivered again.
	good := ev.Records[0].Body
	missing := strings.Replace(good, "AWSLogs/", "NoSuchPrefix/AWSLogs/", 1)
	if missing == good {
		t.Fatal("11: body names no AWSLogs/ key")
	}
	batch, _ := json.Marshal(map[string]any{"Records": []map[string]any{
		{"messageId": "m-missing", "body": missing, "eventSource": "aws:sqs"},
		{"messageId": "m-malformed", "body": "{not json", "eventSource": "aws:sqs"},
		{"messageId": "m-good", "body": good, "eventSource": "aws:sqs"},
	}})
	second := fn.invoke(t, batch)
	if err := json.Unmarshal(second.Response, &resp); err != nil {
		t.Fatalf("response %s: %v", second.Response, err)
	}
	var failed []string
	for _, f := range resp.BatchItemFailures {
		failed = append(failed, f.ItemIdentifier)
	}
	if !slices.Equal(failed, []string{"m-missing"}) {
		t.Errorf("batch item failures %v, want [m-missing]", failed)
	}
	// The good file was judged already: a warm function judges each
	// eventID once.
	if len(second.Findings) != 0 {
		t.Errorf("redelivered log file gave %d findings, want 0 (duplicates)", len(second.Findings))
	}
	if v, _ := emfValue(second.EMF, "DecodeErrors", "Source", "s3"); v != 2.0 {
		t.Errorf("DecodeErrors = %v, want 2 (missing object, malformed body)", v)
	}
	logTiming(t, lambdafn.FunctionTrailArchive, []result{first, second})
}
