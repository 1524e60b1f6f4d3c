package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/metrics"
)

// TestDriversAgree feeds the same sample inputs to the CLI and to the
// functions that receive each delivery shape (trail-events, trail-logs,
// trail-archive), both built as users run them (flags; environment), and
// compares every finding and every metric datum. Both run through the one
// harness, so they must agree exactly; the only difference allowed is the
// Source dimension of the per-input counters, which is "cli" for the CLI
// and the delivery shape for a function.
func TestDriversAgree(t *testing.T) {
	fixed := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	defer func(c func() time.Time) { clock = c }(clock)
	clock = func() time.Time { return fixed }

	// Every input a function receives as it is: EventBridge events, a
	// CloudWatch Logs subscription payload, an SQS message of S3
	// notifications, the malformed ones of those shapes included.
	var inputs []string
	for _, pattern := range []string{"*-eventbridge-*.json", "*-cloudwatch-logs-*.json", "*-sqs-s3-*.json"} {
		m, err := filepath.Glob(filepath.Join("../../events", pattern))
		if err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, m...)
	}
	sort.Strings(inputs)
	if len(inputs) < 20 {
		t.Fatalf("%d sample inputs, want the story's", len(inputs))
	}

	args := append([]string{"evaluate", "--format", "json", "--metrics", "emf", "--s3-root", "../../events/s3"}, inputs...)
	var cliOut, cliErr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &cliOut, &cliErr)
	if code != exitBadInput { // the malformed samples
		t.Fatalf("CLI exit %d, want %d; stderr:\n%s", code, exitBadInput, cliErr.String())
	}
	cliFindings := decodeFindings(t, cliOut.String())
	cliMetrics := emfDatums(t, cliErr.String())

	s, err := lambdafn.FromEnv(func(k string) string {
		return map[string]string{
			lambdafn.EnvRegion: "us-east-1", lambdafn.EnvStore: "memory", lambdafn.EnvMetrics: "emf",
			lambdafn.EnvS3Root: "../../events/s3", lambdafn.EnvTrailBucket: "atrest-trail-bucket",
		}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var fnLogs, fnEMF bytes.Buffer
	m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&fnLogs), &fnEMF, lambdafn.WithClock(func() time.Time { return fixed }))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, in := range inputs {
		payload, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		switch name := filepath.Base(in); {
		case strings.Contains(name, "-eventbridge-"):
			err = m.TrailEvents(ctx, payload)
		case strings.Contains(name, "-cloudwatch-logs-"):
			err = m.TrailLogs(ctx, payload)
		default:
			var e events.SQSEvent
			if err = json.Unmarshal(payload, &e); err == nil {
				_, err = m.TrailArchive(ctx, e)
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
	}
	var fnFindings []finding.Finding
	sc := bufio.NewScanner(&fnLogs)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			Msg     string          `json:"msg"`
			Finding finding.Finding `json:"finding"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("log line: %v\n%s", err, sc.Text())
		}
		if l.Msg == "finding" {
			fnFindings = append(fnFindings, l.Finding)
		}
	}
	fnMetrics := emfDatums(t, fnEMF.String())

	if len(cliFindings) < 50 {
		t.Fatalf("CLI judged %d findings; want the story's", len(cliFindings))
	}
	if len(cliFindings) != len(fnFindings) {
		t.Fatalf("CLI %d findings, functions %d", len(cliFindings), len(fnFindings))
	}
	for i := range cliFindings {
		c, f := cliFindings[i], fnFindings[i]
		if !c.EventTime.Equal(f.EventTime) {
			t.Errorf("finding %d: event time %v, functions %v", i, c.EventTime, f.EventTime)
		}
		c.EventTime, f.EventTime = time.Time{}, time.Time{}
		cj, _ := json.Marshal(c)
		fj, _ := json.Marshal(f)
		if !bytes.Equal(cj, fj) {
			t.Errorf("finding %d differs:\nCLI       %s\nfunctions %s", i, cj, fj)
		}
	}

	// A function's counters are under its delivery shape, the CLI's under
	// "cli": the same numbers once named alike.
	perInput := map[string]bool{
		metrics.MetricEventsProcessed: true, metrics.MetricEventsSkipped: true, metrics.MetricFailedCalls: true,
		metrics.MetricDecodeErrors: true, metrics.MetricEvaluationErrors: true,
		metrics.MetricLedgerWrites: true, metrics.MetricLedgerTransitions: true, metrics.MetricLedgerStale: true,
		metrics.MetricLedgerContention: true,
	}
	renamed := map[string][]float64{}
	for k, v := range fnMetrics {
		name, _, _ := strings.Cut(k, " ")
		if perInput[name] {
			for _, src := range []string{metrics.SourceEventBridge, metrics.SourceCloudWatchLogs, metrics.SourceS3} {
				k = strings.Replace(k, "Source="+src, "Source="+metrics.SourceCLI, 1)
			}
		}
		renamed[k] = append(renamed[k], v...)
	}
	fnMetrics = sumCounters(renamed)
	cliMetrics = sumCounters(cliMetrics)
	for _, want := range []string{
		"DecodeErrors Source=cli", "EventsProcessed Source=cli", "FailedCalls Source=cli",
		"Findings Rule=kms_key_rotation_enabled,Status=NON_COMPLIANT", "DetectionLatency Source=eventbridge",
		"LedgerTransitions Source=cli", "NonCompliantResources Rule=efs_encrypted_at_rest",
	} {
		if _, ok := cliMetrics[want]; !ok {
			t.Errorf("CLI metrics have no %s: %v", want, keys(cliMetrics))
		}
	}
	for _, k := range keys(cliMetrics) {
		if !slices.Equal(cliMetrics[k], fnMetrics[k]) {
			t.Errorf("%s: CLI %v, functions %v", k, cliMetrics[k], fnMetrics[k])
		}
	}
	for _, k := range keys(fnMetrics) {
		if _, ok := cliMetrics[k]; !ok {
			t.Errorf("%s: functions %v, the CLI has none", k, fnMetrics[k])
		}
	}
}

// emfDatums reads embedded metric format lines into every value of each
// metric and dimension set ("Name Dim=value,Dim=value").
func emfDatums(t *testing.T, out string) map[string][]float64 {
	t.Helper()
	got := map[string][]float64{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal([]byte(line), &doc); err != nil {
			t.Fatalf("EMF line: %v\n%s", err, line)
		}
		aws, _ := doc["_aws"].(map[string]any)
		directives, _ := aws["CloudWatchMetrics"].([]any)
		for _, d := range directives {
			dir := d.(map[string]any)
			var dims []string
			for _, set := range dir["Dimensions"].([]any) {
				for _, name := range set.([]any) {
					dims = append(dims, name.(string)+"="+doc[name.(string)].(string))
				}
			}
			sort.Strings(dims)
			for _, m := range dir["Metrics"].([]any) {
				name := m.(map[string]any)["Name"].(string)
				k := name + " " + strings.Join(dims, ",")
				switch v := doc[name].(type) {
				case float64:
					got[k] = append(got[k], v)
				case []any:
					for _, x := range v {
						got[k] = append(got[k], x.(float64))
					}
				}
			}
		}
	}
	return got
}

// sumCounters folds each metric's values: counters (and the findings
// count) sum, since a function publishes a batch per invocation and the CLI
// one; a gauge keeps its last value (the ledger's after the last input);
// distributions (latencies) keep every value, sorted.
func sumCounters(m map[string][]float64) map[string][]float64 {
	out := map[string][]float64{}
	for k, vs := range m {
		if strings.HasPrefix(k, metrics.MetricNonCompliantResources+" ") {
			out[k] = vs[len(vs)-1:]
			continue
		}
		if strings.HasSuffix(strings.SplitN(k, " ", 2)[0], "Latency") {
			v := slices.Clone(vs)
			slices.Sort(v)
			out[k] = v
			continue
		}
		var sum float64
		for _, v := range vs {
			sum += v
		}
		out[k] = []float64{sum}
	}
	return out
}

func keys(m map[string][]float64) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
