package findingsbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/atrest/atrest/internal/clock"
	"github.com/atrest/atrest/internal/finding"
)

// Limits of one PutEvents request
// (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html,
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-putevent-size.html).
const (
	// PutEventsMaxEntries is the most entries one request may carry.
	PutEventsMaxEntries = 10
	// PutEventsMaxBytes is the most the entries of one request may add up
	// to, by EventBridge's entry size calculation.
	PutEventsMaxBytes = 256 * 1024
)

// ErrEntryTooLarge is reported for a finding whose event alone exceeds
// PutEventsMaxBytes.
var ErrEntryTooLarge = errors.New("findingsbus: event entry exceeds 256 KB")

// PutEventsAPI is the one EventBridge call Publisher makes.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// StatusStore remembers the last status published per rule and resource,
// so a return to COMPLIANT is published only after a NON_COMPLIANT one.
// MemoryStatus keeps it per process; a shared store (DynamoDB) can satisfy
// the same interface.
type StatusStore interface {
	// Previous returns the status last recorded for rule and resource; ok
	// is false when none is known.
	Previous(ctx context.Context, rule, resource string) (status finding.Status, ok bool, err error)
	// Record stores the status now known for rule and resource.
	Record(ctx context.Context, rule, resource string, status finding.Status) error
}

// PublisherOptions configure a Publisher.
type PublisherOptions struct {
	// EventBusName is the bus events go to; "" means the default bus.
	EventBusName string
	// Statuses remembers previous statuses; a new MemoryStatus when nil.
	Statuses StatusStore
	// RuleActions maps rule ids to the remediation action suggested for
	// their NON_COMPLIANT findings (remediation.DefaultRuleActions); no
	// action is suggested for a rule it leaves out, or for any when nil.
	RuleActions map[string]string
	// MaxAttempts is how often a failed entry is sent (default 4).
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled each retry
	// (default 200ms).
	Backoff time.Duration
	// Sleep waits between attempts; tests replace it.
	Sleep func(context.Context, time.Duration) error
	// Now stamps event entries; time.Now when nil.
	Now func() time.Time
}

// Publisher sends findings and remediation outcomes to EventBridge. It is
// not safe for concurrent use.
type Publisher struct {
	client PutEventsAPI
	opts   PublisherOptions
}

// NewPublisher returns a publisher sending through client.
func NewPublisher(client PutEventsAPI, opts PublisherOptions) *Publisher {
	if opts.Statuses == nil {
		opts.Statuses = NewMemoryStatus()
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 4
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.Sleep == nil {
		opts.Sleep = clock.Sleep
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Publisher{client: client, opts: opts}
}

// publishError reports entries EventBridge did not accept after every
// attempt.
func publishError(failed []finding.Undelivered) *finding.DeliveryError {
	return &finding.DeliveryError{Sink: "findingsbus", What: "events not published", Failed: failed}
}

// Result says what PublishFindings did.
type Result struct {
	// Published is the number of events EventBridge accepted.
	Published int
	// Suppressed is the number of findings that needed no event (COMPLIANT
	// without a NON_COMPLIANT before it, NOT_APPLICABLE, ERROR).
	Suppressed int
}

type pending struct {
	id    string
	entry types.PutEventsRequestEntry
	size  int
	// record is run once the entry is accepted.
	record func(context.Context) error
}

// PublishFindings publishes the findings that need an event: every
// NON_COMPLIANT one, and a COMPLIANT one or one of a deleted resource whose
// rule and resource were NON_COMPLIANT before: as the finding's
// PreviousStatus says (the ledger's transition), or else as last published
// by this publisher. Statuses are recorded only for entries
// EventBridge accepted (and for findings that needed no event), so a lost
// event is retried on the next evaluation. Entries that still fail after
// the retries are reported in a *finding.DeliveryError.
func (p *Publisher) PublishFindings(ctx context.Context, fs []finding.Finding) (Result, error) {
	var res Result
	var entries []pending
	var errs []error
	for _, f := range fs {
		if f.ID == "" {
			f.ID = finding.StableID(f.Rule, f.Resource, f.EventID)
		}
		prev, known := f.PreviousStatus, f.PreviousStatus != ""
		if !known {
			var err error
			if prev, known, err = p.opts.Statuses.Previous(ctx, f.Rule, f.Resource); err != nil {
				errs = append(errs, fmt.Errorf("previous status of %s %s: %w", f.Rule, f.Resource, err))
				continue
			}
		}
		// A NON_COMPLIANT verdict, and its end: back to COMPLIANT, or the
		// resource deleted.
		publish := f.Status == finding.NonCompliant ||
			known && prev == finding.NonCompliant && (f.Status == finding.Compliant || f.ResourceDeleted)
		if !publish {
			res.Suppressed++
			if f.Status == finding.Compliant || f.Status == finding.NotApplicable {
				if err := p.opts.Statuses.Record(ctx, f.Rule, f.Resource, f.Status); err != nil {
					errs = append(errs, err)
				}
			}
			continue
		}
		detail := FindingDetail{Finding: f, Remediation: Suggestion{Description: f.Remediation}}
		if known {
			detail.PreviousStatus = prev
		}
		if f.Status == finding.NonCompliant {
			detail.Remediation.Action = p.opts.RuleActions[f.Rule]
		}
		var resources []string
		if f.Resource != "" {
			resources = append(resources, f.Resource)
		}
		e, err := p.entry(f.ID, DetailTypeFinding, detail, resources)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rule, resource, status := f.Rule, f.Resource, f.Status
		e.record = func(ctx context.Context) error {
			return p.opts.Statuses.Record(ctx, rule, resource, status)
		}
		entries = append(entries, e)
	}
	n, err := p.send(ctx, entries)
	res.Published = n
	if err != nil {
		errs = append(errs, err)
	}
	return res, joinPublishErrors(errs)
}

// PublishOutcomes publishes remediation outcomes as "Atrest Remediation"
// events.
func (p *Publisher) PublishOutcomes(ctx context.Context, outs ...Outcome) error {
	var entries []pending
	var errs []error
	for _, o := range outs {
		var resources []string
		if o.Resource != "" {
			resources = append(resources, o.Resource)
		}
		e, err := p.entry(o.FindingID, DetailTypeRemediation, o, resources)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		entries = append(entries, e)
	}
	if _, err := p.send(ctx, entries); err != nil {
		errs = append(errs, err)
	}
	return joinPublishErrors(errs)
}

func (p *Publisher) entry(id, detailType string, detail any, resources []string) (pending, error) {
	body, err := json.Marshal(detail)
	if err != nil {
		return pending{}, fmt.Errorf("findingsbus: encode %s %s: %w", detailType, id, err)
	}
	e := types.PutEventsRequestEntry{
		Source:     aws.String(EventSource),
		DetailType: aws.String(detailType),
		Detail:     aws.String(string(body)),
		Resources:  resources,
		Time:       aws.Time(p.opts.Now()),
	}
	if p.opts.EventBusName != "" {
		e.EventBusName = aws.String(p.opts.EventBusName)
	}
	size := EntrySize(e)
	if size > PutEventsMaxBytes {
		return pending{}, publishError([]finding.Undelivered{{ID: id, ErrorCode: "EntryTooLarge", ErrorMessage: fmt.Sprintf("%d bytes: %v", size, ErrEntryTooLarge)}})
	}
	return pending{id: id, entry: e, size: size}, nil
}

// EntrySize is an entry's size as EventBridge counts it against the
// request limit: 14 bytes for Time, and the UTF-8 bytes of Source,
// DetailType, Detail and each Resources entry.
func EntrySize(e types.PutEventsRequestEntry) int {
	n := 0
	if e.Time != nil {
		n += 14
	}
	n += len(aws.ToString(e.Source)) + len(aws.ToString(e.DetailType)) + len(aws.ToString(e.Detail))
	for _, r := range e.Resources {
		n += len(r)
	}
	return n
}

// batches groups entries into requests of at most PutEventsMaxEntries
// entries and PutEventsMaxBytes bytes, in order.
func batches(entries []pending) [][]pending {
	var out [][]pending
	var cur []pending
	size := 0
	for _, e := range entries {
		if len(cur) == PutEventsMaxEntries || len(cur) > 0 && size+e.size > PutEventsMaxBytes {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, e)
		size += e.size
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// send publishes entries, retrying the ones PutEvents reports as failed
// (and whole requests that fail) with exponential backoff. It returns the
// number accepted.
func (p *Publisher) send(ctx context.Context, entries []pending) (int, error) {
	accepted := 0
	var failed []finding.Undelivered
	var errs []error
	todo := entries
	wait := p.opts.Backoff
	for attempt := 1; len(todo) > 0; attempt++ {
		var retry []pending
		failed = failed[:0]
		for _, batch := range batches(todo) {
			in := &eventbridge.PutEventsInput{}
			for _, e := range batch {
				in.Entries = append(in.Entries, e.entry)
			}
			out, err := p.client.PutEvents(ctx, in)
			if err != nil {
				retry = append(retry, batch...)
				for _, e := range batch {
					failed = append(failed, finding.Undelivered{ID: e.id, ErrorCode: "RequestFailed", ErrorMessage: err.Error()})
				}
				continue
			}
			for i, e := range batch {
				if i < len(out.Entries) && aws.ToString(out.Entries[i].ErrorCode) == "" && aws.ToString(out.Entries[i].EventId) != "" {
					accepted++
					if e.record != nil {
						if err := e.record(ctx); err != nil {
							errs = append(errs, fmt.Errorf("record status of %s: %w", e.id, err))
						}
					}
					continue
				}
				fe := finding.Undelivered{ID: e.id, ErrorCode: "MissingResult"}
				if i < len(out.Entries) {
					fe.ErrorCode = aws.ToString(out.Entries[i].ErrorCode)
					fe.ErrorMessage = aws.ToString(out.Entries[i].ErrorMessage)
				}
				failed = append(failed, fe)
				retry = append(retry, e)
			}
		}
		if len(retry) == 0 || attempt >= p.opts.MaxAttempts {
			break
		}
		if err := p.opts.Sleep(ctx, wait); err != nil {
			errs = append(errs, err)
			break
		}
		wait *= 2
		todo = retry
	}
	if len(failed) > 0 {
		errs = append(errs, publishError(append([]finding.Undelivered(nil), failed...)))
	}
	return accepted, joinPublishErrors(errs)
}

// joinPublishErrors merges the delivery errors among errs into one, so
// callers find every failed id with one errors.As.
func joinPublishErrors(errs []error) error {
	var merged *finding.DeliveryError
	var rest []error
	for _, err := range errs {
		if err == nil {
			continue
		}
		var pe *finding.DeliveryError
		if errors.As(err, &pe) {
			if merged == nil {
				merged = publishError(nil)
			}
			merged.Failed = append(merged.Failed, pe.Failed...)
			continue
		}
		rest = append(rest, err)
	}
	if merged != nil {
		rest = append([]error{merged}, rest...)
	}
	return errors.Join(rest...)
}
