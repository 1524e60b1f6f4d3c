// Package pipeline is the one path every atrest driver shares: decode any
// delivery shape into CloudTrail records, order them (cloudtrail.Compare:
// eventTime, then the causal rank of the event name, then eventID), judge
// each eventID once, apply each record to the state store, and evaluate the
// rules over a snapshot of every resource the record touched: snapshots are
// taken and findings emitted in record order, while the rules of several
// snapshots run on every core (judging.go).
package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// ErrNotMonitored reports a record from an account or region outside the
// configured monitored_accounts / monitored_regions.
var ErrNotMonitored = errors.New("account or region not monitored")

// Options configure a Pipeline.
type Options struct {
	Store   state.Store
	Engine  *policy.Engine
	Config  config.Config
	Decoder *cloudtrail.Decoder
	Logger  *slog.Logger
	// MaxSeen bounds how many eventIDs a long-lived process remembers for
	// deduplication (a warm Lambda). Default 100,000.
	MaxSeen int
	// Seen, when set, records an eventID across processes and reports
	// whether another delivery already recorded it (dedup.Table.Seen). A
	// record seen before is still applied to the store, so this process's
	// model stays whole, but gives no findings. It is consulted after the
	// in-process check, once per eventID; when it fails the record is
	// judged (a duplicate finding is better than a lost one).
	Seen func(ctx context.Context, eventID string) (bool, error)
	// Verifier, when set, proves each key that protects a file system works,
	// with an envelope round trip, in a sweep and after the events that can
	// break a key (efs_kms_key_verified). Its interval cache bounds the cost.
	Verifier KeyVerifier
	// OnVerify, when set, is told each verification's outcome (metrics).
	OnVerify func(keyverify.Result)
	// ReverifyEvery bounds how often one key is verified again because of
	// events that can break it (DefaultReverifyEvery when 0, never bounded
	// when negative); an event within it gets no round trip, and says so.
	ReverifyEvery time.Duration
	// Now is the clock of ReverifyEvery; time.Now when nil.
	Now func() time.Time
}

// Pipeline turns inputs into findings. It is not safe for concurrent use:
// the store is applied to in order.
type Pipeline struct {
	store   state.Store
	engine  *policy.Engine
	config  config.Config
	decoder *cloudtrail.Decoder
	log     *slog.Logger
	seen    map[string]seenRecord
	maxSeen int
	judged  func(ctx context.Context, eventID string) (bool, error)

	verifier KeyVerifier
	onVerify func(keyverify.Result)
	// reverified holds when each key was last verified again after an
	// event.
	reverified    map[string]time.Time
	reverifyEvery time.Duration
	now           func() time.Time

	integrity map[string][]string // trail ARN -> integrity failures (integrity.go)

	// judgedRefs holds the resources every rule has judged in this
	// process; a record touching one of them evaluates only the rules it
	// can trigger (rulesFor).
	judgedRefs map[state.ResourceRef]bool
	// allRules turns rule triggers off (tests compare the two).
	allRules bool
	cache    ruleCache
	policies policyDocs
}

// New builds a pipeline.
func New(o Options) (*Pipeline, error) {
	if o.Store == nil || o.Engine == nil {
		return nil, errors.New("pipeline: Store and Engine are required")
	}
	if o.Decoder == nil {
		o.Decoder = &cloudtrail.Decoder{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxSeen <= 0 {
		o.MaxSeen = 100_000
	}
	if o.ReverifyEvery == 0 {
		o.ReverifyEvery = DefaultReverifyEvery
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Pipeline{
		// A store that reads file systems and keys from AWS knows the
		// monitoring path from events alone.
		store: state.WithTrails(o.Store), engine: o.Engine, config: o.Config, decoder: o.Decoder,
		log: o.Logger, seen: map[string]seenRecord{}, maxSeen: o.MaxSeen, judged: o.Seen,
		verifier: o.Verifier, onVerify: o.OnVerify,
		reverified: map[string]time.Time{}, reverifyEvery: o.ReverifyEvery, now: o.Now,
		judgedRefs: map[state.ResourceRef]bool{},
		cache:      ruleCache{max: DefaultRuleCacheSize, entries: map[state.ResourceRef]*cacheEntry{}},
		policies:   policyDocs{max: 1024, docs: map[string]any{}},
	}, nil
}

// Report counts what one input or batch of records did.
type Report struct {
	Decode       cloudtrail.Stats
	Processed    int // records of interest judged
	Duplicates   int // records whose eventID was already judged
	Failed       int // records with errorCode: counted, no state change
	Findings     int
	EvalErrors   int // findings with status ERROR
	DecodeErrors []*cloudtrail.DecodeError
	ApplyErrors  []error // each a *RecordError
	// Conflicts are records that share an eventID with one judged before
	// but differ from it: warnings, not bad input.
	Conflicts []Conflict
}

// Bad reports whether any part of the input was bad.
func (r *Report) Bad() bool { return len(r.DecodeErrors) > 0 || len(r.ApplyErrors) > 0 }

// Add accumulates o into r.
func (r *Report) Add(o Report) {
	r.Decode.Add(o.Decode)
	r.Processed += o.Processed
	r.Duplicates += o.Duplicates
	r.Failed += o.Failed
	r.Findings += o.Findings
	r.EvalErrors += o.EvalErrors
	r.DecodeErrors = append(r.DecodeErrors, o.DecodeErrors...)
	r.ApplyErrors = append(r.ApplyErrors, o.ApplyErrors...)
	r.Conflicts = append(r.Conflicts, o.Conflicts...)
}

// RecordError is a record that decoded but could not be judged: outside the
// monitored scope, or with parameters the store cannot apply. It names where
// the record was read and its eventID.
type RecordError struct {
	At        cloudtrail.Position
	EventID   string
	EventName string
	Err       error
}

func (e *RecordError) Error() string {
	msg := e.At.String()
	label := "eventID " + e.EventID
	if e.EventName != "" {
		label += ", " + e.EventName
	}
	if msg == "" {
		msg = label
	} else {
		msg += " (" + label + ")"
	}
	return msg + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *RecordError) Unwrap() error { return e.Err }

// Conflict reports two records with one eventID and different content: a
// replayed or altered record, or a failed and a successful call that
// claim one id. The one judged first is kept unless it failed and the
// second did not: a failed call never displaces a successful one.
type Conflict struct {
	EventID       string
	First, Second Delivery
}

// Delivery names one copy of a record: where it was read and what it says.
type Delivery struct {
	At        cloudtrail.Position
	EventName string
	EventTime time.Time
	ErrorCode string // the failed call's error code; "" when it succeeded
}

func (d Delivery) String() string {
	s := d.EventName + " at " + d.EventTime.UTC().Format(time.RFC3339)
	if d.ErrorCode != "" {
		s += " failed with " + d.ErrorCode
	}
	if at := d.At.String(); at != "" {
		s += " in " + at
	}
	return s
}

func (c Conflict) String() string {
	return fmt.Sprintf("eventID %s names two different records: %s, and %s", c.EventID, c.First, c.Second)
}

// seenRecord is what the pipeline remembers of a judged eventID.
type seenRecord struct {
	digest   [sha256.Size]byte
	delivery Delivery
}

// Emit receives each finding as it is made.
type Emit func(finding.Finding) error

type delivered struct {
	rec   *cloudtrail.Record
	shape cloudtrail.Shape
	at    cloudtrail.Position
	sum   [sha256.Size]byte // digest(rec), when rec has an eventID
}

// ProcessInput decodes one input of any shape and judges its records in the
// order cloudtrail.Compare gives: eventTime, then the causal rank of the
// event name, then eventID. Bad records are reported in the Report and the valid ones
// around them still produce findings; the error is non-nil only when the
// context ends, the reader fails or emit fails.
func (p *Pipeline) ProcessInput(ctx context.Context, name string, r io.Reader, emit Emit) (Report, error) {
	var (
		rep  Report
		recs []delivered
	)
	stats, err := p.decoder.DecodePositions(ctx, name, r, func(rec *cloudtrail.Record, shape cloudtrail.Shape, at cloudtrail.Position) error {
		// The digest reads nothing but the record: it is taken here, while
		// the rest of the input is still being read (and inflated ahead),
		// rather than after, when the records are judged in order.
		recs = append(recs, delivered{rec, shape, at, idDigest(rec)})
		return nil
	}, func(e *cloudtrail.DecodeError) {
		rep.DecodeErrors = append(rep.DecodeErrors, e)
	})
	rep.Decode = stats
	if err != nil {
		return rep, fmt.Errorf("decode %s: %w", name, err)
	}
	// CloudTrail does not promise order, and eventTime has one-second
	// resolution: judge in causal order so a later change is never
	// overwritten by an earlier one delivered after it, whatever the order
	// of the input. Copies of one record keep their input order.
	slices.SortStableFunc(recs, func(a, b delivered) int { return cloudtrail.Compare(a.rec, b.rec) })
	q := p.newJudging(ctx, emit, &rep, len(recs) > 1)
	for _, d := range recs {
		if err := p.record(ctx, d.rec, d.sum, d.at, SourceOf(d.shape), q, &rep); err != nil {
			q.close()
			return rep, err
		}
	}
	return rep, q.close()
}

// ProcessRecords judges already decoded records (a backfill) in the order
// ProcessInput does. Their position is the source.
func (p *Pipeline) ProcessRecords(ctx context.Context, recs []*cloudtrail.Record, source string, emit Emit) (Report, error) {
	var rep Report
	sorted := slices.Clone(recs)
	slices.SortStableFunc(sorted, cloudtrail.Compare)
	q := p.newJudging(ctx, emit, &rep, len(sorted) > 1)
	for _, rec := range sorted {
		if !cloudtrail.Interesting(rec.EventSource, rec.EventName) {
			rep.Decode.Skipped++
			continue
		}
		if err := p.record(ctx, rec, idDigest(rec), cloudtrail.Position{Input: source}, source, q, &rep); err != nil {
			q.close()
			return rep, err
		}
	}
	return rep, q.close()
}

// SourceOf names the metric source of a delivery shape.
func SourceOf(s cloudtrail.Shape) string {
	switch s {
	case cloudtrail.ShapeEventBridge:
		return "eventbridge"
	case cloudtrail.ShapeCloudWatchLogs:
		return "cloudwatch_logs"
	case cloudtrail.ShapeS3Notification, cloudtrail.ShapeLogFile:
		return "s3"
	}
	return "cli"
}

// record applies one record and queues the judgments of what it touched,
// unless it is a copy already judged. sum is idDigest(rec).
func (p *Pipeline) record(ctx context.Context, rec *cloudtrail.Record, sum [sha256.Size]byte, at cloudtrail.Position, source string, q *judging, rep *Report) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if rec.EventID != "" && !p.first(ctx, rec, sum, at, rep) {
		rep.Duplicates++
		return nil
	}
	recordError := func(err error) *RecordError {
		return &RecordError{At: at, EventID: rec.EventID, EventName: rec.EventName, Err: err}
	}
	if !p.config.Monitors(rec.Account(), rec.AWSRegion) {
		rep.ApplyErrors = append(rep.ApplyErrors, recordError(fmt.Errorf("%w: account %q, region %q",
			ErrNotMonitored, rec.Account(), rec.AWSRegion)))
		return nil
	}
	elsewhere := false // another delivery judged this eventID (Options.Seen)
	if p.judged != nil && rec.EventID != "" && !rec.Failed() {
		seen, err := p.judged(ctx, rec.EventID)
		if err != nil {
			p.log.WarnContext(ctx, "deduplication table not consulted; judging the record",
				"event_id", rec.EventID, "event_name", rec.EventName, "error", err.Error())
		}
		elsewhere = seen && err == nil
	}
	if elsewhere {
		rep.Duplicates++
	} else {
		rep.Processed++
	}
	if rec.Failed() {
		rep.Failed++
		p.log.InfoContext(ctx, "failed call changes no state",
			"event_id", rec.EventID, "event_name", rec.EventName, "error_code", rec.ErrorCode)
		return nil
	}
	ch, err := p.store.Apply(ctx, rec)
	if err != nil {
		rep.ApplyErrors = append(rep.ApplyErrors, recordError(err))
		p.log.WarnContext(ctx, "record not applied", "input", at.Input, "location", at.Location,
			"event_id", rec.EventID, "event_name", rec.EventName, "error", err.Error())
		return nil
	}
	if elsewhere {
		return nil
	}
	for _, ref := range ch.Touched {
		if err := q.add(p.prepare(ctx, ref, rec, source, nil)); err != nil {
			return err
		}
	}
	return nil
}

// first reports whether rec is the copy of its eventID to judge: the first
// seen, or a successful call after a failed one with the same eventID. A copy
// whose content differs (by sum, rec's digest) from the one seen before is
// reported as a Conflict either way.
func (p *Pipeline) first(ctx context.Context, rec *cloudtrail.Record, sum [sha256.Size]byte, at cloudtrail.Position, rep *Report) bool {
	this := seenRecord{digest: sum, delivery: Delivery{At: at, EventName: rec.EventName, EventTime: rec.EventTime, ErrorCode: rec.ErrorCode}}
	prev, seen := p.seen[rec.EventID]
	if seen && prev.digest != this.digest {
		c := Conflict{EventID: rec.EventID, First: prev.delivery, Second: this.delivery}
		rep.Conflicts = append(rep.Conflicts, c)
		p.log.WarnContext(ctx, "two records share an eventID but differ", "event_id", rec.EventID,
			"first", c.First.String(), "second", c.Second.String())
	}
	if seen && (prev.delivery.ErrorCode == "" || rec.Failed()) {
		return false
	}
	if !seen && len(p.seen) >= p.maxSeen {
		clear(p.seen)
	}
	p.seen[rec.EventID] = this
	return true
}

// digest hashes what a record says that atrest reads: its identity, time,
// place, caller, outcome, parameters, response and resources. JSON objects
// in it are compared by content, not by key order or spacing, so the copies
// of one record that different delivery shapes carry hash alike.
func digest(rec *cloudtrail.Record) [sha256.Size]byte {
	buf := digestBuffers.Get().(*[]byte)
	defer digestBuffers.Put(buf)
	b := append(append((*buf)[:0], rec.EventSource...), 0)
	b = append(append(b, rec.EventName...), 0)
	b = append(rec.EventTime.UTC().AppendFormat(b, time.RFC3339Nano), 0)
	for _, s := range [...]string{
		rec.AWSRegion, rec.Account(),
		rec.EventType, rec.UserIdentity.Type, rec.UserIdentity.ARN, rec.UserIdentity.AccountID, rec.UserIdentity.InvokedBy,
		rec.ErrorCode, rec.ErrorMessage,
	} {
		b = append(append(b, s...), 0)
	}
	for _, raw := range [...]json.RawMessage{rec.RequestParameters, rec.ResponseElements, rec.AdditionalEventData} {
		b = append(appendCanonicalJSON(b, raw), 0)
	}
	for _, r := range rec.Resources {
		b = append(append(append(append(append(append(b, r.ARN...), 0), r.AccountID...), 0), r.Type...), 0)
	}
	*buf = b
	return sha256.Sum256(b)
}

// idDigest is digest(rec) for a record with an eventID, which first
// compares with the copies of its eventID seen before; zero without one.
func idDigest(rec *cloudtrail.Record) (sum [sha256.Size]byte) {
	if rec.EventID != "" {
		sum = digest(rec)
	}
	return sum
}

// digestBuffers are reused for the text digest hashes.
var digestBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// EvaluateResource judges one resource as it now stands, with no triggering
// event: what a sweep asks.
func (p *Pipeline) EvaluateResource(ctx context.Context, ref state.ResourceRef, source string) ([]finding.Finding, error) {
	return p.evaluate(ctx, ref, nil, source)
}

// evaluate builds the policy input for one resource and turns the rules'
// results into findings. Failures become ERROR findings for every rule of the
// resource type, never silence: the error is returned alongside them.
func (p *Pipeline) evaluate(ctx context.Context, ref state.ResourceRef, rec *cloudtrail.Record, source string) ([]finding.Finding, error) {
	j := p.prepare(ctx, ref, rec, source, nil)
	j.run(ctx, p.engine)
	return p.finish(ctx, j)
}

// Check is one resource to judge again as it now stands, by the rules it
// names: those of its type among Rules, or every rule of its type when
// Rules is nil.
type Check struct {
	Ref   state.ResourceRef
	Rules []string
}

// Checked is what judging a Check gave: the findings, and the error that
// made some of them ERROR or left none, as EvaluateResource returns them.
type Checked struct {
	Findings []finding.Finding
	Err      error
}

// EvaluateResources judges each check's resource as it now stands, with no
// triggering event, by the rules the check names, and returns what each
// gave, in order. The inputs are built and the findings made in order; the
// rules run on every core, as they read nothing but their input. A check
// naming some rules only does not count as judging the resource by every
// rule: the next record touching it still has every rule judge it.
func (p *Pipeline) EvaluateResources(ctx context.Context, checks []Check, source string) []Checked {
	js := make([]*judgment, len(checks))
	for i, c := range checks {
		js[i] = p.prepare(ctx, c.Ref, nil, source, c.Rules)
	}
	var (
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range max(1, min(runtime.GOMAXPROCS(0), len(js))) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(js)); i = next.Add(1) - 1 {
				js[i].run(ctx, p.engine)
			}
		})
	}
	wg.Wait()
	out := make([]Checked, len(js))
	for i, j := range js {
		out[i].Findings, out[i].Err = p.finish(ctx, j)
	}
	return out
}

// judgment is one resource judged on one record: prepare reads what it
// needs of the pipeline and the store, run evaluates the rules (and needs
// nothing else, so judgments run in parallel), finish turns the results
// into findings. prepare and finish run in record order.
type judgment struct {
	ref    state.ResourceRef
	rec    *cloudtrail.Record
	source string
	in     *policy.Input
	blast  []string
	ids    []string // the rules to evaluate; every rule of the type when all
	all    bool
	sum    [sha256.Size]byte
	hashed bool // sum holds the input's hash
	skip   bool // no rule's verdict can change
	cached bool // results came from the rule cache
	// evaluated: run evaluated the rules (the cache did not hold them).
	evaluated bool
	// deferred: an earlier judgment of the same input was running when
	// this one was prepared; this one takes the results it leaves.
	deferred bool
	results  []policy.Result
	err      error
	done     chan struct{} // closed when run is over (parallel judging)
}

// prepare builds the input and decides which rules to evaluate, taking
// their results from the rule cache when it holds them. It marks ref
// judged by every rule once it is to be (the judgments of the records
// after it evaluate only the rules those records can trigger), as a
// sequential evaluation would on success. When only is not nil, the rules
// are those of ref's type it names, and ref is not marked.
func (p *Pipeline) prepare(ctx context.Context, ref state.ResourceRef, rec *cloudtrail.Record, source string, only []string) *judgment {
	j := &judgment{ref: ref, rec: rec, source: source}
	j.in, j.blast, j.err = buildInput(ctx, p.store, ref, rec, p.config, p.policies.parse)
	if ref.Type == state.TypeMonitoringPath {
		j.in, j.err = p.withIntegrity(ctx, ref, rec, j.in, j.err)
	}
	if only != nil {
		for _, id := range p.engine.RuleIDs(string(ref.Type)) {
			if slices.Contains(only, id) {
				j.ids = append(j.ids, id)
			}
		}
	} else {
		j.ids, j.all = p.rulesFor(ref, rec)
	}
	if !j.all && len(j.ids) == 0 {
		j.skip = true
		return j
	}
	if j.err != nil {
		return j
	}
	if ref.Type == state.TypeKey {
		p.verify(ctx, j.in, rec, j.blast)
	}
	if j.all {
		j.ids = p.engine.RuleIDs(j.in.ResourceType)
	}
	j.sum, j.hashed = inputHash(j.in, p.engine.ReadsEvent())
	if j.hashed {
		if results, hit := p.cache.lookup(ref, j.sum, j.ids); hit {
			p.cache.hits += len(results)
			j.results, j.cached = results, true
		}
	}
	if only == nil {
		p.markJudged(ref)
	}
	return j
}

// run evaluates the rules a prepared judgment names, unless prepare
// settled it.
func (j *judgment) run(ctx context.Context, e *policy.Engine) {
	if j.skip || j.cached || j.err != nil {
		return
	}
	j.evaluated = true
	j.results, j.err = evaluateRules(e, ctx, j.in, j.ids)
}

// evaluateRules is the engine's evaluation a judgment runs: BenchmarkRuleCPU
// records, through it, what the rules are asked on a log.
var evaluateRules = (*policy.Engine).EvaluateRules

// finish keeps the results in the rule cache and makes the findings.
func (p *Pipeline) finish(ctx context.Context, j *judgment) ([]finding.Finding, error) {
	if j.skip {
		return nil, nil
	}
	if j.evaluated {
		p.cache.misses += len(j.ids)
	}
	if j.hashed && j.evaluated && j.err == nil {
		p.cache.store(j.ref, j.sum, j.results)
	}
	results, err := j.results, j.err
	if err != nil && len(results) == 0 {
		for _, m := range p.engine.Rules() {
			if m.ResourceType == string(j.ref.Type) && (j.all || slices.Contains(j.ids, m.ID)) {
				results = append(results, policy.Result{Rule: m.ID, Status: finding.Error, Reason: err.Error()})
			}
		}
	}
	if err != nil {
		// A failed judgment judged nothing: the next record touching ref
		// has every rule evaluate it.
		delete(p.judgedRefs, j.ref)
		p.log.ErrorContext(ctx, "evaluation failed", "resource_arn", j.ref.ARN, "error", err.Error())
	}
	deleted := resourceDeleted(j.in)
	out := make([]finding.Finding, 0, len(results))
	for _, r := range results {
		f := p.makeFinding(r, j.ref, j.rec, j.blast, j.source)
		f.ResourceDeleted = deleted
		out = append(out, f)
	}
	return out, err
}

// resourceDeleted reports whether the input's file system or key no longer
// exists, which resolves its findings for good. A deleted trail, rule or
// subscription filter is not: its deletion is what the monitoring rule
// reports.
func resourceDeleted(in *policy.Input) bool {
	switch {
	case in == nil:
		return false
	case in.FileSystem != nil && in.ResourceType == string(state.TypeFileSystem):
		return in.FileSystem.Deleted
	case in.Key != nil && in.ResourceType == string(state.TypeKey):
		return in.Key.Deleted
	}
	return false
}

// rulesFor names the rules to evaluate for ref: every rule (all) without a
// record, or when no evaluation in this process judged ref with every rule
// yet; otherwise the rules the record's event name can trigger
// (policy.RuleMeta.Triggers), whose verdicts alone can have changed.
func (p *Pipeline) rulesFor(ref state.ResourceRef, rec *cloudtrail.Record) (ids []string, all bool) {
	if rec == nil || p.allRules || !p.judgedRefs[ref] {
		return nil, true
	}
	return p.engine.Triggered(string(ref.Type), rec.EventName), false
}

// markJudged notes that every rule has judged ref, bounded as the seen
// eventIDs are: forgetting only costs a full evaluation.
func (p *Pipeline) markJudged(ref state.ResourceRef) {
	if !p.judgedRefs[ref] && len(p.judgedRefs) >= p.maxSeen {
		clear(p.judgedRefs)
	}
	p.judgedRefs[ref] = true
}

func (p *Pipeline) makeFinding(r policy.Result, ref state.ResourceRef, rec *cloudtrail.Record, blast []string, source string) finding.Finding {
	f := finding.Finding{
		Rule:         r.Rule,
		Status:       r.Status,
		Resource:     ref.ARN,
		ResourceType: string(ref.Type),
		Reason:       r.Reason,
		Controls:     []string{},
		Source:       source,
	}
	if a, ok := arns.Parse(ref.ARN); ok {
		f.Account, f.Region = a.AccountID, a.Region
	}
	if m, ok := p.engine.Meta(r.Rule); ok {
		f.Title, f.Severity, f.Remediation = m.Title, m.Severity, m.Remediation
		f.Controls = slices.Clone(m.Controls)
	}
	if ref.Type == state.TypeKey {
		f.FileSystems = blast
	}
	if rec != nil {
		f.EventID, f.EventName, f.EventTime = rec.EventID, rec.EventName, rec.EventTime
	}
	f.ID = finding.StableID(f.Rule, f.Resource, f.EventID)
	return f
}
