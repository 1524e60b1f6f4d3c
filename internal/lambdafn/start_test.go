package lambdafn

import (
	"errors"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/atrest/atrest/internal/coldstart"
)

func TestWithoutCollection(t *testing.T) {
	errBuild := errors.New("build failed")
	tests := []struct {
		name    string
		percent int   // GOGC before the cold start
		limit   int64 // GOMEMLIMIT before the cold start
		err     error // what build returns
		env     map[string]string
		// early: the collector was already held when the cold start began,
		// as a function's main holds it from package initialisation on.
		early bool
		// wantLimit is the limit while build runs; wantAfterPercent and
		// wantAfterLimit GOGC and the limit for the invocations.
		wantLimit        int64
		wantAfterPercent int
		wantAfterLimit   int64
	}{
		{name: "defaults", percent: 100, limit: 1<<63 - 1, wantLimit: coldstart.MemoryLimit,
			wantAfterPercent: 100, wantAfterLimit: 1<<63 - 1},
		{name: "GOGC and a lower GOMEMLIMIT set", percent: 50, limit: 32 << 20, wantLimit: 32 << 20,
			wantAfterPercent: 50, wantAfterLimit: 32 << 20},
		{name: "build fails", percent: 100, limit: 1<<63 - 1, err: errBuild, wantLimit: coldstart.MemoryLimit,
			wantAfterPercent: 100, wantAfterLimit: 1<<63 - 1},
		{name: "in Lambda", percent: 100, limit: 1<<63 - 1, env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"},
			wantLimit: coldstart.MemoryLimit, wantAfterPercent: invocationGCPercent, wantAfterLimit: 256 << 20 * 7 / 10},
		{name: "in Lambda with GOGC and GOMEMLIMIT set", percent: 50, limit: 100 << 20,
			env:       map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOGC": "50", "GOMEMLIMIT": "100MiB"},
			wantLimit: coldstart.MemoryLimit, wantAfterPercent: 50, wantAfterLimit: 100 << 20},
		{name: "in Lambda with GOGC set", percent: 200, limit: 1<<63 - 1,
			env:       map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024", "GOGC": "200"},
			wantLimit: coldstart.MemoryLimit, wantAfterPercent: 200, wantAfterLimit: 1024 << 20 * 7 / 10},
		{name: "held from package initialisation", percent: 100, limit: 1<<63 - 1, early: true, wantLimit: coldstart.MemoryLimit,
			wantAfterPercent: 100, wantAfterLimit: 1<<63 - 1},
		{name: "held from package initialisation, in Lambda with GOMEMLIMIT set", percent: 100, limit: 32 << 20, early: true,
			env:       map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256", "GOMEMLIMIT": "32MiB"},
			wantLimit: 32 << 20, wantAfterPercent: invocationGCPercent, wantAfterLimit: 32 << 20},
		{name: "memory size unreadable", percent: 100, limit: 1<<63 - 1, env: map[string]string{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "lots"},
			wantLimit: coldstart.MemoryLimit, wantAfterPercent: 100, wantAfterLimit: 1<<63 - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer debug.SetGCPercent(debug.SetGCPercent(tt.percent))
			defer debug.SetMemoryLimit(debug.SetMemoryLimit(tt.limit))
			var during struct {
				percent int
				limit   int64
			}
			var before, after runtime.MemStats
			if tt.early {
				coldstart.Hold()
			}
			runtime.ReadMemStats(&before)
			got, err := withoutCollection(func(k string) string { return tt.env[k] }, func() (string, error) {
				during.percent = debug.SetGCPercent(-1)
				during.limit = debug.SetMemoryLimit(-1)
				return "monitor", tt.err
			})
			if got != "monitor" || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Errorf("withoutCollection = %q, %v; want %q, %v", got, err, "monitor", tt.err)
			}
			if during.percent != -1 || during.limit != tt.wantLimit {
				t.Errorf("while building: GOGC %d, memory limit %d; want off (-1), %d", during.percent, during.limit, tt.wantLimit)
			}
			runtime.ReadMemStats(&after)
			if after.NumGC <= before.NumGC {
				t.Errorf("no collection at the end of the cold start (NumGC %d before, %d after)", before.NumGC, after.NumGC)
			}
			if p, l := debug.SetGCPercent(tt.percent), debug.SetMemoryLimit(-1); p != tt.wantAfterPercent || l != tt.wantAfterLimit {
				t.Errorf("after: GOGC %d, memory limit %d; want %d, %d", p, l, tt.wantAfterPercent, tt.wantAfterLimit)
			}
		})
	}
}
