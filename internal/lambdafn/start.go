package lambdafn

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Each function's main is one of the Start functions below: it reads the
// settings from the environment, builds the handler's state once (the cold
// start), and hands the handler to the Lambda runtime, which does not
// return. A configuration that cannot be built is logged and returned. The
// handler's type is fixed here, so a function cannot start with the wrong
// one.

// StartTrailEvents starts the trail-events function.
func StartTrailEvents() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandler(Raw(m.TrailEvents)) })
}

// StartTrailLogs starts the trail-logs function.
func StartTrailLogs() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandler(Raw(m.TrailLogs)) })
}

// StartTrailArchive starts the trail-archive function.
func StartTrailArchive() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandlerFunc(m.TrailArchive) })
}

// StartSettle starts the settle function.
func StartSettle() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandlerFunc(m.Settle) })
}

// StartSweep starts the sweep function.
func StartSweep() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandlerFunc(noResult(m.Sweep)) })
}

// StartVerify starts the verify function.
func StartVerify() error {
	return startMonitor(func(m *Monitor) { lambda.StartHandlerFunc(noResult(m.Verify)) })
}

// StartRemediate starts the remediate function.
func StartRemediate() error {
	log := NewLogger(os.Stdout)
	s, err := FromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "error", err.Error())
		return err
	}
	r, err := NewRemediator(context.Background(), s, log)
	if err != nil {
		log.Error("init", "error", err.Error())
		return err
	}
	lambda.StartHandlerFunc(noResult(r.Remediate))
	return nil
}

func startMonitor(start func(*Monitor)) error {
	log := NewLogger(os.Stdout)
	s, err := FromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "error", err.Error())
		return err
	}
	m, err := withoutCollection(func() (*Monitor, error) {
		return NewMonitor(context.Background(), s, log, os.Stdout)
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		return err
	}
	start(m)
	return nil
}

// initMemoryLimit bounds the heap while the cold start runs without the
// collector: it allocates ~10-15 MB, and a function has at least 128 MB.
const initMemoryLimit = 64 << 20

// withoutCollection runs build, the cold start's work, with the garbage
// collector held back, then collects once. The heap grows from nothing to
// ~10 MB, most of it kept (compiled rules, clients), so the collections
// while it grows (three) find little garbage: holding them back saves ~15
// ms of INIT's CPU on a 2-core machine (BenchmarkInitCPU). The one
// collection at the end, still within INIT, leaves nothing for the first
// invocation. A memory limit (initMemoryLimit, or GOMEMLIMIT when lower)
// stays as a bound: near it the collector runs anyway. GOGC and GOMEMLIMIT
// are restored for the invocations.
func withoutCollection[T any](build func() (T, error)) (T, error) {
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(-1) // reads the limit
	debug.SetMemoryLimit(min(limit, initMemoryLimit))
	defer func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(percent)
		runtime.GC()
	}()
	return build()
}

// noResult gives a scheduled handler the result type lambda.StartHandlerFunc
// needs; the schedule reads none.
func noResult(h func(context.Context, events.CloudWatchEvent) error) func(context.Context, events.CloudWatchEvent) (*struct{}, error) {
	return func(ctx context.Context, e events.CloudWatchEvent) (*struct{}, error) {
		return nil, h(ctx, e)
	}
}
