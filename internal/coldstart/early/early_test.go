package early_test

import (
	"runtime/debug"
	"testing"

	"github.com/atrest/atrest/internal/coldstart"
	_ "github.com/atrest/atrest/internal/coldstart/early"
)

// Importing early holds the collector from package initialisation on,
// recording the settings the process started with.
func TestImportHoldsTheCollector(t *testing.T) {
	p, l := debug.SetGCPercent(-1), debug.SetMemoryLimit(-1)
	if p != -1 || l > coldstart.MemoryLimit {
		t.Errorf("at the test's start: GOGC %d, memory limit %d; want held (-1, at most %d)", p, l, coldstart.MemoryLimit)
	}
	var replaced int
	coldstart.Release(func(percent int, limit int64) (int, int64) {
		replaced = percent
		return percent, limit
	})
	if replaced == -1 {
		t.Error("the hold recorded GOGC off as the setting to restore")
	}
	if p := debug.SetGCPercent(-1); p != replaced {
		t.Errorf("after Release: GOGC %d; want %d", p, replaced)
	}
	debug.SetGCPercent(replaced)
}
