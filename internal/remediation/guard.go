package remediation

import (
	"fmt"
	"sync"
	"time"
)

// Delivery is what the event that carried a finding says about itself: its
// EventBridge id, the account it was put in and its time. Anyone allowed to
// call events:PutEvents on the bus can write any of these, so a Guard
// checks them before an action runs.
type Delivery struct {
	ID      string
	Account string
	Time    time.Time
}

// MaxClockSkew is how far in the future an event's time may lie.
const MaxClockSkew = 5 * time.Minute

// Guard admits the finding events remediation acts on: put in the stack's
// own account, no older than MaxAge, and not handled before by this
// process. It is safe for concurrent use.
type Guard struct {
	// Account is the stack's account; an event from any other account is
	// refused, and every event is refused when it is "".
	Account string
	// MaxAge is how old an event may be; every event is refused when it
	// is not positive.
	MaxAge time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu sync.Mutex
	// handled maps the id of each event admitted within MaxAge to its time.
	handled map[string]time.Time
}

// Admit checks a delivery and, when it passes, records its id so the same
// event is refused if it comes again. The reason is "" when the event is
// admitted.
func (g *Guard) Admit(d Delivery) (reason string) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	t := now()
	switch {
	case g.Account == "":
		return "the stack's account is not configured: no event is trusted"
	case d.Account != g.Account:
		return fmt.Sprintf("event put in account %q, not the stack's account %s", d.Account, g.Account)
	case g.MaxAge <= 0:
		return "no maximum event age is configured: no event is trusted"
	case d.ID == "":
		return "event has no id"
	case d.Time.IsZero():
		return "event has no time"
	case d.Time.After(t.Add(MaxClockSkew)):
		return fmt.Sprintf("event time %s is in the future", d.Time.UTC().Format(time.RFC3339))
	case t.Sub(d.Time) > g.MaxAge:
		return fmt.Sprintf("event time %s is older than the %v allowed", d.Time.UTC().Format(time.RFC3339), g.MaxAge)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.handled == nil {
		g.handled = map[string]time.Time{}
	}
	// Ids older than MaxAge need no memory: their events are stale.
	for id, at := range g.handled {
		if t.Sub(at) > g.MaxAge {
			delete(g.handled, id)
		}
	}
	if _, ok := g.handled[d.ID]; ok {
		return fmt.Sprintf("event %s was handled already (a replay)", d.ID)
	}
	g.handled[d.ID] = d.Time
	return ""
}

// Forget drops an admitted id, so the event may be delivered again: for an
// event whose action failed and is to be retried.
func (g *Guard) Forget(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.handled, id)
}
