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
// (DynamoDB, the functions'), whose updates are conditional writes.
package ledger

import (
	"context"
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
	// Since is the event time the resource entered Status.
	Since time.Time `json:"since"`
	// FileSystems is a key's blast radius when it was last judged.
	FileSystems []string `json:"file_systems,omitempty"`
	// Resolved is set when the resource was deleted: its findings are
	// archived, and no later finding reopens them.
	Resolved bool `json:"resolved,omitempty"`
	// Transitions are the last MaxTransitions status changes, oldest
	// first; the first judgement of a pair is a transition from "".
	Transitions []Transition `json:"transitions,omitempty"`
}

// Transition is one change of status.
type Transition struct {
	From      finding.Status `json:"from,omitempty"`
	To        finding.Status `json:"to"`
	At        time.Time      `json:"at"`
	EventID   string         `json:"event_id,omitempty"`
	EventName string         `json:"event_name,omitempty"`
	Reason    string         `json:"reason"`
}

// Outcome is what one Apply did.
type Outcome struct {
	// Transition is non-nil when the status changed (or the pair was judged
	// for the first time): the finding is news and goes to the sinks that
	// notify people.
	Transition *Transition
	// Stale is set when the ledger holds a newer judgement: nothing
	// changed.
	Stale bool
	// Entry is the entry after the update (before it, when Stale).
	Entry Entry
}

// Store keeps the ledger. Implementations are safe for concurrent use.
type Store interface {
	// Apply orders f against the entry of (f.Rule, f.Resource) and updates
	// it when f is newer.
	Apply(ctx context.Context, f finding.Finding) (Outcome, error)
	// Get returns the entry of one pair.
	Get(ctx context.Context, rule, resource string) (Entry, bool, error)
	// List returns every entry, sorted by rule then resource.
	List(ctx context.Context) ([]Entry, error)
}
