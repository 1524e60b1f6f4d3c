package monitor

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/state"
)

// Held is a NON_COMPLIANT transition held for the settle window: published
// only if a re-check when the window ends still finds the resource
// non-compliant.
type Held struct {
	// Finding is the transition's finding, published as it is if the
	// re-check confirms it.
	Finding finding.Finding `json:"finding"`
	// Order is the ledger order key of the transition: if the entry's
	// current status began with another finding, the hold is moot.
	Order string `json:"order"`
	// Due is when the window ends.
	Due time.Time `json:"due"`
}

// ParseHeld reads a held transition as a Settler delivers it back.
func ParseHeld(body []byte) (Held, error) {
	var h Held
	if err := json.Unmarshal(body, &h); err != nil {
		return Held{}, fmt.Errorf("held finding: %w", err)
	}
	switch {
	case h.Finding.Rule == "" || h.Finding.Resource == "" || h.Order == "":
		return Held{}, fmt.Errorf("held finding: rule %q, resource %q, order %q: all are required", h.Finding.Rule, h.Finding.Resource, h.Order)
	case h.Finding.Status != finding.NonCompliant:
		return Held{}, fmt.Errorf("held finding: status %q: only NON_COMPLIANT verdicts are held", h.Finding.Status)
	case h.Finding.ResourceType != string(state.TypeFileSystem) && h.Finding.ResourceType != string(state.TypeKey) &&
		h.Finding.ResourceType != string(state.TypeMonitoringPath):
		return Held{}, fmt.Errorf("held finding: resource type %q is not one atrest judges", h.Finding.ResourceType)
	}
	return h, nil
}

// Settler keeps held transitions until their window ends and then hands
// them back to a run's Recheck: a delayed SQS message in the functions. A
// harness without one keeps them in its run and re-checks them at Finish.
type Settler interface {
	Hold(ctx context.Context, h Held) error
}

// ledgerOutcome decides what a judged finding is: a transition to publish,
// one to hold, or a restatement (logged by the driver, never published).
func (r *Run) ledgerOutcome(ctx context.Context, f finding.Finding) error {
	out, err := r.h.ledger.Apply(ctx, f)
	if err != nil {
		// A finding the ledger could not keep is published: a duplicate
		// notification is better than a lost one.
		r.metrics.Count(metrics.EvaluationErrors, r.source, 1)
		r.h.log.ErrorContext(ctx, "ledger not updated", "rule", f.Rule, "resource_arn", f.Resource, "error", err.Error())
		r.publish = append(r.publish, f)
		return nil
	}
	if out.Changed {
		r.metrics.Count(metrics.LedgerWrites, r.source, 1)
	}
	if out.Stale {
		r.metrics.Count(metrics.LedgerStale, r.source, 1)
	}
	r.metrics.Count(metrics.LedgerContention, r.source, out.Conflicts)
	tr := out.Transition
	if tr == nil {
		return nil
	}
	r.metrics.Count(metrics.LedgerTransitions, r.source, 1)
	r.changed = true
	switch {
	case r.held(f, tr):
		h := Held{Finding: f, Order: tr.Order, Due: f.EventTime.Add(r.h.settle)}
		r.h.log.InfoContext(ctx, "finding held for the settle window", "rule", f.Rule, "resource_arn", f.Resource,
			"event_name", f.EventName, "due", h.Due)
		if r.h.settler == nil {
			r.holds = append(r.holds, h)
			return nil
		}
		if err := r.h.settler.Hold(ctx, h); err != nil {
			// It cannot be re-checked later: publish it now.
			r.h.log.ErrorContext(ctx, "finding not held, published at once", "rule", f.Rule, "resource_arn", f.Resource, "error", err.Error())
			r.publish = append(r.publish, f)
		}
	case r.settled(out.Entry, tr):
		r.h.log.InfoContext(ctx, "fixed within the settle window, nothing published", "rule", f.Rule, "resource_arn", f.Resource)
	case news(f, tr):
		f.PreviousStatus = tr.From
		r.publish = append(r.publish, f)
	}
	return nil
}

// news reports whether a transition notifies people: a NON_COMPLIANT
// verdict, and the end of one (back to COMPLIANT, the resource deleted, or
// no longer judged so).
func news(f finding.Finding, tr *ledger.Transition) bool {
	return tr.To == finding.NonCompliant || tr.From == finding.NonCompliant
}

// held reports whether a NON_COMPLIANT transition is held: its rule expects
// the event that caused it (custom.settle_after, a creation) to be followed
// by the call that fixes it, and the settle window is on. A verdict caused
// by any other event (DisableKey, StopLogging, DisableKeyRotation...) is
// never held: it breaks something that worked.
func (r *Run) held(f finding.Finding, tr *ledger.Transition) bool {
	if tr.To != finding.NonCompliant || r.h.settle <= 0 || f.EventTime.IsZero() {
		return false
	}
	m, ok := r.h.engine.Meta(f.Rule)
	return ok && slices.Contains(m.SettleAfter, f.EventName)
}

// settled reports whether a transition ends a NON_COMPLIANT verdict that
// was held and had not been published: the one before it was held, and
// this one comes within its window (its end included: the re-check is due
// then).
func (r *Run) settled(e ledger.Entry, tr *ledger.Transition) bool {
	if tr.From != finding.NonCompliant || r.h.settle <= 0 || len(e.Transitions) < 2 {
		return false
	}
	prev := e.Transitions[len(e.Transitions)-2]
	m, ok := r.h.engine.Meta(e.Rule)
	return ok && prev.To == finding.NonCompliant && slices.Contains(m.SettleAfter, prev.EventName) &&
		tr.At.Sub(prev.At) <= r.h.settle
}

// Recheck decides a held transition once its window ended: when the
// ledger's entry still holds it and the resource, judged again as it now
// stands, is still non-compliant, the held finding is published; otherwise
// nothing is (a fix inside the window already cleared it, or the fresh
// verdict is applied to the ledger and published only if it is news of its
// own).
func (r *Run) Recheck(ctx context.Context, h Held) error {
	return r.recheck(ctx, []Held{h})[0]
}

// recheck decides held transitions as Recheck does, and returns each one's
// error. The resources of the holds still undecided are judged again
// together, each by its held rule alone (the others' verdicts are not
// asked), on every core. Each hold is a transition of its own ledger entry,
// and deciding one writes no other entry and no resource: deciding them
// together decides each as deciding them one by one would.
func (r *Run) recheck(ctx context.Context, holds []Held) []error {
	errs := make([]error, len(holds))
	var (
		checks []pipeline.Check
		due    []int // the index in holds of each check
	)
	for i, h := range holds {
		e, ok, err := r.h.ledger.Get(ctx, h.Finding.Rule, h.Finding.Resource)
		if err != nil {
			errs[i] = fmt.Errorf("recheck %s %s: %w", h.Finding.Rule, h.Finding.Resource, err)
			continue
		}
		if !ok || e.Status != finding.NonCompliant || e.SinceOrder != h.Order {
			r.h.log.InfoContext(ctx, "held finding settled", "rule", h.Finding.Rule, "resource_arn", h.Finding.Resource)
			continue
		}
		checks = append(checks, pipeline.Check{
			Ref:   state.ResourceRef{Type: state.ResourceType(h.Finding.ResourceType), ARN: h.Finding.Resource},
			Rules: []string{h.Finding.Rule},
		})
		due = append(due, i)
	}
	for k, c := range r.h.pipeline.EvaluateResources(ctx, checks, r.source) {
		errs[due[k]] = r.decide(ctx, holds[due[k]], c.Findings, c.Err)
	}
	return errs
}

// decide settles a held transition still held by the findings of its
// resource judged again (fs, err).
func (r *Run) decide(ctx context.Context, h Held, fs []finding.Finding, err error) error {
	if err != nil {
		// Unknown now: the held verdict stands and is published.
		r.h.log.WarnContext(ctx, "held finding not re-evaluated, published as held", "rule", h.Finding.Rule, "resource_arn", h.Finding.Resource, "error", err.Error())
		f := h.Finding
		f.PreviousStatus = ""
		r.publish = append(r.publish, f)
		return nil
	}
	for _, f := range fs {
		if f.Rule != h.Finding.Rule {
			continue
		}
		if f.Status == finding.NonCompliant {
			r.h.log.InfoContext(ctx, "held finding confirmed", "rule", f.Rule, "resource_arn", f.Resource)
			r.publish = append(r.publish, h.Finding)
			return nil
		}
		// The resource changed without an event the ledger saw: keep the
		// ledger true, publish nothing (the held verdict never was).
		if _, err := r.h.ledger.Apply(ctx, f); err != nil {
			return fmt.Errorf("recheck %s %s: %w", f.Rule, f.Resource, err)
		}
		r.changed = true
		r.h.log.InfoContext(ctx, "held finding settled", "rule", f.Rule, "resource_arn", f.Resource, "status", string(f.Status))
	}
	return nil
}

// gauge sets the NonCompliantResources gauge of every rule from the
// ledger: the resources each rule holds NON_COMPLIANT, resolved ones left
// out, zero included.
func (r *Run) gauge(ctx context.Context) error {
	entries, err := r.h.ledger.List(ctx)
	if err != nil {
		return err
	}
	n := map[string]int{}
	for _, m := range r.h.engine.Rules() {
		n[m.ID] = 0
	}
	for _, e := range entries {
		if e.Status == finding.NonCompliant && !e.Resolved {
			n[e.Rule]++
		}
	}
	for rule, c := range n {
		r.metrics.SetNonCompliant(rule, c)
	}
	return nil
}
