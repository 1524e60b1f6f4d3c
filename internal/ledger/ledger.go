// Package ledger keeps the compliance status of every (rule, resource) pair
// atrest has judged, and decides what is news: a finding whose status differs
// from the one the ledger holds is a transition; one with the same status is
// a restatement, logged and never published.
//
// Every update is ordered by the finding's event, not by its arrival: the
// order key is the record's eventTime, then the causal rank of its event name
// (cloudtrail.RankOf), then its eventID, the order the pipeline applies
// records in. A finding older than the one that set the current status
// changes nothing. So the ledger's final state does not depend on which copy
// of a record arrives first (the EventBridge copy in seconds, the S3 copy
// minutes later), nor on which process handles it.
//
// Two stores implement Store: Memory (the CLI's default) and Table
// (DynamoDB, the functions'), whose updates are conditional writes. Both
// decide with the same pure function, so they keep the same entries.
//
// # What arrival order can and cannot change
//
// The newest finding by order key decides an entry's Status, Reason,
// Resolved and event fields; every arrival order of the same findings ends
// with the same values. A finding older than the entry's is Stale: it is
// never news and adds no transition.
//
// Since is the event time of the earliest finding of the final run of equal
// states (status and resolved) among the findings applied, as if they had
// arrived in order, whenever no finding arrives after a newer one of the final
// run's state while its own state differs (a "late contradiction"). A late
// finding with the run's state, older than the run's start and newer than
// the last finding known to differ (PriorOrder), moves Since back; a late one
// with another state moves PriorOrder. A late contradiction inside the run
// cuts it: the ledger keeps no record of the restatements between, so Since
// becomes the event time of the newest finding (or of the earliest one of the
// run that arrives afterwards). Since is therefore never earlier than the
// in-order result and never later than the newest finding's event time.
//
// Transitions are the changes the ledger reported as news, in order key
// order. A late finding cannot be news, so a state that held only between two
// findings the ledger had already seen (a brief COMPLIANT between two
// NON_COMPLIANT judgements, arriving last) is not in the history; Since
// reflects it.
//
// # Deleted resources
//
// A finding with ResourceDeleted resolves its entry (a transition, even when
// the status stays the same). Deletion is final for every older finding: they
// are older than the deletion, hence stale. Only a newer finding of a
// resource that exists reopens the entry; that happens only to resources
// whose names can be reused (a trail, a rule, a log group), never to a file
// system or key, whose ids are not reused.
package ledger

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/finding"
)

// MaxTransitions is how many transitions an entry keeps, newest last.
const MaxTransitions = 10

// Entry is the current status of one rule on one resource.
type Entry struct {
	Rule         string         `json:"rule"`
	Resource     string         `json:"resource"`
	ResourceType string         `json:"resource_type"`
	Account      string         `json:"account,omitempty"`
	Region       string         `json:"region,omitempty"`
	Status       finding.Status `json:"status"`
	Reason       string         `json:"reason"`
	Severity     string         `json:"severity,omitempty"`
	Title        string         `json:"title,omitempty"`
	// EventTime, EventID and EventName name the record (or the sweep, with
	// no EventID) that set the entry last: restatements included.
	EventTime time.Time `json:"event_time"`
	EventID   string    `json:"event_id,omitempty"`
	EventName string    `json:"event_name,omitempty"`
	// Order is the order key of that record (OrderKey).
	Order string `json:"order"`
	// Since is the event time the resource entered Status (and Resolved);
	// SinceOrder is the order key of that finding.
	Since      time.Time `json:"since"`
	SinceOrder string    `json:"since_order"`
	// PriorOrder is the order key of the newest finding older than
	// SinceOrder whose state differed, "" when none is known: a late
	// finding older than it cannot touch the current run.
	PriorOrder string `json:"prior_order,omitempty"`
	// FileSystems is a key's blast radius when it was last judged.
	FileSystems []string `json:"file_systems,omitempty"`
	// Resolved is set when the resource was deleted: its findings are
	// archived, and no later finding reopens them.
	Resolved bool `json:"resolved,omitempty"`
	// Transitions are the last MaxTransitions status changes, oldest
	// first; the first judgement of a pair is a transition from "".
	Transitions []Transition `json:"transitions,omitempty"`
}

// Transition is one change of status, or of Resolved.
type Transition struct {
	From finding.Status `json:"from,omitempty"`
	To   finding.Status `json:"to"`
	// Resolved is set when the change resolved the entry (the resource
	// was deleted); a transition with it unset after one with it set
	// reopened the entry.
	Resolved  bool      `json:"resolved,omitempty"`
	At        time.Time `json:"at"`
	EventID   string    `json:"event_id,omitempty"`
	EventName string    `json:"event_name,omitempty"`
	Reason    string    `json:"reason"`
	// Order is the order key of the finding that made the change.
	Order string `json:"order"`
}

// Outcome is what one Apply did.
type Outcome struct {
	// Transition is non-nil when the status changed (or the pair was judged
	// for the first time): the finding is news and goes to the sinks that
	// notify people.
	Transition *Transition
	// Stale is set when the ledger holds a judgement at least as new (the
	// same record again, or a newer one): the status, reason and event
	// fields are unchanged and nothing is news. Only Since and PriorOrder
	// may have moved (see the package documentation).
	Stale bool
	// Changed is set when the store updated the entry (metrics.LedgerWrites
	// counts these): always with a Transition or a restatement, and with
	// Stale when an older finding moved Since or PriorOrder.
	Changed bool
	// Entry is the entry after the update.
	Entry Entry
	// Conflicts counts the conditional writes that failed because another
	// writer updated the entry between this Apply's read and its write
	// (Table only; each was retried). Ordering never causes one: a stale
	// finding is decided before any write.
	Conflicts int
}

// ErrInvalidFinding is returned (wrapped) for a finding the ledger cannot
// keep: no rule or resource, a rule id with a '#', or an unknown status.
var ErrInvalidFinding = errors.New("ledger: invalid finding")

// check reports what makes f impossible to keep.
func check(f finding.Finding) error {
	switch {
	case f.Rule == "" || f.Resource == "":
		return fmt.Errorf("%w: rule %q, resource %q: both are required", ErrInvalidFinding, f.Rule, f.Resource)
	case strings.Contains(f.Rule, "#"):
		return fmt.Errorf("%w: rule %q contains '#', which separates rule and resource in the table key", ErrInvalidFinding, f.Rule)
	case !f.Status.Valid():
		return fmt.Errorf("%w: rule %s, resource %s: status %q", ErrInvalidFinding, f.Rule, f.Resource, f.Status)
	}
	return nil
}

// Store keeps the ledger. Implementations are safe for concurrent use.
type Store interface {
	// Apply orders f against the entry of (f.Rule, f.Resource) and updates
	// it when f is newer. A finding without an EventTime (a sweep's) is
	// given the store's clock time: a sweep observes the present.
	Apply(ctx context.Context, f finding.Finding) (Outcome, error)
	// Get returns the entry of one pair.
	Get(ctx context.Context, rule, resource string) (Entry, bool, error)
	// List returns every entry, sorted by rule then resource.
	List(ctx context.Context) ([]Entry, error)
}
