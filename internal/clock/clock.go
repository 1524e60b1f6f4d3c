// Package clock holds the one wait atrest's retries and rate limits use:
// Sleep waits a duration or until its context ends, whichever is first.
// Code that waits takes it as a function or behind an interface, so its
// tests replace it with a fake clock instead of sleeping.
package clock

import (
	"context"
	"time"
)

// Sleep waits d or until ctx ends. It returns nil once d has passed and
// ctx.Err() when ctx ended first; with d <= 0 it returns at once with
// ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
