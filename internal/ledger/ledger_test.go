package ledger

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
)

// Findings here are atrest's own values, not CloudTrail records; their event
// names are real KMS and CloudTrail API names, whose causal rank
// (cloudtrail.RankOf) the order key uses.

const (
	testRule = "kms_key_rotation_enabled"
	testKey  = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
)

var t0 = time.Date(2026, 11, 23, 13, 0, 0, 0, time.UTC)

// fnd is a finding of testRule on testKey, sec seconds after t0.
func fnd(sec int, name, id string, st finding.Status, reason string) finding.Finding {
	return finding.Finding{
		Rule: testRule, Resource: testKey, ResourceType: "AWS::KMS::Key",
		Account: "123456789012", Region: "us-east-1",
		Status: st, Reason: reason, Severity: "MEDIUM", Title: "KMS key rotation enabled",
		EventTime: t0.Add(time.Duration(sec) * time.Second), EventName: name, EventID: id,
	}
}

func deleted(f finding.Finding) finding.Finding { f.ResourceDeleted = true; return f }

const (
	nc = finding.NonCompliant
	ok = finding.Compliant
)

func TestOrderKey(t *testing.T) {
	tests := []struct {
		name string
		f    finding.Finding
		want string
	}{
		{"modify", fnd(1, cloudtrail.EventEnableKeyRotation, "e-1", ok, ""), "2026-11-23T13:00:01.000000000Z 1 e-1"},
		{"create ranks 0", fnd(0, cloudtrail.EventCreateKey, "e-2", nc, ""), "2026-11-23T13:00:00.000000000Z 0 e-2"},
		{"undelete ranks 4", fnd(0, cloudtrail.EventCancelKeyDeletion, "e-3", nc, ""), "2026-11-23T13:00:00.000000000Z 4 e-3"},
		{"other zones are UTC, nanoseconds kept", finding.Finding{
			EventTime: time.Date(2026, 11, 23, 15, 0, 0, 5, time.FixedZone("EET", 2*3600)), EventName: "PutKeyPolicy", EventID: "x",
		}, "2026-11-23T13:00:00.000000005Z 1 x"},
		{"a sweep finding has no id", finding.Finding{EventTime: t0}, "2026-11-23T13:00:00.000000000Z 1 "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := OrderKey(tc.f); got != tc.want {
				t.Errorf("OrderKey = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestOrderKeySortsAsCompare holds the string order of keys equal to the
// order the pipeline applies records in.
func TestOrderKeySortsAsCompare(t *testing.T) {
	names := []string{cloudtrail.EventCreateKey, cloudtrail.EventEnableKeyRotation, cloudtrail.EventScheduleKeyDeletion,
		cloudtrail.EventRetireGrant, cloudtrail.EventCancelKeyDeletion, "PutKeyPolicy"}
	ids := []string{"a", "ab", "b", "0f3c", ""}
	rng := rand.New(rand.NewPCG(1, 2))
	rec := func() *cloudtrail.Record {
		return &cloudtrail.Record{
			EventTime: t0.Add(time.Duration(rng.IntN(3)) * time.Second).Add(time.Duration(rng.IntN(2)) * time.Nanosecond),
			EventName: names[rng.IntN(len(names))],
			EventID:   ids[rng.IntN(len(ids))],
		}
	}
	key := func(r *cloudtrail.Record) string {
		return OrderKey(finding.Finding{EventTime: r.EventTime, EventName: r.EventName, EventID: r.EventID})
	}
	sign := func(n int) int { return min(max(n, -1), 1) }
	for range 5000 {
		a, b := rec(), rec()
		if got, want := sign(strings.Compare(key(a), key(b))), sign(cloudtrail.Compare(a, b)); got != want {
			t.Fatalf("keys %q, %q compare %d; records compare %d", key(a), key(b), got, want)
		}
	}
}

type step struct {
	f          finding.Finding
	transition string // "FROM>TO", "FROM>TO resolved", or "" for none
	stale      bool
}

func describe(tr *Transition) string {
	if tr == nil {
		return ""
	}
	s := string(tr.From) + ">" + string(tr.To)
	if tr.Resolved {
		s += " resolved"
	}
	return s
}

func TestApply(t *testing.T) {
	create := fnd(0, cloudtrail.EventCreateKey, "e-create", nc, "rotation is disabled")
	tests := []struct {
		name  string
		steps []step
		// The final entry's status, reason, event id, since (seconds after
		// t0), resolved, and its transitions described.
		status      finding.Status
		reason      string
		eventID     string
		since       int
		resolved    bool
		transitions []string
	}{
		{
			name:   "the first judgement of a pair is a transition from nothing",
			steps:  []step{{create, ">NON_COMPLIANT", false}},
			status: nc, reason: "rotation is disabled", eventID: "e-create", since: 0,
			transitions: []string{">NON_COMPLIANT"},
		},
		{
			name: "a restatement updates the event and reason, keeps since, is no transition",
			steps: []step{
				{create, ">NON_COMPLIANT", false},
				{fnd(10, "TagResource", "e-tag", nc, "rotation is still disabled"), "", false},
			},
			status: nc, reason: "rotation is still disabled", eventID: "e-tag", since: 0,
			transitions: []string{">NON_COMPLIANT"},
		},
		{
			name: "a change of status is a transition",
			steps: []step{
				{create, ">NON_COMPLIANT", false},
				{fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled"), "NON_COMPLIANT>COMPLIANT", false},
			},
			status: ok, reason: "rotation is enabled", eventID: "e-enable", since: 30,
			transitions: []string{">NON_COMPLIANT", "NON_COMPLIANT>COMPLIANT"},
		},
		{
			name: "the same record again is stale and changes nothing",
			steps: []step{
				{create, ">NON_COMPLIANT", false},
				{create, "", true},
			},
			status: nc, reason: "rotation is disabled", eventID: "e-create", since: 0,
			transitions: []string{">NON_COMPLIANT"},
		},
		{
			name: "an older record arriving late is stale",
			steps: []step{
				{fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled"), ">COMPLIANT", false},
				{create, "", true},
			},
			status: ok, reason: "rotation is enabled", eventID: "e-enable", since: 30,
			transitions: []string{">COMPLIANT"},
		},
		{
			name: "in one second the creation orders before the change, whatever the event ids",
			steps: []step{
				{fnd(0, cloudtrail.EventEnableKeyRotation, "a", ok, "rotation is enabled"), ">COMPLIANT", false},
				{fnd(0, cloudtrail.EventCreateKey, "z", nc, "rotation is disabled"), "", true},
			},
			status: ok, reason: "rotation is enabled", eventID: "a", since: 0,
			transitions: []string{">COMPLIANT"},
		},
		{
			name: "a late older record of the same status moves since back",
			steps: []step{
				{fnd(10, "TagResource", "e-tag", nc, "rotation is disabled"), ">NON_COMPLIANT", false},
				{create, "", true},
			},
			status: nc, reason: "rotation is disabled", eventID: "e-tag", since: 0,
			transitions: []string{">NON_COMPLIANT"},
		},
		{
			name: "a late older record of another status inside the run cuts it at the newest record",
			steps: []step{
				{create, ">NON_COMPLIANT", false},
				{fnd(20, cloudtrail.EventDisableKeyRotation, "e-disable", nc, "rotation is disabled"), "", false},
				{fnd(10, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled"), "", true},
			},
			status: nc, reason: "rotation is disabled", eventID: "e-disable", since: 20,
			transitions: []string{">NON_COMPLIANT"},
		},
		{
			name: "a deletion resolves the entry even when the status stays",
			steps: []step{
				{create, ">NON_COMPLIANT", false},
				{deleted(fnd(60, cloudtrail.EventDeleteKey, "e-delete", nc, "the key was deleted")), "NON_COMPLIANT>NON_COMPLIANT resolved", false},
			},
			status: nc, reason: "the key was deleted", eventID: "e-delete", since: 60, resolved: true,
			transitions: []string{">NON_COMPLIANT", "NON_COMPLIANT>NON_COMPLIANT resolved"},
		},
		{
			name: "no older record reopens a deleted resource",
			steps: []step{
				{deleted(fnd(60, cloudtrail.EventDeleteKey, "e-delete", nc, "the key was deleted")), ">NON_COMPLIANT resolved", false},
				{fnd(30, cloudtrail.EventEnableKeyRotation, "e-enable", ok, "rotation is enabled"), "", true},
			},
			status: nc, reason: "the key was deleted", eventID: "e-delete", since: 60, resolved: true,
			transitions: []string{">NON_COMPLIANT resolved"},
		},
		{
			name: "a newer record of a resource that exists again reopens the entry",
			steps: []step{
				{fnd(0, cloudtrail.EventCreateTrail, "e-create", nc, "not logging"), ">NON_COMPLIANT", false},
				{deleted(fnd(60, cloudtrail.EventDeleteTrail, "e-delete", nc, "the trail was deleted")), "NON_COMPLIANT>NON_COMPLIANT resolved", false},
				{fnd(120, cloudtrail.EventCreateTrail, "e-again", ok, "logging"), "NON_COMPLIANT>COMPLIANT", false},
			},
			status: ok, reason: "logging", eventID: "e-again", since: 120,
			transitions: []string{">NON_COMPLIANT", "NON_COMPLIANT>NON_COMPLIANT resolved", "NON_COMPLIANT>COMPLIANT"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for i, s := range tc.steps {
				out, err := m.Apply(context.Background(), s.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := describe(out.Transition); got != s.transition || out.Stale != s.stale {
					t.Errorf("step %d: transition %q stale %v, want %q stale %v", i, got, out.Stale, s.transition, s.stale)
				}
				if !s.stale && !out.Changed {
					t.Errorf("step %d: a newer finding did not change the entry", i)
				}
			}
			e, found, _ := m.Get(context.Background(), testRule, testKey)
			if !found {
				t.Fatal("no entry")
			}
			var trs []string
			for _, tr := range e.Transitions {
				trs = append(trs, describe(&tr))
			}
			if e.Status != tc.status || e.Reason != tc.reason || e.EventID != tc.eventID ||
				!e.Since.Equal(t0.Add(time.Duration(tc.since)*time.Second)) || e.Resolved != tc.resolved || !slices.Equal(trs, tc.transitions) {
				t.Errorf("entry status %s reason %q event %s since %v resolved %v transitions %q;\nwant %s %q %s +%ds %v %q",
					e.Status, e.Reason, e.EventID, e.Since, e.Resolved, trs, tc.status, tc.reason, tc.eventID, tc.since, tc.resolved, tc.transitions)
			}
		})
	}
}

func TestApplySweepUsesTheClock(t *testing.T) {
	now := t0.Add(time.Hour)
	m := NewMemory(WithClock(func() time.Time { return now }))
	sweep := finding.Finding{Rule: testRule, Resource: testKey, Status: ok, Reason: "rotation is enabled", Source: "sweep"}
	out, err := m.Apply(context.Background(), sweep)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Entry.EventTime.Equal(now) || out.Entry.Order != "2026-11-23T14:00:00.000000000Z 1 " || describe(out.Transition) != ">COMPLIANT" {
		t.Errorf("entry %+v, transition %q", out.Entry, describe(out.Transition))
	}
	// A record of before the sweep arriving afterwards is older than what
	// the sweep observed.
	out, _ = m.Apply(context.Background(), fnd(60, cloudtrail.EventDisableKeyRotation, "e-disable", nc, "rotation is disabled"))
	if !out.Stale || out.Entry.Status != ok {
		t.Errorf("a record older than the sweep: stale %v status %s", out.Stale, out.Entry.Status)
	}
}

func TestApplyKeepsTheLastTransitions(t *testing.T) {
	m := NewMemory()
	for i := range MaxTransitions + 3 {
		st := []finding.Status{nc, ok}[i%2]
		if _, err := m.Apply(context.Background(), fnd(i, "PutKeyPolicy", fmt.Sprintf("e-%02d", i), st, "")); err != nil {
			t.Fatal(err)
		}
	}
	e, _, _ := m.Get(context.Background(), testRule, testKey)
	if len(e.Transitions) != MaxTransitions || e.Transitions[0].EventID != "e-03" || e.Transitions[MaxTransitions-1].EventID != "e-12" {
		t.Errorf("kept %d transitions, from %s to %s", len(e.Transitions), e.Transitions[0].EventID, e.Transitions[len(e.Transitions)-1].EventID)
	}
	// Get returns a copy.
	e.Transitions[0].EventID = "changed"
	if again, _, _ := m.Get(context.Background(), testRule, testKey); again.Transitions[0].EventID != "e-03" {
		t.Error("changing a returned entry changed the store")
	}
}

func TestMemoryListSortsByRuleThenResource(t *testing.T) {
	m := NewMemory()
	for _, p := range [][2]string{{"b", "r1"}, {"a", "r2"}, {"a", "r1"}} {
		f := fnd(0, "PutKeyPolicy", "e", ok, "")
		f.Rule, f.Resource = p[0], p[1]
		if _, err := m.Apply(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}
	es, _ := m.List(context.Background())
	var got []string
	for _, e := range es {
		got = append(got, e.Rule+"/"+e.Resource)
	}
	if want := []string{"a/r1", "a/r2", "b/r1"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}
}

func TestApplyRejectsInvalidFindings(t *testing.T) {
	tests := []struct {
		name   string
		change func(*finding.Finding)
		want   string
	}{
		{"no rule", func(f *finding.Finding) { f.Rule = "" }, `rule "", resource "arn:aws:kms:`},
		{"no resource", func(f *finding.Finding) { f.Resource = "" }, `rule "kms_key_rotation_enabled", resource "": both are required`},
		{"rule with the key separator", func(f *finding.Finding) { f.Rule = "a#b" }, `rule "a#b" contains '#'`},
		{"unknown status", func(f *finding.Finding) { f.Status = "GREEN" }, `status "GREEN"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := fnd(0, cloudtrail.EventCreateKey, "e", nc, "")
			tc.change(&f)
			fake := newFakeTable()
			for name, s := range map[string]Store{"memory": NewMemory(), "table": mustTable(t, fake, "ledger")} {
				_, err := s.Apply(context.Background(), f)
				if !errors.Is(err, ErrInvalidFinding) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: Apply = %v, want ErrInvalidFinding naming %q", name, err, tc.want)
				}
				if es, _ := s.List(context.Background()); len(es) != 0 {
					t.Errorf("%s: an invalid finding was kept: %+v", name, es)
				}
			}
			if len(fake.puts) != 0 {
				t.Errorf("the table was written %d times", len(fake.puts))
			}
		})
	}
}
