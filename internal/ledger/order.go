package ledger

import (
	"strconv"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
)

// orderTimeLayout is RFC 3339 in UTC with nine fractional digits: every
// time of the years 0000 to 9999 formats to the same width, so order keys
// sort as strings.
const orderTimeLayout = "2006-01-02T15:04:05.000000000Z"

// OrderKey returns the order key of f: its eventTime (UTC, fixed width),
// the rank of its event name (cloudtrail.RankOf, one digit) and its
// eventID, separated by spaces. Keys sort as strings in the order
// cloudtrail.Compare applies records in; two findings of one record have
// equal keys. A store gives a finding without an EventTime its clock time
// before it computes the key.
func OrderKey(f finding.Finding) string {
	return f.EventTime.UTC().Format(orderTimeLayout) + " " +
		strconv.Itoa(int(cloudtrail.RankOf(f.EventName))) + " " + f.EventID
}

// stamp gives a finding without an EventTime the time now returns, and
// every event time the UTC location entries keep.
func stamp(f finding.Finding, now func() time.Time) finding.Finding {
	if f.EventTime.IsZero() {
		f.EventTime = now()
	}
	f.EventTime = f.EventTime.UTC()
	return f
}
