package finding

import (
	"fmt"
	"strings"
)

// Undelivered is one finding (or event about one) that a sink could not
// deliver after its retries.
type Undelivered struct {
	// ID is the finding's stable id.
	ID           string
	ErrorCode    string
	ErrorMessage string
}

// DeliveryError reports what a sink could not deliver after every attempt.
// The findings themselves are still in the caller's hands (and in the
// function's log), so nothing is lost silently.
type DeliveryError struct {
	Sink   string // e.g. "remediation", "securityhub"
	What   string // e.g. "events not published", "findings not imported"
	Failed []Undelivered
}

func (e *DeliveryError) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s: %d %s:", e.Sink, len(e.Failed), e.What)
	for i, f := range e.Failed {
		if i == 10 {
			fmt.Fprintf(&sb, " ... and %d more", len(e.Failed)-10)
			break
		}
		fmt.Fprintf(&sb, " %s (%s: %s)", f.ID, f.ErrorCode, f.ErrorMessage)
	}
	return sb.String()
}
