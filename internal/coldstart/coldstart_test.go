package coldstart

import (
	"runtime/debug"
	"testing"
)

// settings restores the collector's settings as they were when it ends.
func settings(t *testing.T, percent int, limit int64) {
	t.Helper()
	p, l := debug.SetGCPercent(percent), debug.SetMemoryLimit(limit)
	t.Cleanup(func() {
		debug.SetGCPercent(p)
		debug.SetMemoryLimit(l)
	})
}

func TestHoldTwiceReleasesWhatTheFirstReplaced(t *testing.T) {
	settings(t, 150, 1<<40)
	Hold()
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != -1 || l != MemoryLimit {
		t.Fatalf("held: GOGC %d, memory limit %d; want -1, %d", p, l, MemoryLimit)
	}
	Hold() // must not record the held settings as the ones to restore
	var gotPercent int
	var gotLimit int64
	Release(func(percent int, limit int64) (int, int64) {
		gotPercent, gotLimit = percent, limit
		return percent + 1, limit + 1
	})
	if gotPercent != 150 || gotLimit != 1<<40 {
		t.Errorf("Release was given GOGC %d, memory limit %d; want 150, %d", gotPercent, gotLimit, int64(1<<40))
	}
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != 151 || l != 1<<40+1 {
		t.Errorf("after Release: GOGC %d, memory limit %d; want 151, %d (what settings gave)", p, l, int64(1<<40+1))
	}
}

func TestHoldKeepsALowerLimit(t *testing.T) {
	settings(t, 100, 16<<20)
	Hold()
	l := debug.SetMemoryLimit(-1)
	Release(func(percent int, limit int64) (int, int64) { return percent, limit })
	if l != 16<<20 {
		t.Errorf("held under a 16 MiB limit: memory limit %d; want it kept", l)
	}
}

func TestReleaseWithoutHold(t *testing.T) {
	settings(t, 120, 1<<40)
	called := false
	Release(func(percent int, limit int64) (int, int64) {
		called = true
		return -1, 0
	})
	if called {
		t.Error("Release without a hold asked for settings")
	}
	if p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1); p != 120 || l != 1<<40 {
		t.Errorf("GOGC %d, memory limit %d; want 120, %d unchanged", p, l, int64(1<<40))
	}
}
