package pipeline

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

// closed is the done channel of a judgment with nothing to run.
var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// judgingWindow bounds the judgments prepared but not yet finished: what
// judging in parallel holds beyond a sequential run is their inputs (a
// few KB each). Judgments differ in cost a hundredfold (most are answered
// from the memo, a few are evaluated): a window that holds many keeps the
// records behind a slow one being prepared while it runs. On make bench's
// log, 256 in place of 16 shortened judging its records of interest, once
// it is read, by about 15 %.
const judgingWindow = 256

// judging finishes judgments in the order they were prepared, and emits
// their findings in that order, while up to one goroutine per core runs
// the rules of the ones behind the first. Rules read nothing but their
// input, so a run judges exactly as a sequential one: the same findings, in
// the same order. A goroutine of its own emits the findings, in that
// order, while the records after them are applied and judged: emitting
// (the ledger, the driver's printer or sink) is as much work as judging.
// An emit that fails stops the run at the next judgment added, and nothing
// after it is emitted. With one core, or workers 0, each judgment runs, is
// finished and emitted as it is added.
type judging struct {
	p       *Pipeline
	ctx     context.Context
	emit    Emit
	rep     *Report
	jobs    chan *judgment
	pending []*judgment // prepared, not yet finished, in order
	// running holds, per resource, the last judgment sent to be run: a
	// later one with the same input waits for it and takes its results
	// from the rule cache, as a sequential run would.
	running map[state.ResourceRef]*judgment
	wg      sync.WaitGroup
	failed  error
	// emits hands the findings to the goroutine that emits them (when
	// judging in parallel); emitted is closed when it is done, and
	// emitFailed holds the first emit's failure.
	emits      chan []finding.Finding
	emitted    chan struct{}
	emitFailed atomic.Pointer[error]
}

// newJudging starts the goroutines that run judgments: one per core when
// parallel and the process has more than one.
func (p *Pipeline) newJudging(ctx context.Context, emit Emit, rep *Report, parallel bool) *judging {
	q := &judging{p: p, ctx: ctx, emit: emit, rep: rep}
	workers := runtime.GOMAXPROCS(0)
	if !parallel || workers < 2 {
		return q
	}
	q.emits, q.emitted = make(chan []finding.Finding, judgingWindow), make(chan struct{})
	go func() {
		defer close(q.emitted)
		failed := false
		for fs := range q.emits {
			for _, f := range fs {
				if failed {
					break // drop the rest, draining the queue
				}
				if err := emit(f); err != nil {
					q.emitFailed.Store(&err)
					failed = true
				}
			}
		}
	}()
	q.jobs = make(chan *judgment, judgingWindow)
	q.running = map[state.ResourceRef]*judgment{}
	q.wg.Add(workers)
	for range workers {
		go func() {
			defer q.wg.Done()
			for j := range q.jobs {
				j.run(ctx, p.engine)
				close(j.done)
			}
		}()
	}
	return q
}

// add queues a prepared judgment, and finishes those at the head of the
// queue that are done (waiting for the head when the window is full). It
// returns the failure that stopped the run, an emit's included.
func (q *judging) add(j *judgment) error {
	if q.failed != nil {
		return q.failed
	}
	if err := q.emitFailed.Load(); err != nil {
		q.failed = *err
		return q.failed
	}
	if q.jobs == nil {
		j.run(q.ctx, q.p.engine)
		return q.finish(j)
	}
	switch prev := q.running[j.ref]; {
	case j.skip || j.cached || j.err != nil:
		j.done = closed
	case prev != nil && prev.hashed && j.hashed && prev.sum == j.sum:
		j.deferred, j.done = true, prev.done
	default:
		j.done = make(chan struct{})
		q.running[j.ref] = j
		q.jobs <- j
	}
	q.pending = append(q.pending, j)
	for len(q.pending) > 0 {
		head := q.pending[0]
		if len(q.pending) < judgingWindow {
			select {
			case <-head.done:
			default:
				return nil
			}
		}
		<-head.done
		q.pending = q.pending[1:]
		if err := q.finish(head); err != nil {
			return err
		}
	}
	return nil
}

// close finishes every judgment still queued (unless one failed) and stops
// the goroutines; it returns the first failure.
func (q *judging) close() error {
	if q.jobs == nil {
		return q.failed
	}
	close(q.jobs)
	for _, j := range q.pending {
		<-j.done
		if q.failed == nil {
			q.finish(j)
		}
	}
	q.pending = nil
	q.wg.Wait()
	close(q.emits)
	<-q.emitted
	if err := q.emitFailed.Load(); err != nil && q.failed == nil {
		q.failed = *err
	}
	return q.failed
}

// finish makes a judgment's findings, counts them and emits them (hands
// them to the emitting goroutine, when there is one). An evaluation that
// failed without findings, or an emit that fails, stops the run. A
// deferred judgment takes its results from the rule cache, where
// the judgment it waited for left them, or is run now.
func (q *judging) finish(j *judgment) error {
	if q.running[j.ref] == j {
		delete(q.running, j.ref)
	}
	if j.deferred {
		if results, hit := q.p.cache.lookup(j.ref, j.sum, j.ids); hit {
			q.p.cache.hits += len(results)
			j.results, j.cached = results, true
		} else {
			j.run(q.ctx, q.p.engine)
		}
	}
	fs, err := q.p.finish(q.ctx, j)
	if err != nil && len(fs) == 0 {
		q.failed = err
		return err
	}
	for _, f := range fs {
		q.rep.Findings++
		if f.Status == finding.Error {
			q.rep.EvalErrors++
		}
	}
	if q.emits != nil {
		if len(fs) > 0 {
			q.emits <- fs
		}
		return nil
	}
	for _, f := range fs {
		if err := q.emit(f); err != nil {
			q.failed = err
			return err
		}
	}
	return nil
}
