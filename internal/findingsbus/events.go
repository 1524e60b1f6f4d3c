// Package findingsbus publishes findings as EventBridge events that
// tickets, chat and automation subscribe to, and defines the events atrest
// puts on its findings bus.
//
// Publisher sends every NON_COMPLIANT finding, and every return to
// COMPLIANT of a rule and resource last seen NON_COMPLIANT, as an
// "Atrest Finding" event (source "atrest", detail FindingDetail) on a
// configured bus. The remediation actions (internal/remediation) consume
// that detail and report what they did as an "Atrest Remediation" event
// (detail Outcome), published through the same Publisher.
package findingsbus

import (
	"time"

	"github.com/atrest/atrest/internal/finding"
)

// Event source and detail types atrest publishes.
const (
	EventSource           = "atrest"
	DetailTypeFinding     = "Atrest Finding"
	DetailTypeRemediation = "Atrest Remediation"
)

// Suggestion is the remediation block of a finding event: the action the
// remediation actions would take for the finding's rule, and the rule's own
// remediation text.
type Suggestion struct {
	// Action is one of the remediation package's Action* constants, or ""
	// when no automated action exists for the rule (or the finding is
	// COMPLIANT).
	Action string `json:"action"`
	// Description is the rule's remediation text.
	Description string `json:"description,omitempty"`
}

// FindingDetail is the detail of an "Atrest Finding" event: the finding as
// JSON, its previous known status, and a remediation block in place of the
// finding's remediation text (which moves into the block).
type FindingDetail struct {
	finding.Finding
	// PreviousStatus is the status last published for the same rule and
	// resource, "" when none is known.
	PreviousStatus finding.Status `json:"previous_status,omitempty"`
	Remediation    Suggestion     `json:"remediation"`
}

// Outcome is what one remediation action did for one finding; it is the
// detail of an "Atrest Remediation" event. Action and Result take the
// remediation package's Action* and Result* values.
type Outcome struct {
	FindingID string `json:"finding_id"`
	Rule      string `json:"rule"`
	Resource  string `json:"resource"`
	Account   string `json:"account"`
	Region    string `json:"region"`
	Action    string `json:"action"`
	Result    string `json:"result"`
	Reason    string `json:"reason"`
	// Calls lists the changing API calls made, or for a dry run the ones
	// that would have been.
	Calls []string  `json:"calls,omitempty"`
	Time  time.Time `json:"time"`
}
