package lambdafn

import (
	"context"
	"os"
	"strconv"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrest/atrest/internal/coldstart"
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
	r, err := withoutCollection(os.Getenv, func() (*Remediator, error) {
		return NewRemediator(context.Background(), s, log)
	})
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
	m, err := withoutCollection(os.Getenv, func() (*Monitor, error) {
		return NewMonitor(context.Background(), s, log, os.Stdout)
	})
	if err != nil {
		log.Error("init", "error", err.Error())
		return err
	}
	start(m)
	return nil
}

// withoutCollection runs build, the cold start's work, with the garbage
// collector held back (coldstart.Hold: a function's main holds it from
// package initialisation on, by importing coldstart/early), then lets it
// run with invocationGC's settings, collecting once, still within INIT.
func withoutCollection[T any](getenv func(string) string, build func() (T, error)) (T, error) {
	coldstart.Hold()
	defer coldstart.Release(func(percent int, limit int64) (int, int64) {
		return invocationGC(getenv, percent, limit)
	})
	return build()
}

// invocationGCPercent is the collector's GOGC for a function's invocations
// when none is set. A function keeps ~15-20 MB live (compiled rules,
// clients, memos, state) and each event leaves ~30-100 KB of garbage: at
// Go's default of 100 the collector would run every ~200 events and take
// about a sixth of an event's CPU, and a new file system's event took
// ~9 µs more under 400 than under 800 (BenchmarkEvent's new_resource: 99
// against 90 µs). At 800 the heap may grow to nine times what is live:
// for a 256 MB function, about where invocationGC's limit of 70 % of its
// memory (179 MiB) stops it, so a function that keeps more live collects
// as that limit requires rather than by GOGC.
const invocationGCPercent = 800

// invocationGC is GOGC and the memory limit for the invocations, from what
// the process had (percent, limit) and its environment. In Lambda
// (AWS_LAMBDA_FUNCTION_MEMORY_SIZE, in MB), the heap may grow to
// invocationGCPercent beyond what is live, within a limit of 70 % of the
// function's memory, near which the collector runs as often as it must:
// the rest is the binary, stacks and the runtime's own. A GOGC or
// GOMEMLIMIT in the environment is kept as set, and outside Lambda both are
// as the process had them.
func invocationGC(getenv func(string) string, percent int, limit int64) (int, int64) {
	mb, err := strconv.Atoi(getenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"))
	if err != nil || mb <= 0 {
		return percent, limit
	}
	if getenv("GOMEMLIMIT") == "" {
		limit = int64(mb) << 20 * 7 / 10
	}
	if getenv("GOGC") == "" {
		percent = invocationGCPercent
	}
	return percent, limit
}

// noResult gives a scheduled handler the result type lambda.StartHandlerFunc
// needs; the schedule reads none.
func noResult(h func(context.Context, events.CloudWatchEvent) error) func(context.Context, events.CloudWatchEvent) (*struct{}, error) {
	return func(ctx context.Context, e events.CloudWatchEvent) (*struct{}, error) {
		return nil, h(ctx, e)
	}
}
