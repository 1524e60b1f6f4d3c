package coldstart

import (
	"runtime"
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

// collections is how many collections have ended.
func collections() uint32 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.NumGC
}

func TestReleaseWaitsForTheCollectionAsideAndCollectsNoMore(t *testing.T) {
	settings(t, 130, 1<<40)
	Hold()       // no collection starts of itself from here on: GOGC off, a 64 MiB limit the test stays far below
	runtime.GC() // ends one that started before the hold, which a collection asked for would finish first
	before := collections()
	CollectAside()
	CollectAside() // asked for already: must not start a second one
	var gotPercent int
	Release(func(percent int, limit int64) (int, int64) {
		gotPercent = percent
		return percent, limit
	})
	if n := collections() - before; n != 1 {
		t.Errorf("collections from CollectAside to the end of Release: %d; want 1, the one aside, ended before Release returns", n)
	}
	if gotPercent != 130 {
		t.Errorf("Release was given GOGC %d; want 130", gotPercent)
	}
	if p := debug.SetGCPercent(-1); p != 130 {
		t.Errorf("after Release: GOGC %d; want 130", p)
	}
	debug.SetGCPercent(130)
	if hold.aside != nil {
		t.Error("Release left the collection aside recorded: the next hold would not collect at its end")
	}
}

func TestReleaseCollectsWithoutACollectionAside(t *testing.T) {
	settings(t, 130, 1<<40)
	Hold()
	before := collections()
	Release(func(percent int, limit int64) (int, int64) { return percent, limit })
	if collections() == before {
		t.Error("Release ended a hold without collecting")
	}
}

func TestCollectAsideWithoutHold(t *testing.T) {
	settings(t, 130, 1<<40)
	CollectAside()
	hold.Lock()
	aside := hold.aside
	hold.Unlock()
	if aside != nil {
		t.Error("CollectAside without a hold started a collection for a Release that will not wait for it")
	}
}
