package findingsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// testRuleActions suggests an action for the rotation rule, as
// remediation.DefaultRuleActions does (this package cannot import
// remediation, which imports it).
var testRuleActions = map[string]string{"kms_key_rotation_enabled": "enable_key_rotation"}

// fakeBus accepts PutEvents calls, failing the entries fail chooses.
type fakeBus struct {
	calls   int
	sizes   []int
	entries []types.PutEventsRequestEntry // accepted
	// fail returns an error code for an entry on a given call (1-based),
	// or "" to accept it.
	fail func(call int, e types.PutEventsRequestEntry) string
	err  func(call int) error
}

func (b *fakeBus) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	b.calls++
	if len(in.Entries) > PutEventsMaxEntries {
		return nil, fmt.Errorf("%d entries", len(in.Entries))
	}
	size := 0
	for _, e := range in.Entries {
		size += EntrySize(e)
	}
	if size > PutEventsMaxBytes {
		return nil, fmt.Errorf("%d bytes", size)
	}
	b.sizes = append(b.sizes, len(in.Entries))
	if b.err != nil {
		if err := b.err(b.calls); err != nil {
			return nil, err
		}
	}
	out := &eventbridge.PutEventsOutput{}
	for i, e := range in.Entries {
		code := ""
		if b.fail != nil {
			code = b.fail(b.calls, e)
		}
		if code != "" {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String(code), ErrorMessage: aws.String("failed")})
			continue
		}
		b.entries = append(b.entries, e)
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String(fmt.Sprintf("ev-%d-%d", b.calls, i))})
	}
	return out, nil
}

func newTestPublisher(bus *fakeBus) (*Publisher, *[]time.Duration) {
	var waits []time.Duration
	p := NewPublisher(bus, PublisherOptions{
		EventBusName: "atrest-test",
		RuleActions:  testRuleActions,
		Now:          func() time.Time { return t0 },
		Sleep:        func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil },
	})
	return p, &waits
}

func keyFinding(i int, st finding.Status) finding.Finding {
	res := fmt.Sprintf("arn:aws:kms:us-east-1:123456789012:key/%08d-0000-0000-0000-000000000000", i)
	return finding.Finding{
		ID: finding.StableID("kms_key_rotation_enabled", res, "ev1"), Rule: "kms_key_rotation_enabled", Status: st,
		Resource: res, ResourceType: "AWS::KMS::Key", Account: "123456789012", Region: "us-east-1",
		EventID: "ev1", EventName: "DisableKeyRotation", EventTime: t0, Reason: "rotation is off",
		Severity: "MEDIUM", Title: "KMS key rotation enabled", Remediation: "Enable automatic rotation.",
		Controls: []string{"KMS.4"}, Source: "eventbridge",
	}
}

func TestPublishFindingsDetail(t *testing.T) {
	bus := &fakeBus{}
	p, _ := newTestPublisher(bus)
	f := keyFinding(1, finding.NonCompliant)
	res, err := p.PublishFindings(context.Background(), []finding.Finding{f})
	if err != nil || res != (Result{Published: 1}) {
		t.Fatalf("result %+v err %v", res, err)
	}
	e := bus.entries[0]
	if aws.ToString(e.Source) != "atrest" || aws.ToString(e.DetailType) != "Atrest Finding" || aws.ToString(e.EventBusName) != "atrest-test" ||
		!reflect.DeepEqual(e.Resources, []string{f.Resource}) || !e.Time.Equal(t0) {
		t.Fatalf("entry %+v", e)
	}
	want := `{"id":"` + f.ID + `","rule":"kms_key_rotation_enabled","status":"NON_COMPLIANT","resource":"` + f.Resource +
		`","resource_type":"AWS::KMS::Key","account":"123456789012","region":"us-east-1","event_id":"ev1","event_name":"DisableKeyRotation",` +
		`"event_time":"2026-03-14T15:09:26Z","reason":"rotation is off","severity":"MEDIUM","title":"KMS key rotation enabled",` +
		`"controls":["KMS.4"],"source":"eventbridge","remediation":{"action":"enable_key_rotation","description":"Enable automatic rotation."}}`
	if got := aws.ToString(e.Detail); got != want {
		t.Fatalf("detail\n got %s\nwant %s", got, want)
	}
}

// TestPublishFindingsSuggestedAction checks that the action in a finding
// event's remediation block comes from RuleActions alone: none for a rule
// it leaves out, or when it is nil, and none for a COMPLIANT finding.
func TestPublishFindingsSuggestedAction(t *testing.T) {
	compliantAfter := func() []finding.Finding {
		return []finding.Finding{keyFinding(1, finding.NonCompliant), keyFinding(1, finding.Compliant)}
	}
	tests := []struct {
		name        string
		ruleActions map[string]string
		findings    []finding.Finding
		want        []string
	}{
		{"rule mapped", testRuleActions, []finding.Finding{keyFinding(1, finding.NonCompliant)}, []string{"enable_key_rotation"}},
		{"rule not mapped", map[string]string{"efs_encrypted_at_rest": "tag_unencrypted_file_system"}, []finding.Finding{keyFinding(1, finding.NonCompliant)}, []string{""}},
		{"no rule actions", nil, []finding.Finding{keyFinding(1, finding.NonCompliant)}, []string{""}},
		{"return to compliant", testRuleActions, compliantAfter(), []string{"enable_key_rotation", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bus := &fakeBus{}
			p := NewPublisher(bus, PublisherOptions{RuleActions: tc.ruleActions, Now: func() time.Time { return t0 }})
			var got []string
			for _, f := range tc.findings {
				if _, err := p.PublishFindings(context.Background(), []finding.Finding{f}); err != nil {
					t.Fatal(err)
				}
			}
			for _, e := range bus.entries {
				var d FindingDetail
				if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
					t.Fatal(err)
				}
				got = append(got, d.Remediation.Action)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("actions %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPublishFindingsTransitions(t *testing.T) {
	f := func(st finding.Status) finding.Finding { return keyFinding(1, st) }
	tests := []struct {
		name     string
		rounds   [][]finding.Status
		wantSent [][]string // statuses published per round
		wantPrev []string   // previous_status of each published event, in order
	}{
		{
			name:     "compliant first is not published",
			rounds:   [][]finding.Status{{finding.Compliant}, {finding.Compliant}},
			wantSent: [][]string{nil, nil},
		},
		{
			name:     "non-compliant then compliant closes once",
			rounds:   [][]finding.Status{{finding.NonCompliant}, {finding.Compliant}, {finding.Compliant}},
			wantSent: [][]string{{"NON_COMPLIANT"}, {"COMPLIANT"}, nil},
			wantPrev: []string{"", "NON_COMPLIANT"},
		},
		{
			name:     "non-compliant repeats are published each time",
			rounds:   [][]finding.Status{{finding.NonCompliant}, {finding.NonCompliant}},
			wantSent: [][]string{{"NON_COMPLIANT"}, {"NON_COMPLIANT"}},
			wantPrev: []string{"", "NON_COMPLIANT"},
		},
		{
			name:     "not applicable and error are not published",
			rounds:   [][]finding.Status{{finding.NonCompliant}, {finding.Error}, {finding.NotApplicable}, {finding.Compliant}},
			wantSent: [][]string{{"NON_COMPLIANT"}, nil, nil, nil},
			wantPrev: []string{""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &fakeBus{}
			p, _ := newTestPublisher(bus)
			var prevs []string
			for i, round := range tt.rounds {
				var fs []finding.Finding
				for _, st := range round {
					fs = append(fs, f(st))
				}
				before := len(bus.entries)
				if _, err := p.PublishFindings(context.Background(), fs); err != nil {
					t.Fatal(err)
				}
				var sent []string
				for _, e := range bus.entries[before:] {
					var d FindingDetail
					if err := json.Unmarshal([]byte(aws.ToString(e.Detail)), &d); err != nil {
						t.Fatal(err)
					}
					sent = append(sent, string(d.Status))
					prevs = append(prevs, string(d.PreviousStatus))
				}
				if !reflect.DeepEqual(sent, tt.wantSent[i]) {
					t.Errorf("round %d sent %v, want %v", i, sent, tt.wantSent[i])
				}
			}
			if !reflect.DeepEqual(prevs, tt.wantPrev) {
				t.Errorf("previous statuses %v, want %v", prevs, tt.wantPrev)
			}
		})
	}
}

func TestPublishFindingsBatching(t *testing.T) {
	var fs []finding.Finding
	for i := range 1000 {
		fs = append(fs, keyFinding(i, finding.NonCompliant))
	}
	bus := &fakeBus{}
	p, _ := newTestPublisher(bus)
	res, err := p.PublishFindings(context.Background(), fs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Published != 1000 || bus.calls != 100 {
		t.Fatalf("published %d in %d calls, want 1000 in 100", res.Published, bus.calls)
	}

	// Findings of about 60 KB each: four fit under 256 KB.
	big := strings.Repeat("x", 60*1024)
	fs = fs[:10]
	for i := range fs {
		fs[i].Reason = big
	}
	bus = &fakeBus{}
	p, _ = newTestPublisher(bus)
	if _, err := p.PublishFindings(context.Background(), fs); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bus.sizes, []int{4, 4, 2}) {
		t.Fatalf("entries per call %v, want [4 4 2]", bus.sizes)
	}

	// One finding too large alone is reported, the rest are sent.
	fs[3].Reason = strings.Repeat("y", PutEventsMaxBytes)
	bus = &fakeBus{}
	p, _ = newTestPublisher(bus)
	res, err = p.PublishFindings(context.Background(), fs)
	var pe *finding.DeliveryError
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || pe.Failed[0].ID != fs[3].ID || pe.Failed[0].ErrorCode != "EntryTooLarge" || res.Published != 9 {
		t.Fatalf("published %d err %v", res.Published, err)
	}
}

func TestPublishFindingsPartialFailure(t *testing.T) {
	var fs []finding.Finding
	for i := range 25 {
		fs = append(fs, keyFinding(i, finding.NonCompliant))
	}
	failing := map[string]bool{fs[3].Resource: true, fs[17].Resource: true}
	stuck := fs[17].Resource
	tests := []struct {
		name       string
		fail       func(call int, e types.PutEventsRequestEntry) string
		err        func(call int) error
		wantCalls  int
		wantFailed []string
		wantWaits  []time.Duration
		published  int
	}{
		{
			name: "failed entries succeed on retry",
			fail: func(call int, e types.PutEventsRequestEntry) string {
				if call <= 3 && failing[e.Resources[0]] {
					return "ThrottlingException"
				}
				return ""
			},
			// 3 calls for 25 entries, 1 retry call for the 2 failed.
			wantCalls: 4, published: 25, wantWaits: []time.Duration{200 * time.Millisecond},
		},
		{
			name: "an entry failing every attempt is reported with its id",
			fail: func(call int, e types.PutEventsRequestEntry) string {
				if e.Resources[0] == stuck {
					return "InternalFailure"
				}
				return ""
			},
			wantCalls: 6, published: 24, wantFailed: []string{fs[17].ID},
			wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
		},
		{
			name: "a failed request is retried whole",
			err: func(call int) error {
				if call == 2 {
					return errors.New("connection reset")
				}
				return nil
			},
			wantCalls: 4, published: 25, wantWaits: []time.Duration{200 * time.Millisecond},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &fakeBus{fail: tt.fail, err: tt.err}
			p, waits := newTestPublisher(bus)
			res, err := p.PublishFindings(context.Background(), fs)
			if bus.calls != tt.wantCalls || res.Published != tt.published {
				t.Errorf("calls %d published %d, want %d and %d", bus.calls, res.Published, tt.wantCalls, tt.published)
			}
			var ids []string
			var pe *finding.DeliveryError
			if errors.As(err, &pe) {
				for _, f := range pe.Failed {
					ids = append(ids, f.ID)
				}
			} else if err != nil {
				t.Fatalf("err %v", err)
			}
			if !reflect.DeepEqual(ids, tt.wantFailed) {
				t.Errorf("failed ids %v, want %v", ids, tt.wantFailed)
			}
			if tt.wantFailed != nil && !strings.Contains(err.Error(), tt.wantFailed[0]) {
				t.Errorf("error %q does not name %s", err, tt.wantFailed[0])
			}
			if !reflect.DeepEqual(*waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", *waits, tt.wantWaits)
			}
			// Every resource was published exactly once.
			seen := map[string]int{}
			for _, e := range bus.entries {
				seen[e.Resources[0]]++
			}
			for r, n := range seen {
				if n != 1 {
					t.Errorf("%s published %d times", r, n)
				}
			}
		})
	}
}

// A NON_COMPLIANT event that was not accepted leaves the status unknown, so
// the later COMPLIANT finding is not published as a close of a ticket that
// was never opened.
func TestFailedPublishDoesNotRecordStatus(t *testing.T) {
	bus := &fakeBus{fail: func(int, types.PutEventsRequestEntry) string { return "InternalFailure" }}
	p, _ := newTestPublisher(bus)
	f := keyFinding(1, finding.NonCompliant)
	if _, err := p.PublishFindings(context.Background(), []finding.Finding{f}); err == nil {
		t.Fatal("want an error")
	}
	if _, ok, _ := p.opts.Statuses.Previous(context.Background(), f.Rule, f.Resource); ok {
		t.Fatal("status recorded for an unpublished event")
	}
}
