package ledger

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/finding"
)

// Option configures a store.
type Option func(*options)

type options struct {
	now func() time.Time
}

// WithClock sets the clock that dates findings without an EventTime
// (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func newOptions(opts []Option) options {
	o := options{now: time.Now}
	for _, fn := range opts {
		fn(&o)
	}
	return o
}

type pair struct{ rule, resource string }

// Memory keeps the ledger in a process's memory: the CLI's store, and the
// reference the Table store is tested against. It is safe for concurrent
// use.
type Memory struct {
	opts    options
	mu      sync.Mutex
	entries map[pair]Entry
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory(opts ...Option) *Memory {
	return &Memory{opts: newOptions(opts), entries: map[pair]Entry{}}
}

// Apply implements Store.
func (m *Memory) Apply(_ context.Context, f finding.Finding) (Outcome, error) {
	if err := check(f); err != nil {
		return Outcome{}, err
	}
	f = stamp(f, m.opts.now)
	k := pair{f.Rule, f.Resource}
	m.mu.Lock()
	defer m.mu.Unlock()
	prev, ok := m.entries[k]
	out := next(prev, ok, f, OrderKey(f))
	if out.Changed {
		m.entries[k] = out.Entry
	}
	out.Entry = clone(out.Entry)
	return out, nil
}

// Get implements Store.
func (m *Memory) Get(_ context.Context, rule, resource string) (Entry, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[pair{rule, resource}]
	return clone(e), ok, nil
}

// List implements Store.
func (m *Memory) List(context.Context) ([]Entry, error) {
	m.mu.Lock()
	out := make([]Entry, 0, len(m.entries))
	for _, e := range m.entries {
		out = append(out, clone(e))
	}
	m.mu.Unlock()
	sortEntries(out)
	return out, nil
}

// clone copies the slices of e, so a caller cannot change a stored entry.
func clone(e Entry) Entry {
	e.FileSystems = slices.Clone(e.FileSystems)
	e.Transitions = slices.Clone(e.Transitions)
	return e
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Resource, b.Resource))
	})
}
