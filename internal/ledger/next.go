package ledger

import (
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/finding"
)

// next is the one decision both stores make: the entry after f, given the
// entry the store holds (exists false: none). f carries its EventTime;
// order is OrderKey(f). The store writes Entry when Changed is set.
func next(prev Entry, exists bool, f finding.Finding, order string) Outcome {
	out, changed := decide(prev, exists, f, order)
	out.Changed = changed
	return out
}

func decide(prev Entry, exists bool, f finding.Finding, order string) (Outcome, bool) {
	if !exists {
		e := fromFinding(f, order)
		e.Since, e.SinceOrder = f.EventTime, order
		tr := transition("", f, order)
		e.Transitions = []Transition{tr}
		return Outcome{Transition: &tr, Entry: e}, true
	}
	same := prev.Status == f.Status && prev.Resolved == f.ResourceDeleted
	switch c := strings.Compare(order, prev.Order); {
	case c == 0:
		// The same record again.
		return Outcome{Stale: true, Entry: prev}, false
	case c > 0:
		e := fromFinding(f, order)
		e.Transitions = slices.Clone(prev.Transitions)
		if same {
			// A restatement: the run goes on.
			e.Since, e.SinceOrder, e.PriorOrder = prev.Since, prev.SinceOrder, prev.PriorOrder
			return Outcome{Entry: e}, true
		}
		e.Since, e.SinceOrder, e.PriorOrder = f.EventTime, order, prev.Order
		tr := transition(prev.Status, f, order)
		e.Transitions = append(e.Transitions, tr)
		if n := len(e.Transitions); n > MaxTransitions {
			e.Transitions = slices.Clone(e.Transitions[n-MaxTransitions:])
		}
		return Outcome{Transition: &tr, Entry: e}, true
	}
	// f is older than the finding that set the entry: never news, but it
	// may tell where the current run starts.
	e := prev
	switch {
	case prev.PriorOrder != "" && order <= prev.PriorOrder, order == prev.SinceOrder:
		// Before the last finding known to differ, or the run's first
		// finding again: the run is unchanged.
		return Outcome{Stale: true, Entry: prev}, false
	case order < prev.SinceOrder:
		if same {
			e.Since, e.SinceOrder = f.EventTime, order
		} else {
			e.PriorOrder = order
		}
	default:
		// Inside the run.
		if same {
			return Outcome{Stale: true, Entry: prev}, false
		}
		// A late contradiction: the run restarts after f, at a finding
		// the ledger no longer knows; the newest one bounds it.
		e.PriorOrder = order
		e.Since, e.SinceOrder = prev.EventTime, prev.Order
	}
	e.Transitions = slices.Clone(prev.Transitions)
	e.FileSystems = slices.Clone(prev.FileSystems)
	return Outcome{Stale: true, Entry: e}, true
}

// fromFinding is the entry f sets, without its run and history.
func fromFinding(f finding.Finding, order string) Entry {
	e := Entry{
		Rule:         f.Rule,
		Resource:     f.Resource,
		ResourceType: f.ResourceType,
		Account:      f.Account,
		Region:       f.Region,
		Status:       f.Status,
		Reason:       f.Reason,
		Severity:     f.Severity,
		Title:        f.Title,
		EventTime:    f.EventTime,
		EventID:      f.EventID,
		EventName:    f.EventName,
		Order:        order,
		Resolved:     f.ResourceDeleted,
	}
	if len(f.FileSystems) > 0 {
		e.FileSystems = slices.Clone(f.FileSystems)
	}
	return e
}

func transition(from finding.Status, f finding.Finding, order string) Transition {
	return Transition{
		From:      from,
		To:        f.Status,
		Resolved:  f.ResourceDeleted,
		At:        f.EventTime,
		EventID:   f.EventID,
		EventName: f.EventName,
		Reason:    f.Reason,
		Order:     order,
	}
}
