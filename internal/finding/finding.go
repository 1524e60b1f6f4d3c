// Package finding defines the value every stage of atrest hands to its sinks:
// one rule's judgement of one resource, with everything a person or a sink
// needs to act on it.
package finding

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Status is a finding's compliance status, in AWS Config's vocabulary, plus
// Error for an evaluation that could not be completed.
type Status string

// Statuses.
const (
	Compliant     Status = "COMPLIANT"
	NonCompliant  Status = "NON_COMPLIANT"
	NotApplicable Status = "NOT_APPLICABLE"
	// Error means the rule could not be evaluated (a Rego error, an AWS read
	// that was denied). It is never reported as compliant.
	Error Status = "ERROR"
)

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case Compliant, NonCompliant, NotApplicable, Error:
		return true
	}
	return false
}

// Finding is one rule's judgement of one resource, triggered by one event
// (or by a sweep, when EventID is empty).
type Finding struct {
	ID           string    `json:"id"`
	Rule         string    `json:"rule"`
	Status       Status    `json:"status"`
	Resource     string    `json:"resource"`
	ResourceType string    `json:"resource_type"`
	Account      string    `json:"account"`
	Region       string    `json:"region"`
	EventID      string    `json:"event_id,omitempty"`
	EventName    string    `json:"event_name,omitempty"`
	EventTime    time.Time `json:"event_time,omitzero"`
	Reason       string    `json:"reason"`
	Severity     string    `json:"severity"`
	Title        string    `json:"title"`
	Remediation  string    `json:"remediation"`
	Controls     []string  `json:"controls"`
	// FileSystems is the blast radius of a key finding: the live file
	// systems the key protects.
	FileSystems []string `json:"file_systems,omitempty"`
	// Source is how the triggering record arrived (eventbridge,
	// cloudwatch_logs, s3, sweep, cli).
	Source string `json:"source,omitempty"`
	// ResourceDeleted is set when the resource no longer exists (deleted,
	// or a key KMS deleted): its findings are resolved for good.
	ResourceDeleted bool `json:"resource_deleted,omitempty"`
	// PreviousStatus is, on a finding the ledger reported as a change of
	// status, the status it changed from ("" for a first judgement or when
	// no ledger decided).
	PreviousStatus Status `json:"previous_status,omitempty"`
}

// StableID derives the id consumers deduplicate on: the same rule, resource
// and triggering event always give the same id.
func StableID(rule, resource, eventID string) string {
	var buf [256]byte
	text := append(append(append(append(append(buf[:0], rule...), 0), resource...), 0), eventID...)
	sum := sha256.Sum256(text)
	var id [32]byte
	hex.Encode(id[:], sum[:16])
	return string(id[:])
}
