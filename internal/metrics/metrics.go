// Package metrics turns one invocation's work (records read, findings made,
// calls that failed) into CloudWatch metrics and delivers them through a
// Sink: embedded metric format (EMF) log lines, or PutMetricData calls.
//
// An Invocation collects counters and findings while a driver runs; Batch
// folds them into one datum per metric and dimension set, which every sink
// delivers as it is. Latencies keep their distribution (distinct values
// with their counts), so percentiles stay computable in CloudWatch.
package metrics

import (
	"cmp"
	"context"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/atrest/atrest/internal/finding"
)

// DefaultNamespace is the CloudWatch namespace atrest publishes to unless
// configured otherwise.
const DefaultNamespace = "Atrest"

// Metric names.
const (
	MetricFindings               = "Findings"
	MetricNonCompliantResources  = "NonCompliantResources"
	MetricEventsProcessed        = "EventsProcessed"
	MetricEventsSkipped          = "EventsSkipped"
	MetricFailedCalls            = "FailedCalls"
	MetricDecodeErrors           = "DecodeErrors"
	MetricEvaluationErrors       = "EvaluationErrors"
	MetricDetectionLatency       = "DetectionLatency"
	MetricKeyVerifications       = "KeyVerifications"
	MetricKeyVerificationLatency = "KeyVerificationLatency"
	// MetricLedgerWrites counts the findings that changed a ledger entry
	// (transitions, restatements, and older findings that moved when the
	// entry's current status began).
	MetricLedgerWrites = "LedgerWrites"
	// MetricLedgerTransitions counts the ledger's transitions: the findings
	// that are news (a first judgement, a change of status, a resolution).
	MetricLedgerTransitions = "LedgerTransitions"
	// MetricLedgerStale counts the findings older than the judgement the
	// ledger holds (a copy delivered again, a record arriving late): never
	// news.
	MetricLedgerStale = "LedgerStale"
	// MetricLedgerContention counts the ledger's conditional writes that
	// failed because another writer updated the entry between the read and
	// the write (each was retried), beyond ordering: a stale finding is
	// decided before any write and is no contention. A steady count means
	// many instances race for the same entries.
	MetricLedgerContention = "LedgerContention"
)

// Dimension names.
const (
	DimRule    = "Rule"
	DimStatus  = "Status"
	DimAccount = "Account"
	DimSource  = "Source"
	DimOutcome = "Outcome"
)

// Sources a record can arrive from; they are the values of the Source
// dimension.
const (
	SourceEventBridge    = "eventbridge"
	SourceCloudWatchLogs = "cloudwatch_logs"
	SourceS3             = "s3"
	SourceSweep          = "sweep"
	SourceCLI            = "cli"
)

// Unit is a CloudWatch standard unit.
type Unit string

// Units atrest uses.
const (
	UnitCount        Unit = "Count"
	UnitMilliseconds Unit = "Milliseconds"
)

// Counter names a per-source counter an Invocation keeps.
type Counter string

// Counters, by metric name.
const (
	EventsProcessed   Counter = MetricEventsProcessed
	EventsSkipped     Counter = MetricEventsSkipped
	FailedCalls       Counter = MetricFailedCalls
	DecodeErrors      Counter = MetricDecodeErrors
	EvaluationErrors  Counter = MetricEvaluationErrors
	LedgerWrites      Counter = MetricLedgerWrites
	LedgerTransitions Counter = MetricLedgerTransitions
	LedgerStale       Counter = MetricLedgerStale
	LedgerContention  Counter = MetricLedgerContention
)

// Dimension is one name and value of a metric's dimension set.
type Dimension struct {
	Name  string
	Value string
}

// Datum is one metric with one dimension set, as every sink delivers it.
// Values holds distinct values and Counts how often each occurred
// (len(Values) == len(Counts)); a counter or gauge has one value with
// count 1.
type Datum struct {
	Name       string
	Unit       Unit
	Dimensions []Dimension
	Values     []float64
	Counts     []float64
}

// Samples returns the number of observations the datum carries.
func (d Datum) Samples() int {
	n := 0.0
	for _, c := range d.Counts {
		n += c
	}
	return int(n)
}

// Batch is what one invocation publishes: datums in one namespace at one
// timestamp.
type Batch struct {
	Namespace string
	Timestamp time.Time
	Datums    []Datum
}

// Sink delivers a batch of metrics.
type Sink interface {
	Publish(ctx context.Context, b Batch) error
}

// Nop is a Sink that drops every batch (metrics "none").
type Nop struct{}

// Publish does nothing.
func (Nop) Publish(context.Context, Batch) error { return nil }

var _ Sink = Nop{}

// Options configure an Invocation.
type Options struct {
	// Namespace defaults to DefaultNamespace.
	Namespace string
	// Organization adds the Account dimension to Findings, for a deployment
	// that watches many accounts.
	Organization bool
	// Source is the Source dimension of findings that do not name their own.
	Source string
	// Now is the clock detection latency is measured with; time.Now when nil.
	Now func() time.Time
}

type counterKey struct {
	name   string
	source string
}

type findingKey struct {
	rule, status, account string
}

// Invocation collects one invocation's counters, findings and gauges. It is
// safe for concurrent use.
type Invocation struct {
	opts     Options
	mu       sync.Mutex
	counters map[counterKey]float64
	findings map[findingKey]float64
	gauges   map[string]float64
	latency  map[string]map[float64]float64 // source -> ms -> count
	// verifications counts key verifications by outcome; verifyLatency is
	// their duration: outcome -> ms -> count.
	verifications map[string]float64
	verifyLatency map[string]map[float64]float64
}

// NewInvocation starts collecting for one invocation.
func NewInvocation(opts Options) *Invocation {
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Invocation{
		opts:     opts,
		counters: map[counterKey]float64{},
		findings: map[findingKey]float64{},
		gauges:   map[string]float64{},
		latency:  map[string]map[float64]float64{},

		verifications: map[string]float64{},
		verifyLatency: map[string]map[float64]float64{},
	}
}

// AddVerification counts one key verification by outcome ("verified", or
// the reason it failed) and, unless it was served from the verifier's
// cache, records how long the round trip took.
func (inv *Invocation) AddVerification(outcome string, d time.Duration, cached bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.verifications[outcome]++
	if cached {
		return
	}
	if inv.verifyLatency[outcome] == nil {
		inv.verifyLatency[outcome] = map[float64]float64{}
	}
	inv.verifyLatency[outcome][float64(d.Milliseconds())]++
}

// Count adds n to a per-source counter.
func (inv *Invocation) Count(c Counter, source string, n int) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.counters[counterKey{string(c), inv.source(source)}] += float64(n)
}

// AddFinding counts a finding by rule and status and, when it names its
// triggering record's eventTime, records the detection latency: the
// milliseconds from that eventTime to now (the finding's emission).
func (inv *Invocation) AddFinding(f finding.Finding) {
	now := inv.opts.Now()
	inv.mu.Lock()
	defer inv.mu.Unlock()
	k := findingKey{rule: f.Rule, status: string(f.Status)}
	if inv.opts.Organization {
		k.account = f.Account
	}
	inv.findings[k]++
	if f.EventTime.IsZero() {
		return
	}
	ms := float64(now.Sub(f.EventTime).Milliseconds())
	if ms < 0 {
		ms = 0
	}
	src := inv.source(f.Source)
	if inv.latency[src] == nil {
		inv.latency[src] = map[float64]float64{}
	}
	inv.latency[src][ms]++
}

// SetNonCompliant records the NonCompliantResources gauge of a rule, as a
// sweep counts it.
func (inv *Invocation) SetNonCompliant(rule string, n int) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.gauges[rule] = float64(n)
}

func (inv *Invocation) source(s string) string {
	if s != "" {
		return s
	}
	if inv.opts.Source != "" {
		return inv.opts.Source
	}
	return "unknown"
}

// Batch folds what was collected into one datum per metric and dimension
// set, in a stable order (metric name, then dimension values), stamped with
// the clock's time.
func (inv *Invocation) Batch() Batch {
	now := inv.opts.Now()
	inv.mu.Lock()
	defer inv.mu.Unlock()
	var ds []Datum
	for k, n := range inv.findings {
		dims := []Dimension{{DimRule, k.rule}, {DimStatus, k.status}}
		if inv.opts.Organization {
			dims = append(dims, Dimension{DimAccount, k.account})
		}
		ds = append(ds, counter(MetricFindings, dims, n))
	}
	for rule, n := range inv.gauges {
		ds = append(ds, counter(MetricNonCompliantResources, []Dimension{{DimRule, rule}}, n))
	}
	for k, n := range inv.counters {
		ds = append(ds, counter(k.name, []Dimension{{DimSource, k.source}}, n))
	}
	for src, hist := range inv.latency {
		ds = append(ds, histogram(MetricDetectionLatency, []Dimension{{DimSource, src}}, hist))
	}
	for outcome, n := range inv.verifications {
		ds = append(ds, counter(MetricKeyVerifications, []Dimension{{DimOutcome, outcome}}, n))
	}
	for outcome, hist := range inv.verifyLatency {
		ds = append(ds, histogram(MetricKeyVerificationLatency, []Dimension{{DimOutcome, outcome}}, hist))
	}
	slices.SortFunc(ds, compareDatums)
	return Batch{Namespace: inv.opts.Namespace, Timestamp: now, Datums: ds}
}

// histogram is a millisecond datum of distinct values and their counts.
func histogram(name string, dims []Dimension, hist map[float64]float64) Datum {
	d := Datum{Name: name, Unit: UnitMilliseconds, Dimensions: dims}
	vals := make([]float64, 0, len(hist))
	for v := range hist {
		vals = append(vals, v)
	}
	sort.Float64s(vals)
	for _, v := range vals {
		d.Values = append(d.Values, v)
		d.Counts = append(d.Counts, hist[v])
	}
	return d
}

func counter(name string, dims []Dimension, n float64) Datum {
	return Datum{Name: name, Unit: UnitCount, Dimensions: dims, Values: []float64{n}, Counts: []float64{1}}
}

func compareDatums(a, b Datum) int {
	if c := cmp.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	return cmp.Compare(dimensionKey(a.Dimensions), dimensionKey(b.Dimensions))
}

func dimensionKey(dims []Dimension) string {
	var sb strings.Builder
	for _, d := range dims {
		sb.WriteString(d.Name)
		sb.WriteByte(0)
		sb.WriteString(d.Value)
		sb.WriteByte(0)
	}
	return sb.String()
}
