package findingsbus

import (
	"context"
	"sync"

	"github.com/atrest/atrest/internal/finding"
)

// MemoryStatus is a StatusStore held in process memory: a Lambda keeps it
// for as long as its execution environment lives. It is safe for
// concurrent use.
type MemoryStatus struct {
	mu sync.Mutex
	m  map[[2]string]finding.Status
}

var _ StatusStore = (*MemoryStatus)(nil)

// NewMemoryStatus returns an empty store.
func NewMemoryStatus() *MemoryStatus {
	return &MemoryStatus{m: map[[2]string]finding.Status{}}
}

// Previous returns the recorded status of rule and resource.
func (s *MemoryStatus) Previous(_ context.Context, rule, resource string) (finding.Status, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.m[[2]string{rule, resource}]
	return st, ok, nil
}

// Record stores the status of rule and resource.
func (s *MemoryStatus) Record(_ context.Context, rule, resource string, status finding.Status) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[[2]string{rule, resource}] = status
	return nil
}
