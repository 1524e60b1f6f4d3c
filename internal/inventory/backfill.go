package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/atrest/atrest/internal/clock"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// Backfill defaults.
const (
	// DefaultBackfillDays is how far back a backfill reads: all the event
	// history LookupEvents keeps.
	DefaultBackfillDays = 90
	// DefaultLookupRate is LookupEvents' quota: 2 requests a second per
	// account per region.
	DefaultLookupRate = 2.0
	lookupPageSize    = 50
)

// LookupBy is the lookup attribute a backfill queries by.
type LookupBy string

// Lookup attributes. LookupEvents takes one attribute a request.
const (
	// ByEventName makes one lookup per event name of interest. It is the
	// default: KMS's event source also carries every Decrypt and
	// GenerateDataKey call, which can be millions of events to page through.
	ByEventName LookupBy = "EventName"
	// ByEventSource makes one lookup per event source (EFS, KMS, and the
	// monitoring path's CloudTrail, EventBridge and CloudWatch Logs).
	ByEventSource LookupBy = "EventSource"
)

// eventSources are the event sources of interest, sorted, for lookups by
// source. The test holds them to cloudtrail.EventNames: every name of
// interest belongs to one of them.
var eventSources = []string{
	cloudtrail.SourceCloudTrail, cloudtrail.SourceEFS, cloudtrail.SourceEvents,
	cloudtrail.SourceKMS, cloudtrail.SourceLogs,
}

// lookupValues are the attribute values a backfill looks up, in order: the
// event names of interest (cloudtrail.EventNames, sorted) or the sources.
func lookupValues(by LookupBy) []string {
	if by == ByEventName {
		return cloudtrail.EventNames()
	}
	return slices.Clone(eventSources)
}

// Clock tells the time and waits; tests pass a fake one.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx ends (clock.Sleep).
func (SystemClock) Sleep(ctx context.Context, d time.Duration) error {
	return clock.Sleep(ctx, d)
}

// TokenBucket limits a rate of requests: it holds up to Burst tokens,
// refilled at Rate a second; each request takes one, waiting when none is
// left. Waiters are served in the order they reserve.
type TokenBucket struct {
	rate, burst float64
	clock       Clock

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewTokenBucket returns a full bucket.
func NewTokenBucket(rate float64, burst int, clock Clock) *TokenBucket {
	if clock == nil {
		clock = SystemClock{}
	}
	return &TokenBucket{rate: rate, burst: float64(burst), clock: clock, tokens: float64(burst), last: clock.Now()}
}

// Wait takes a token, waiting for one when the bucket is empty.
func (b *TokenBucket) Wait(ctx context.Context) error {
	b.mu.Lock()
	now := b.clock.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	b.tokens-- // reserve; a debt is paid by waiting
	wait := time.Duration(0)
	if b.tokens < 0 {
		wait = time.Duration(-b.tokens / b.rate * float64(time.Second))
	}
	b.mu.Unlock()
	return b.clock.Sleep(ctx, wait)
}

// BackfillOptions configure a backfill.
type BackfillOptions struct {
	// Account is the account to read; "" is the monitor's own.
	Account string
	// Regions to read; each region has its own event history.
	Regions []string
	// Days of history to read back from now; DefaultBackfillDays when zero.
	Days int
	// By is the lookup attribute; ByEventName when "".
	By LookupBy
	// Rate is the requests a second per region; DefaultLookupRate when zero.
	Rate float64
	// CheckpointPath, when set, is a file where progress is saved after
	// every page, so an interrupted backfill resumes where it stopped.
	CheckpointPath string
	// Clock is the clock; SystemClock when nil.
	Clock Clock
}

// BackfillReport counts what a backfill did.
type BackfillReport struct {
	Start, End time.Time // the window read
	Requests   int       // LookupEvents calls made by this run
	Events     int       // events returned by them
	Records    int       // records of interest handed to the callback
	Duplicates int       // events seen twice (dropped)
	Malformed  int       // CloudTrailEvent strings that could not be decoded
	Resumed    bool      // the run continued from a checkpoint
}

// Checkpoint is a backfill's saved progress: the window, the lookup in
// progress with the last page's NextToken, and the records of interest read
// so far (they are handed on, in eventTime order, once every lookup is done).
type Checkpoint struct {
	Account string    `json:"account"`
	Regions []string  `json:"regions"`
	By      LookupBy  `json:"by"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	// Lookups are the attribute values of each region, in order; a
	// checkpoint saved with other values is not resumed.
	Lookups   []string            `json:"lookups"`
	Stream    int                 `json:"stream"` // index into regions × Lookups
	NextToken string              `json:"next_token,omitempty"`
	Pending   []cloudtrail.Record `json:"pending"`
	Done      bool                `json:"done"`
}

type lookupStream struct {
	region, value string
}

func streams(regions, values []string) []lookupStream {
	var out []lookupStream
	for _, r := range regions {
		for _, v := range values {
			out = append(out, lookupStream{r, v})
		}
	}
	return out
}

// Backfill reads the CloudTrail event history (LookupEvents) of the last
// opts.Days in each region, keeps the records of interest, and hands them to
// emit in eventTime order (ties by eventID), each once. Requests are limited
// to opts.Rate a second per region. With a checkpoint path it resumes an
// interrupted run with the same account, regions and attribute.
func Backfill(ctx context.Context, src ClientSource, opts BackfillOptions, emit func(*cloudtrail.Record) error) (BackfillReport, error) {
	if len(opts.Regions) == 0 {
		return BackfillReport{}, errors.New("backfill: no region given")
	}
	if opts.Days <= 0 {
		opts.Days = DefaultBackfillDays
	}
	if opts.By == "" {
		opts.By = ByEventName
	}
	if opts.By != ByEventName && opts.By != ByEventSource {
		return BackfillReport{}, fmt.Errorf("backfill: unknown lookup attribute %q", opts.By)
	}
	if opts.Rate <= 0 {
		opts.Rate = DefaultLookupRate
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	account := opts.Account
	if account == "" {
		var err error
		if account, err = src.OwnAccount(ctx); err != nil {
			return BackfillReport{}, err
		}
	}
	cp, resumed, err := loadCheckpoint(opts.CheckpointPath, account, opts)
	if err != nil {
		return BackfillReport{}, err
	}
	rep := BackfillReport{Start: cp.Start, End: cp.End, Resumed: resumed}
	seen := map[string]bool{}
	for _, r := range cp.Pending {
		seen[r.EventID] = true
	}
	buckets := map[string]*TokenBucket{}
	all := streams(opts.Regions, cp.Lookups)
	for cp.Stream < len(all) {
		s := all[cp.Stream]
		c, err := src.Clients(ctx, account, s.region)
		if err != nil {
			return rep, fmt.Errorf("backfill %s: %w", s.region, err)
		}
		b := buckets[s.region]
		if b == nil {
			b = NewTokenBucket(opts.Rate, 1, opts.Clock)
			buckets[s.region] = b
		}
		for {
			if err := b.Wait(ctx); err != nil {
				return rep, err
			}
			in := &awscloudtrail.LookupEventsInput{
				LookupAttributes: []cttypes.LookupAttribute{{
					AttributeKey:   cttypes.LookupAttributeKey(opts.By),
					AttributeValue: aws.String(s.value),
				}},
				StartTime:  aws.Time(cp.Start),
				EndTime:    aws.Time(cp.End),
				MaxResults: aws.Int32(lookupPageSize),
			}
			if cp.NextToken != "" {
				in.NextToken = aws.String(cp.NextToken)
			}
			out, err := c.CloudTrail.LookupEvents(ctx, in)
			rep.Requests++
			if err != nil {
				return rep, callError("cloudtrail:LookupEvents", fmt.Sprintf("%s=%s in account %s region %s", opts.By, s.value, account, s.region), err)
			}
			rep.Events += len(out.Events)
			for _, ev := range out.Events {
				var rec cloudtrail.Record
				if err := json.Unmarshal([]byte(aws.ToString(ev.CloudTrailEvent)), &rec); err != nil {
					rep.Malformed++
					continue
				}
				if !cloudtrail.Interesting(rec.EventSource, rec.EventName) {
					continue
				}
				if seen[rec.EventID] {
					rep.Duplicates++
					continue
				}
				seen[rec.EventID] = true
				cp.Pending = append(cp.Pending, rec)
			}
			// The saved token is the next page to read; a finished lookup
			// moves the checkpoint on to the next one.
			cp.NextToken = aws.ToString(out.NextToken)
			if cp.NextToken == "" {
				cp.Stream++
			}
			if err := saveCheckpoint(opts.CheckpointPath, cp); err != nil {
				return rep, err
			}
			if cp.NextToken == "" {
				break
			}
		}
	}
	// The order the pipeline applies records in: eventTime, the causal rank
	// of the event name, eventID.
	slices.SortStableFunc(cp.Pending, func(a, b cloudtrail.Record) int { return cloudtrail.Compare(&a, &b) })
	for i := range cp.Pending {
		if err := emit(&cp.Pending[i]); err != nil {
			return rep, fmt.Errorf("backfill: record %s: %w", cp.Pending[i].EventID, err)
		}
		rep.Records++
	}
	cp.Done, cp.Pending = true, nil
	return rep, saveCheckpoint(opts.CheckpointPath, cp)
}

// loadCheckpoint resumes the run saved at path, or starts a new one (no
// file, or the saved run finished).
func loadCheckpoint(path, account string, opts BackfillOptions) (*Checkpoint, bool, error) {
	now := opts.Clock.Now().UTC()
	fresh := &Checkpoint{
		Account: account, Regions: opts.Regions, By: opts.By, Lookups: lookupValues(opts.By),
		Start: now.AddDate(0, 0, -opts.Days), End: now,
	}
	if path == "" {
		return fresh, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fresh, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("backfill checkpoint: %w", err)
	}
	var cp Checkpoint
	if err := json.Unmarshal(b, &cp); err != nil {
		return nil, false, fmt.Errorf("backfill checkpoint %s: %w", path, err)
	}
	if cp.Done {
		return fresh, false, nil
	}
	if cp.Account != account || cp.By != opts.By || !slices.Equal(cp.Regions, opts.Regions) {
		return nil, false, fmt.Errorf("backfill checkpoint %s is for account %s, regions %v, by %s: not this run's (remove it to start over)",
			path, cp.Account, cp.Regions, cp.By)
	}
	if !slices.Equal(cp.Lookups, fresh.Lookups) {
		return nil, false, fmt.Errorf("backfill checkpoint %s looks up %d other values: not this run's (remove it to start over)",
			path, len(cp.Lookups))
	}
	return &cp, true, nil
}

// saveCheckpoint writes cp to path atomically (no-op without a path).
func saveCheckpoint(path string, cp *Checkpoint) error {
	if path == "" {
		return nil
	}
	b, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("backfill checkpoint: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("backfill checkpoint: %w", err)
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("backfill checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backfill checkpoint: %w", err)
	}
	return nil
}
