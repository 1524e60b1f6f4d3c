package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/trailgen"
)

var publishedRE = regexp.MustCompile(`atrest: (\d+) events published to `)

// TestPublishEventsEqualLedgerTransitions evaluates a generated
// 20,000-record CloudTrail log (atrest-bench gen-trail's generator, seed 1)
// with --publish-events on moto, the bus's rule forwarding every "Atrest
// Finding" event to SQS, and holds the events on the bus equal to the
// ledger's transitions that notify people: every change to NON_COMPLIANT
// and every end of one. The transitions are counted by applying the printed
// history, in order, to a memory ledger. With the settle window off, every
// one is on the bus; with its default (300 s), every one but the verdicts a
// rule's settle_after creation caused that end within the window, and their
// ends (the generated log enables rotation on some keys minutes after
// creating them).
func TestPublishEventsEqualLedgerTransitions(t *testing.T) {
	awstest.SkipShort(t, "moto")
	url := awstest.Moto(t)
	cfg := awstest.Config(t, url)
	dir := t.TempDir()
	log := filepath.Join(dir, "trail.json.gz")
	f, err := os.Create(log)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := trailgen.Write(f, trailgen.Options{Records: 20000, Seed: 1, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		config string
		window time.Duration
	}{
		{"settle window off", "settle_seconds: 0\n", 0},
		{"default settle window", "", config.DefaultSettleSeconds * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"evaluate", "--format", "json"}
			if tc.config != "" {
				conf := filepath.Join(t.TempDir(), "config.yaml")
				if err := os.WriteFile(conf, []byte(tc.config), 0o600); err != nil {
					t.Fatal(err)
				}
				args = append(args, "--config", conf)
			}
			want, got, printed, findings, settled := publishAndCount(t, cfg, url, append(args, "--publish-events"), log, tc.window)
			t.Logf("%d records (%d of interest): %d findings printed; %d ledger transitions that notify, %d of them settled within the window; %d events on the bus; the CLI printed %d events published",
				stats.Records, stats.Relevant, findings, len(want)+settled, settled, len(got), printed)
			if len(want) == 0 {
				t.Fatal("the generated log gave no transition that notifies: the test would prove nothing")
			}
			if printed != len(got) {
				t.Errorf("the CLI printed %d events published, the bus holds %d", printed, len(got))
			}
			if !slices.Equal(got, want) {
				t.Errorf("events on the bus differ from the ledger's transitions (%d, want %d):\n%s", len(got), len(want), diffLines(got, want))
			}
		})
	}
}

// publishAndCount creates a bus on moto whose rule forwards "Atrest
// Finding" events to an SQS queue, runs the CLI with args, the bus's name
// and log, and returns the ledger's transitions that notify (replaying the
// printed history in order on a memory ledger) and the events on the bus,
// both as sorted "rule status resource eventID" lines, the count the CLI
// printed and the number of findings it printed. With a settle window,
// want leaves out each NON_COMPLIANT verdict caused by one of its rule's
// settle_after events that ended within the window, and its end: settled
// counts them.
func publishAndCount(t *testing.T, cfg aws.Config, url string, args []string, log string, window time.Duration) (want, got []string, printed, findings, settled int) {
	t.Helper()
	ctx := context.Background()
	sq := sqs.NewFromConfig(cfg)
	bus := fmt.Sprintf("atrest-ledger-bus-%d", time.Now().UnixNano())
	queueURL := awstest.FindingsBus(t, cfg, bus)
	pointAt(t, url)
	stdout, stderr, code := runCLI(t, "", append(args, bus, log)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m := publishedRE.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no \"events published\" line: %s", stderr)
	}
	printed, _ = strconv.Atoi(m[1])

	// The ledger's transitions that notify, from the history as printed.
	history := decodeFindings(t, stdout)
	metas, err := policy.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	settleAfter := map[string][]string{}
	for _, m := range metas {
		settleAfter[m.ID] = m.SettleAfter
	}
	l := ledger.NewMemory()
	var notify []finding.Finding
	for _, f := range history {
		out, err := l.Apply(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if tr := out.Transition; tr != nil && (tr.To == finding.NonCompliant || tr.From == finding.NonCompliant) {
			notify = append(notify, f)
		}
	}
	held := map[int]bool{}
	for i, f := range notify {
		if window == 0 || f.Status != finding.NonCompliant || !slices.Contains(settleAfter[f.Rule], f.EventName) {
			continue
		}
		for j := i + 1; j < len(notify); j++ {
			if e := notify[j]; e.Rule == f.Rule && e.Resource == f.Resource {
				if e.EventTime.Sub(f.EventTime) < window {
					held[i], held[j] = true, true
				}
				break
			}
		}
	}
	for i, f := range notify {
		if !held[i] {
			want = append(want, f.Rule+" "+string(f.Status)+" "+f.Resource+" "+f.EventID)
		}
	}
	settled = len(held)
	slices.Sort(want)

	for {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		var batch []sqstypes.DeleteMessageBatchRequestEntry
		for i, msg := range out.Messages {
			var ev struct {
				Detail struct {
					Rule     string         `json:"rule"`
					Status   finding.Status `json:"status"`
					Resource string         `json:"resource"`
					EventID  string         `json:"event_id"`
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(msg.Body)), &ev); err != nil {
				t.Fatalf("message is not an event: %v", err)
			}
			d := ev.Detail
			got = append(got, d.Rule+" "+string(d.Status)+" "+d.Resource+" "+d.EventID)
			batch = append(batch, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: msg.ReceiptHandle})
		}
		if _, err := sq.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL), Entries: batch}); err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(got)

	return want, got, printed, len(history), settled
}

// diffLines lists what only got or only want hold.
func diffLines(got, want []string) string {
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	var b strings.Builder
	for _, s := range slices.Sorted(func(yield func(string) bool) {
		for k := range count {
			if !yield(k) {
				return
			}
		}
	}) {
		switch n := count[s]; {
		case n > 0:
			fmt.Fprintf(&b, "  extra on the bus (%d): %s\n", n, s)
		case n < 0:
			fmt.Fprintf(&b, "  missing from the bus (%d): %s\n", -n, s)
		}
	}
	return b.String()
}
