package replay

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
)

// Source is the finding source of replayed records: they come from log
// files, as the S3 drivers' do.
const Source = "s3"

// DefaultDrainTimeout is how long objects already being read may take to
// finish once the run's context ends.
const DefaultDrainTimeout = 30 * time.Second

// Options configure Run.
type Options struct {
	Client Client
	Bucket string
	// ExpectedBucketOwner, when set, makes S3 refuse the objects of a
	// bucket owned by another account.
	ExpectedBucketOwner string
	// Workers download, inflate and decode objects in parallel
	// (runtime.NumCPU() when 0).
	Workers int
	// MaxInflight caps the objects read but not yet applied: with the
	// records of interest of each held until its turn, it bounds memory
	// (4 × Workers when 0; never below Workers).
	MaxInflight int
	// Limits bound what one object may cost to decode.
	Limits cloudtrail.Limits
	// Checkpoint, when set, skips the objects it holds (after rebuilding
	// the state they left) and records each object applied.
	Checkpoint *Checkpoint
	// Progress is told what was read (optional).
	Progress Progress
	// OnObject is told what each object applied gave, in listing order
	// (optional): the CLI reports bad input through it.
	OnObject func(Object, pipeline.Report)
	// DrainTimeout bounds how long objects already being read may take
	// once ctx ends (DefaultDrainTimeout when 0).
	DrainTimeout time.Duration
}

// Result sums up a run.
type Result struct {
	Report  pipeline.Report // everything applied this run
	Objects int             // objects read and applied this run
	Bytes   int64           // their size in the bucket
	Resumed int             // objects the checkpoint held, not read again
	Failed  []error         // objects that could not be read; not checkpointed
}

// decoded is one object read by a worker.
type decoded struct {
	obj    Object
	recs   []*cloudtrail.Record
	at     map[string]cloudtrail.Position // eventID -> where it was read
	stats  cloudtrail.Stats
	errs   []*cloudtrail.DecodeError
	failed error
}

type job struct {
	obj Object
	out chan<- decoded
}

// Applier judges the records of one log file in order: a harness run
// (monitor.Run), or a pipeline and its emit (PipelineApplier). Restore
// applies the records of a file judged before an interruption, rebuilding
// state (and the ledger) without reporting their findings again.
type Applier interface {
	Records(ctx context.Context, recs []*cloudtrail.Record) (pipeline.Report, error)
	Restore(ctx context.Context, recs []*cloudtrail.Record) error
}

// PipelineApplier applies records through a pipeline, handing each finding
// to Emit; Restore discards them.
type PipelineApplier struct {
	Pipeline *pipeline.Pipeline
	Emit     pipeline.Emit
}

// Records implements Applier.
func (a PipelineApplier) Records(ctx context.Context, recs []*cloudtrail.Record) (pipeline.Report, error) {
	return a.Pipeline.ProcessRecords(ctx, recs, Source, a.Emit)
}

// Restore implements Applier.
func (a PipelineApplier) Restore(ctx context.Context, recs []*cloudtrail.Record) error {
	_, err := a.Pipeline.ProcessRecords(ctx, recs, Source, func(finding.Finding) error { return nil })
	return err
}

// Run reads objs (in the order given: List's key order) and applies them to
// p, calling emit for each finding.
//
// Workers download, inflate and decode objects in parallel; one consumer
// applies each object's records to the pipeline in the order of objs, so the
// findings, their order and the final state are exactly those of a
// sequential evaluate of the same files, whatever the workers' timing. An
// object's turn waits for its own decoding only: the objects behind it keep
// being read, up to MaxInflight at once.
//
// When ctx ends no further object is started; the objects already being read
// are finished and applied (within DrainTimeout), so a checkpoint written at
// the end names every object that was read, and a rerun reads none of them
// again. Run then returns ctx's error with the result so far.
func Run(ctx context.Context, p Applier, objs []Object, o Options) (Result, error) {
	var res Result
	if o.Client == nil || o.Bucket == "" {
		return res, errors.New("replay: Client and Bucket are required")
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	inflight := o.MaxInflight
	if inflight <= 0 {
		inflight = 4 * workers
	}
	inflight = max(inflight, workers)
	drain := o.DrainTimeout
	if drain <= 0 {
		drain = DefaultDrainTimeout
	}
	progress := o.Progress
	if progress == nil {
		progress = nopProgress{}
	}

	// Objects already read are applied even after ctx ends, so work and
	// apply run on a context that outlives it by DrainTimeout at most.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	stopDrain := context.AfterFunc(ctx, func() { time.AfterFunc(drain, stopWork) })
	defer stopDrain()

	todo := objs
	if cp := o.Checkpoint; cp != nil {
		if err := cp.check(o.Bucket); err != nil {
			return res, err
		}
		if err := cp.restore(work, p); err != nil {
			return res, err
		}
		todo = make([]Object, 0, len(objs))
		for _, obj := range objs {
			if cp.Has(obj.Key) {
				res.Resumed++
				continue
			}
			todo = append(todo, obj)
		}
	}
	var total int64
	for _, obj := range todo {
		total += obj.Size
	}
	progress.Start(len(todo), total)
	defer progress.Finish()

	// abort stops dispatching when the consumer fails.
	dispatch, abort := context.WithCancel(ctx)
	defer abort()
	// An object is in flight from its dispatch until it is applied: the
	// ones queued here, and the one the consumer waits for.
	pending := make(chan chan decoded, inflight-1)
	jobs := make(chan job)
	go func() {
		defer close(jobs)
		defer close(pending)
		for _, obj := range todo {
			out := make(chan decoded, 1)
			select {
			case pending <- out:
			case <-dispatch.Done():
				return
			}
			jobs <- job{obj: obj, out: out}
		}
	}()
	opener := cloudtrail.S3Opener{Client: o.Client, ExpectedBucketOwner: o.ExpectedBucketOwner, MaxBytes: o.Limits.MaxInflatedBytes}
	if opener.MaxBytes <= 0 {
		opener.MaxBytes = cloudtrail.DefaultMaxInflatedBytes
	}
	// With several workers each is a core's work: inflating ahead in a
	// goroutine of its own would only take turns with the other workers.
	dec := &cloudtrail.Decoder{Limits: o.Limits, Inline: workers > 1}
	for range workers {
		go func() {
			for j := range jobs {
				j.out <- read(work, opener, dec, o.Bucket, j.obj)
			}
		}()
	}

	var failure error
	for out := range pending {
		d := <-out
		if failure != nil {
			continue // drain: the dispatcher stops at the next object
		}
		if d.failed != nil {
			res.Failed = append(res.Failed, d.failed)
			progress.Add(1, d.obj.Size, 0)
			continue
		}
		rep, err := p.Records(work, d.recs)
		locate(&rep, d)
		res.Report.Add(rep)
		res.Objects++
		res.Bytes += d.obj.Size
		if o.OnObject != nil {
			o.OnObject(d.obj, rep)
		}
		if err != nil {
			// The object was not applied whole: it is not checkpointed.
			failure = fmt.Errorf("apply s3://%s/%s: %w", o.Bucket, d.obj.Key, err)
			abort()
			continue
		}
		if o.Checkpoint != nil {
			if err := o.Checkpoint.add(d.obj.Key, d.recs); err != nil {
				failure = err
				abort()
				continue
			}
		}
		progress.Add(1, d.obj.Size, d.stats.Records)
	}
	if o.Checkpoint != nil {
		if err := o.Checkpoint.Save(); err != nil && failure == nil {
			failure = err
		}
	}
	if failure != nil {
		return res, failure
	}
	return res, ctx.Err()
}

// read downloads, inflates and decodes one object.
func read(ctx context.Context, opener cloudtrail.S3Opener, dec *cloudtrail.Decoder, bucket string, obj Object) decoded {
	d := decoded{obj: obj, at: map[string]cloudtrail.Position{}}
	uri := "s3://" + bucket + "/" + obj.Key
	body, err := opener.Open(ctx, bucket, obj.Key)
	if err != nil {
		d.failed = err
		return d
	}
	defer body.Close()
	d.stats, err = dec.DecodePositions(ctx, uri, body, func(rec *cloudtrail.Record, _ cloudtrail.Shape, at cloudtrail.Position) error {
		d.recs = append(d.recs, rec)
		if _, ok := d.at[rec.EventID]; !ok {
			d.at[rec.EventID] = at
		}
		return nil
	}, func(e *cloudtrail.DecodeError) {
		d.errs = append(d.errs, e)
	})
	if err != nil {
		d.failed = fmt.Errorf("read %s: %w", uri, err)
	}
	return d
}

// locate completes a report of ProcessRecords with what decoding knew: the
// decode statistics and errors, and where each record of an error or a
// conflict was read.
func locate(rep *pipeline.Report, d decoded) {
	rep.Decode = d.stats
	rep.DecodeErrors = append(d.errs, rep.DecodeErrors...)
	for _, e := range rep.ApplyErrors {
		var re *pipeline.RecordError
		if errors.As(e, &re) {
			if at, ok := d.at[re.EventID]; ok {
				re.At = at
			}
		}
	}
	for i, c := range rep.Conflicts {
		if at, ok := d.at[c.EventID]; ok && c.Second.At.Input == Source {
			rep.Conflicts[i].Second.At = at
		}
	}
}
