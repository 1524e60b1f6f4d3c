package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
)

// state is what decides a run: the status and whether the resource is gone.
type state struct {
	status   finding.Status
	resolved bool
}

func stateOf(f finding.Finding) state { return state{f.Status, f.ResourceDeleted} }

// randomHistory is up to 7 findings of one pair: a few seconds apart or in
// the same second (where the rank and then the event id order them), with
// two statuses and now and then a deletion.
func randomHistory(rng *rand.Rand) []finding.Finding {
	names := []string{cloudtrail.EventCreateKey, cloudtrail.EventEnableKeyRotation, cloudtrail.EventDisableKeyRotation,
		cloudtrail.EventScheduleKeyDeletion, cloudtrail.EventCancelKeyDeletion}
	n := 1 + rng.IntN(7)
	fs := make([]finding.Finding, n)
	for i := range fs {
		st := []finding.Status{ok, nc}[rng.IntN(2)]
		fs[i] = fnd(rng.IntN(4), names[rng.IntN(len(names))], fmt.Sprintf("e-%d", i), st, fmt.Sprintf("reason %d", i))
		if rng.IntN(8) == 0 {
			fs[i].ResourceDeleted = true
		}
	}
	return fs
}

// inOrder is the oracle, computed without the ledger: the findings sorted by
// order key; the final state is the newest one's, and the run starts after
// the newest finding whose state differs.
func inOrder(fs []finding.Finding) (last finding.Finding, since time.Time, changes int) {
	sorted := slices.Clone(fs)
	slices.SortFunc(sorted, func(a, b finding.Finding) int { return strings.Compare(OrderKey(a), OrderKey(b)) })
	last = sorted[len(sorted)-1]
	start := 0
	for i := range sorted {
		if i > 0 && stateOf(sorted[i]) != stateOf(sorted[i-1]) {
			changes++
		}
		if stateOf(sorted[i]) != stateOf(last) {
			start = i + 1
		}
	}
	return last, sorted[start].EventTime, changes + 1
}

// lateContradiction reports whether a finding whose state differs from the
// final one arrives after a newer finding of the final state: the one case
// in which Since may be later than in order.
func lateContradiction(arrival []finding.Finding, final state) bool {
	for i, a := range arrival {
		if stateOf(a) != final {
			continue
		}
		for _, b := range arrival[i+1:] {
			if stateOf(b) != final && OrderKey(b) < OrderKey(a) {
				return true
			}
		}
	}
	return false
}

// TestApplyAnyArrivalOrder applies random histories in random arrival
// orders, with duplicates, and holds the guarantee of the package
// documentation: the status, reason, resolution and event of the final
// entry are the in-order ones for every order; Since is never earlier than
// in order nor later than the newest finding, and equals the in-order Since
// unless a late contradiction arrived. In order, the transitions are the
// changes of state.
func TestApplyAnyArrivalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 2026))
	var exactShuffled, contradicted, moved int
	for trial := range 2000 {
		fs := randomHistory(rng)
		last, since, changes := inOrder(fs)
		sorted := slices.Clone(fs)
		slices.SortFunc(sorted, func(a, b finding.Finding) int { return strings.Compare(OrderKey(a), OrderKey(b)) })
		arrivals := [][]finding.Finding{sorted}
		for range 20 {
			a := slices.Clone(fs)
			// Duplicates: some findings arrive twice.
			for _, f := range fs {
				if rng.IntN(4) == 0 {
					a = append(a, f)
				}
			}
			rng.Shuffle(len(a), func(i, j int) { a[i], a[j] = a[j], a[i] })
			arrivals = append(arrivals, a)
		}
		for k, arrival := range arrivals {
			m := NewMemory()
			for _, f := range arrival {
				if _, err := m.Apply(context.Background(), f); err != nil {
					t.Fatal(err)
				}
			}
			e, _, _ := m.Get(context.Background(), testRule, testKey)
			where := fmt.Sprintf("trial %d arrival %d %v", trial, k, describeAll(arrival))
			if k < 3 {
				// The table store decides the same, through its items.
				tb := mustTable(t, newFakeTable(), "ledger")
				for _, f := range arrival {
					if _, err := tb.Apply(context.Background(), f); err != nil {
						t.Fatal(err)
					}
				}
				if te, _, _ := tb.Get(context.Background(), testRule, testKey); !entriesEqual(te, e) {
					t.Fatalf("%s: table entry %+v, memory entry %+v", where, te, e)
				}
			}
			if e.Status != last.Status || e.Reason != last.Reason || e.Resolved != last.ResourceDeleted ||
				e.EventID != last.EventID || e.Order != OrderKey(last) {
				t.Fatalf("%s: entry %s %q resolved %v %s, want %s %q resolved %v %s", where,
					e.Status, e.Reason, e.Resolved, e.Order, last.Status, last.Reason, last.ResourceDeleted, OrderKey(last))
			}
			if e.Since.Before(since) || e.Since.After(last.EventTime) {
				t.Fatalf("%s: since %v outside [%v, %v]", where, e.Since, since, last.EventTime)
			}
			if n := len(e.Transitions); n == 0 || e.Transitions[n-1].To != e.Status || e.Transitions[n-1].Resolved != e.Resolved ||
				!slices.IsSortedFunc(e.Transitions, func(a, b Transition) int { return strings.Compare(a.Order, b.Order) }) {
				t.Fatalf("%s: transitions %+v do not end at the entry's state in order", where, e.Transitions)
			}
			if k == 0 && len(e.Transitions) != min(changes, MaxTransitions) {
				t.Fatalf("%s: %d transitions in order, want %d", where, len(e.Transitions), changes)
			}
			switch {
			case !lateContradiction(arrival, stateOf(last)):
				if !e.Since.Equal(since) {
					t.Fatalf("%s: since %v, want %v (no late contradiction)", where, e.Since, since)
				}
				if k > 0 && !slices.Equal(describeAll(arrival), describeAll(sorted)) {
					exactShuffled++
				}
			case !e.Since.Equal(since):
				moved++
				fallthrough
			default:
				contradicted++
			}
		}
	}
	// The generator reaches every case the guarantee distinguishes.
	if exactShuffled == 0 || contradicted == 0 || moved == 0 {
		t.Errorf("cases reached: exact out of order %d, late contradictions %d (since later %d)", exactShuffled, contradicted, moved)
	}
}

func describeAll(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		s := fmt.Sprintf("%s@%ds:%s", f.EventID, int(f.EventTime.Sub(t0).Seconds()), f.Status)
		if f.ResourceDeleted {
			s += "/deleted"
		}
		out = append(out, s)
	}
	return out
}

// TestTwoInstancesInterleavedReportEachTransitionOnce applies the two
// instances' arrivals of TestTwoInstancesOutOfOrderOnMoto one at a time,
// interleaved at random, as a store whose conditional writes are atomic
// orders them: every transition the instances report is in the store once,
// and the store holds no other. The concurrent test on moto checks the same
// count.
func TestTwoInstancesInterleavedReportEachTransitionOnce(t *testing.T) {
	ctx := context.Background()
	fs := twoInstanceFindings()
	for round := range 3 {
		inOrder := slices.Clone(fs)
		shuffled := slices.Clone(fs)
		rng := rand.New(rand.NewPCG(uint64(round), 13)) // the moto test's arrivals
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		mix := rand.New(rand.NewPCG(99, uint64(round)))
		for trial := range 500 {
			var store Store = NewMemory()
			if trial%10 == 0 {
				store = mustTable(t, newFakeTable(), "ledger")
			}
			reported, i, j := 0, 0, 0
			for i < len(inOrder) || j < len(shuffled) {
				var f finding.Finding
				if j == len(shuffled) || i < len(inOrder) && mix.IntN(2) == 0 {
					f, i = inOrder[i], i+1
				} else {
					f, j = shuffled[j], j+1
				}
				out, err := store.Apply(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if out.Transition != nil {
					reported++
				}
			}
			entries, err := store.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			stored := 0
			for _, e := range entries {
				stored += len(e.Transitions)
			}
			if stored != reported {
				t.Fatalf("round %d trial %d (%T): instances reported %d transitions, the store holds %d", round, trial, store, reported, stored)
			}
		}
	}
}
