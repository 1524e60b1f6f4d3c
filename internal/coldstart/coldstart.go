// Package coldstart holds Go's garbage collector back while a process
// starts, and lets it run again, collecting once, when the start ends: a
// function's INIT, or the atrest command until its rules are compiled.
//
// A cold start of trail-events grows the heap from nothing to ~19 MB (the
// SDK's service descriptions while packages initialise, then the rules
// parsed and compiled, then the clients), keeping ~6 MB of it
// (GODEBUG=gctrace=1): the collections on the way find little garbage.
// Holding them back from the start of package initialisation (package
// early) to the end of INIT (Release) saves their CPU and wall time
// (BenchmarkInitCPU). The atrest command starts the same way, and on one
// sample event the collections were a third of its CPU time. A memory limit
// stays as a bound while held: near it the collector runs anyway.
//
// A function's start need not wait for that one collection: CollectAside
// runs it while the rules compile on one core, so that its marking takes
// the other.
//
// The collector's settings are the process's; this package records the ones
// a hold replaced, so Release restores them however many times the hold was
// asked for.
package coldstart

import (
	"runtime"
	"runtime/debug"
	"sync"
)

// MemoryLimit bounds the heap while the collector is held back, unless the
// process's own limit (GOMEMLIMIT) is lower: a function has at least 128 MB.
const MemoryLimit = 64 << 20

// hold is the collector's state: whether held, and the GOGC and memory
// limit the hold replaced.
var hold struct {
	sync.Mutex
	held    bool
	percent int
	limit   int64
	aside   chan struct{} // closed when the collection CollectAside started ends
}

// Hold holds the collector back until Release. Holding while held changes
// nothing.
func Hold() {
	hold.Lock()
	defer hold.Unlock()
	if hold.held {
		return
	}
	hold.held = true
	hold.percent = debug.SetGCPercent(-1)
	hold.limit = debug.SetMemoryLimit(-1) // reads the limit
	debug.SetMemoryLimit(min(hold.limit, MemoryLimit))
}

// Release ends a hold: GOGC and the memory limit become what settings gives
// for those the hold replaced, and the heap is collected once, so the first
// invocation inherits no garbage. When CollectAside started that collection,
// Release waits for it to end instead. Without a hold it does nothing.
func Release(settings func(percent int, limit int64) (int, int64)) {
	hold.Lock()
	if !hold.held {
		hold.Unlock()
		return
	}
	hold.held = false
	aside := hold.aside
	hold.aside = nil
	if aside != nil {
		<-aside // settings restored only after it: no cycle of theirs starts under it
	}
	percent, limit := settings(hold.percent, hold.limit)
	debug.SetMemoryLimit(limit)
	debug.SetGCPercent(percent)
	hold.Unlock()
	if aside == nil {
		runtime.GC()
	}
}

// CollectAside starts, on a goroutine of its own, the collection a hold
// ends with, while the start goes on; Release then waits for it and does
// not collect again. A function calls it once the rules are parsed and
// compile on a goroutine of their own (what INIT keeps of package
// initialisation and of the parsed rules is allocated by then): on a second
// core the collection marks that heap while the rules compile, instead of
// after them on INIT's way. What the start allocates after it, most of it
// the compiler's garbage, is left to the first collection under the
// invocations' settings, whose marking costs what is live then and not
// what is freed. Without a hold, or once asked for, it does nothing.
func CollectAside() {
	hold.Lock()
	defer hold.Unlock()
	if !hold.held || hold.aside != nil {
		return
	}
	done := make(chan struct{})
	hold.aside = done
	go func() {
		runtime.GC()
		close(done)
	}()
}
