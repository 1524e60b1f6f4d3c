package state

// The monitoring path: the CloudTrail trails atrest's evidence comes from,
// and the EventBridge rules and CloudWatch Logs subscription filters that
// carry it to atrest. A compliance monitor must notice when someone turns its
// evidence off, so changes to these are records of interest like any other.
//
// All of them are resources of type TypeMonitoringPath. The policy engine
// judges one resource type per rule, and one rule
// (cloudtrail_monitoring_intact) judges the whole path, so an EventBridge
// rule or a subscription filter is a TypeMonitoringPath resource named by its
// own identifier: the rule's ARN, or
// "arn:<partition>:logs:<region>:<account>:log-group:<group>:subscription-filter:<filter>"
// for a filter, which has no ARN of its own (neither name may contain a colon,
// so the identifier is unambiguous).

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// Trail logging states.
const (
	LoggingOn  = "on"
	LoggingOff = "off"
)

// What a trail's event selectors log of write management events.
const (
	ManagementAll      = "all"
	ManagementReadOnly = "read_only"
	ManagementNone     = "none"
)

// Kinds and states of watched resources.
const (
	WatchedEventRule          = "event_rule"
	WatchedSubscriptionFilter = "subscription_filter"

	WatchedEnabled  = "ENABLED"
	WatchedDisabled = "DISABLED"
	WatchedDeleted  = "DELETED"
)

// MonitoredSources are the event sources whose write management events atrest
// judges, sorted. Event selectors that stop logging them blind it.
var MonitoredSources = []string{cloudtrail.SourceEFS, cloudtrail.SourceKMS}

// Trail is a CloudTrail trail as atrest knows it. Empty strings and nil
// pointers mean "not known".
type Trail struct {
	ARN        string `json:"arn"`
	Name       string `json:"name"`
	Account    string `json:"account"`
	HomeRegion string `json:"home_region"`
	// Logging is LoggingOn, LoggingOff or "" (unknown). CreateTrail leaves a
	// trail off until StartLogging.
	Logging             string `json:"logging,omitempty"`
	MultiRegion         *bool  `json:"multi_region"`
	IncludeGlobalEvents *bool  `json:"include_global_events"`
	S3Bucket            string `json:"s3_bucket,omitempty"`
	// BaselineMultiRegion and BaselineS3Bucket are the values of the
	// earliest record that set them: the trail as atrest first knew it.
	BaselineMultiRegion *bool  `json:"baseline_multi_region"`
	BaselineS3Bucket    string `json:"baseline_s3_bucket,omitempty"`
	// ManagementEvents is ManagementAll, ManagementReadOnly, ManagementNone
	// or "" (the event selectors were never seen).
	ManagementEvents string `json:"management_events,omitempty"`
	// ExcludedSources are the MonitoredSources whose write management events
	// the selectors do not log, when ManagementEvents is ManagementAll.
	ExcludedSources []string `json:"excluded_sources"`
	// CloudWatchLogsLogGroupARN is the log group the trail delivers to
	// ("" none); CloudWatchLogsKnown is false when no record or read said.
	// BaselineCloudWatchLogsLogGroupARN is the earliest one seen.
	CloudWatchLogsLogGroupARN         string    `json:"cloudwatch_logs_log_group_arn,omitempty"`
	CloudWatchLogsKnown               bool      `json:"cloudwatch_logs_known,omitempty"`
	BaselineCloudWatchLogsLogGroupARN string    `json:"baseline_cloudwatch_logs_log_group_arn,omitempty"`
	Deleted                           bool      `json:"deleted"`
	Updated                           time.Time `json:"updated"`

	baselineMultiRegionAt    time.Time
	baselineS3BucketAt       time.Time
	baselineCloudWatchLogsAt time.Time
}

// LogGroupName is the name in a log group ARN
// (arn:<partition>:logs:<region>:<account>:log-group:<name>[:*]), or "".
func LogGroupName(arn string) string {
	a, ok := arns.Parse(arn)
	if !ok || a.Service != "logs" || !strings.HasPrefix(a.Resource, "log-group:") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(a.Resource, "log-group:"), ":*")
}

// Known reports whether anything beyond the trail's name was ever seen.
func (t *Trail) Known() bool {
	return t.Logging != "" || t.MultiRegion != nil || t.IncludeGlobalEvents != nil ||
		t.S3Bucket != "" || t.ManagementEvents != "" || t.CloudWatchLogsKnown || t.Deleted
}

// Watched is an EventBridge rule or a CloudWatch Logs subscription filter on
// the monitoring path.
type Watched struct {
	Kind    string `json:"kind"` // WatchedEventRule or WatchedSubscriptionFilter
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// EventBus is the rule's event bus name ("default" when none was given).
	EventBus string `json:"event_bus,omitempty"`
	// LogGroup is the filter's log group name.
	LogGroup string `json:"log_group,omitempty"`
	// State is WatchedEnabled, WatchedDisabled, WatchedDeleted or "".
	State string `json:"state,omitempty"`
	// RemovedTargets are the ids of targets removed from the rule and not
	// put back since, sorted.
	RemovedTargets []string `json:"removed_targets"`
	// Targets maps the rule's target ids to their ARNs as last put or read;
	// BaselineTargets maps each id to the first ARN seen for it: the
	// target atrest expects (its function, when the rule is atrest's).
	Targets         map[string]string `json:"targets,omitempty"`
	BaselineTargets map[string]string `json:"baseline_targets,omitempty"`
	// Pattern is the rule's event pattern or the filter's filter pattern,
	// as last put or read; PatternKnown is false when none was seen.
	// PatternError and Dropped are its judgement (EventRuleCoverage,
	// FilterCoverage).
	Pattern      string    `json:"pattern,omitempty"`
	PatternKnown bool      `json:"pattern_known,omitempty"`
	PatternError string    `json:"pattern_error,omitempty"`
	Dropped      []Dropped `json:"dropped,omitempty"`
	// LogGroupDeleted is true when the filter's log group was deleted
	// (DeleteLogGroup) and no filter was put on it since.
	LogGroupDeleted bool      `json:"log_group_deleted,omitempty"`
	Updated         time.Time `json:"updated"`

	baselineTargetAt map[string]time.Time
}

// Retarget is a target of a watched rule that points elsewhere than the
// first ARN seen for its id.
type Retarget struct {
	ID       string `json:"id"`
	ARN      string `json:"arn"`
	Expected string `json:"expected"`
}

// Retargeted lists the rule's re-pointed targets, sorted by id.
func (w *Watched) Retargeted() []Retarget {
	out := []Retarget{}
	for _, id := range slices.Sorted(maps.Keys(w.Targets)) {
		if b, ok := w.BaselineTargets[id]; ok && b != w.Targets[id] {
			out = append(out, Retarget{ID: id, ARN: w.Targets[id], Expected: b})
		}
	}
	return out
}

// setPattern records a pattern and its judgement.
func (w *Watched) setPattern(pattern string, cov Coverage) {
	w.Pattern, w.PatternKnown, w.PatternError, w.Dropped = pattern, true, cov.Error, cov.Dropped
}

// TrailStore is a Store that also models the monitoring path.
type TrailStore interface {
	Store
	// Trail returns a trail by ARN, or nil when unknown.
	Trail(ctx context.Context, arn string) (*Trail, error)
	// Watched returns a watched resource by its identifier, or nil.
	Watched(ctx context.Context, arn string) (*Watched, error)
}

var _ TrailStore = (*Memory)(nil)

// MonitoringSource reports whether records of an event source change the
// monitoring path rather than file systems or keys.
func MonitoringSource(source string) bool {
	switch source {
	case cloudtrail.SourceCloudTrail, cloudtrail.SourceEvents, cloudtrail.SourceLogs:
		return true
	}
	return false
}

// WithTrails returns s when it models the monitoring path, and otherwise a
// store that applies monitoring records to an in-memory model of the path and
// every other record to s. A live store reads file systems and keys from
// AWS; the path it cannot read is then known from events alone.
func WithTrails(s Store) TrailStore {
	if ts, ok := s.(TrailStore); ok {
		return ts
	}
	return &withTrails{Store: s, path: NewMemory()}
}

type withTrails struct {
	Store
	path *Memory
}

func (w *withTrails) Apply(ctx context.Context, rec *cloudtrail.Record) (Change, error) {
	if MonitoringSource(rec.EventSource) {
		return w.path.Apply(ctx, rec)
	}
	return w.Store.Apply(ctx, rec)
}

func (w *withTrails) Trail(ctx context.Context, arn string) (*Trail, error) {
	return w.path.Trail(ctx, arn)
}

func (w *withTrails) Watched(ctx context.Context, arn string) (*Watched, error) {
	return w.path.Watched(ctx, arn)
}

// Trail returns a copy of a trail, or nil when unknown.
func (m *Memory) Trail(_ context.Context, arn string) (*Trail, error) {
	t, ok := m.trails[arn]
	if !ok {
		return nil, nil
	}
	c := *t
	c.ExcludedSources = slices.Clone(t.ExcludedSources)
	return &c, nil
}

// Watched returns a copy of a watched resource, or nil when unknown.
func (m *Memory) Watched(_ context.Context, arn string) (*Watched, error) {
	w, ok := m.watched[arn]
	if !ok {
		return nil, nil
	}
	c := *w
	c.RemovedTargets = slices.Clone(w.RemovedTargets)
	c.Targets, c.BaselineTargets = maps.Clone(w.Targets), maps.Clone(w.BaselineTargets)
	c.Dropped = slices.Clone(w.Dropped)
	c.baselineTargetAt = nil
	return &c, nil
}

// TrailRefs lists every trail and watched resource in the store, sorted.
func (m *Memory) TrailRefs() []ResourceRef {
	var out []ResourceRef
	for _, arn := range slices.Sorted(maps.Keys(m.trails)) {
		out = append(out, ResourceRef{TypeMonitoringPath, arn})
	}
	for _, arn := range slices.Sorted(maps.Keys(m.watched)) {
		out = append(out, ResourceRef{TypeMonitoringPath, arn})
	}
	return out
}

// Request and response shapes, as the CloudTrail, EventBridge and CloudWatch
// Logs API references define them and CloudTrail records them (camelCase).
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PutEventSelectors.html
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemoveTargets.html
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html

type trailParams struct {
	// Name is a trail name or ARN (Create/Update/DeleteTrail,
	// Start/StopLogging); TrailName the same for the selector calls.
	Name                       string                  `json:"name"`
	TrailName                  string                  `json:"trailName"`
	TrailARN                   string                  `json:"trailARN"`
	S3BucketName               *string                 `json:"s3BucketName"`
	IsMultiRegionTrail         *bool                   `json:"isMultiRegionTrail"`
	IncludeGlobalServiceEvents *bool                   `json:"includeGlobalServiceEvents"`
	EventSelectors             []EventSelector         `json:"eventSelectors"`
	AdvancedEventSelectors     []AdvancedEventSelector `json:"advancedEventSelectors"`
	CloudWatchLogsLogGroupARN  *string                 `json:"cloudWatchLogsLogGroupArn"`
}

// EventSelector is a classic event selector, in the shape CloudTrail
// records it and GetEventSelectors returns it (the management-event fields
// only).
type EventSelector struct {
	ReadWriteType                 string   `json:"readWriteType"`
	IncludeManagementEvents       *bool    `json:"includeManagementEvents"`
	ExcludeManagementEventSources []string `json:"excludeManagementEventSources"`
}

// AdvancedEventSelector is an advanced event selector.
type AdvancedEventSelector struct {
	Name           string          `json:"name"`
	FieldSelectors []FieldSelector `json:"fieldSelectors"`
}

// FieldSelector is one field condition of an advanced event selector.
type FieldSelector struct {
	Field         string   `json:"field"`
	Equals        []string `json:"equals"`
	NotEquals     []string `json:"notEquals"`
	StartsWith    []string `json:"startsWith"`
	NotStartsWith []string `json:"notStartsWith"`
	EndsWith      []string `json:"endsWith"`
	NotEndsWith   []string `json:"notEndsWith"`
}

type eventRuleParams struct {
	Name         string   `json:"name"`
	Rule         string   `json:"rule"` // RemoveTargets, PutTargets
	EventBusName string   `json:"eventBusName"`
	State        string   `json:"state"`
	RuleARN      string   `json:"ruleArn"`
	EventPattern *string  `json:"eventPattern"`
	IDs          []string `json:"ids"`
	Targets      []struct {
		ID  string `json:"id"`
		ARN string `json:"arn"`
	} `json:"targets"`
	FailedEntries []struct {
		TargetID string `json:"targetId"`
	} `json:"failedEntries"`
}

type subscriptionFilterParams struct {
	LogGroupName  string  `json:"logGroupName"`
	FilterName    string  `json:"filterName"`
	FilterPattern *string `json:"filterPattern"`
}

// applyMonitoring applies a CloudTrail, EventBridge or CloudWatch Logs record.
func (m *Memory) applyMonitoring(rec *cloudtrail.Record) (Change, error) {
	switch rec.EventSource {
	case cloudtrail.SourceCloudTrail:
		return m.applyTrail(rec)
	case cloudtrail.SourceEvents:
		return m.applyEventRule(rec)
	default:
		if rec.EventName == cloudtrail.EventDeleteLogGroup {
			return m.applyDeleteLogGroup(rec)
		}
		return m.applySubscriptionFilter(rec)
	}
}

func (m *Memory) applyTrail(rec *cloudtrail.Record) (Change, error) {
	var req, resp trailParams
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	ref := first(resp.TrailARN, req.Name, req.TrailName, resp.Name)
	if ref == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.name missing", ErrBadRecord)
	}
	t := m.trailFor(rec, ref)
	at := rec.EventTime
	// Values the response reports are what the trail now is; the request
	// only says what the caller asked for.
	bucket := firstPtr(resp.S3BucketName, req.S3BucketName)
	multi := firstPtr(resp.IsMultiRegionTrail, req.IsMultiRegionTrail)
	global := firstPtr(resp.IncludeGlobalServiceEvents, req.IncludeGlobalServiceEvents)
	switch rec.EventName {
	case cloudtrail.EventCreateTrail:
		if m.newer(t.ARN, "deleted", at) {
			t.Deleted = false
		}
		m.setLogging(t, LoggingOff, at)
		// A new trail logs every management event, from one region, with
		// global service events, unless the call says otherwise.
		if multi == nil {
			multi = new(bool)
		}
		if global == nil {
			global = ptr(true)
		}
		if m.newer(t.ARN, "selectors", at) {
			t.ManagementEvents, t.ExcludedSources = ManagementAll, []string{}
		}
	case cloudtrail.EventDeleteTrail:
		if m.newer(t.ARN, "deleted", at) {
			t.Deleted = true
		}
	case cloudtrail.EventStartLogging:
		m.setLogging(t, LoggingOn, at)
	case cloudtrail.EventStopLogging:
		m.setLogging(t, LoggingOff, at)
	case cloudtrail.EventPutEventSelectors:
		sel := req
		if sel.EventSelectors == nil && sel.AdvancedEventSelectors == nil {
			sel = resp
		}
		if sel.EventSelectors == nil && sel.AdvancedEventSelectors == nil {
			return Change{}, fmt.Errorf("%w: requestParameters has neither eventSelectors nor advancedEventSelectors", ErrBadRecord)
		}
		level, excluded := ManagementEvents(sel.EventSelectors, sel.AdvancedEventSelectors)
		if m.newer(t.ARN, "selectors", at) {
			t.ManagementEvents, t.ExcludedSources = level, excluded
		}
	}
	if rec.EventName == cloudtrail.EventCreateTrail || rec.EventName == cloudtrail.EventUpdateTrail {
		if bucket != nil && *bucket != "" {
			if m.newer(t.ARN, "s3_bucket", at) {
				t.S3Bucket = *bucket
			}
			if t.BaselineS3Bucket == "" || at.Before(t.baselineS3BucketAt) {
				t.BaselineS3Bucket, t.baselineS3BucketAt = *bucket, at
			}
		}
		if multi != nil {
			if m.newer(t.ARN, "multi_region", at) {
				t.MultiRegion = ptr(*multi)
			}
			if t.BaselineMultiRegion == nil || at.Before(t.baselineMultiRegionAt) {
				t.BaselineMultiRegion, t.baselineMultiRegionAt = ptr(*multi), at
			}
		}
		if global != nil && m.newer(t.ARN, "include_global_events", at) {
			t.IncludeGlobalEvents = ptr(*global)
		}
		// CreateTrail without a log group delivers to none; UpdateTrail
		// changes the delivery only when the request names it ("" removes it).
		cw := firstPtr(req.CloudWatchLogsLogGroupARN, resp.CloudWatchLogsLogGroupARN)
		if cw == nil && rec.EventName == cloudtrail.EventCreateTrail {
			cw = ptr("")
		}
		if cw != nil {
			if m.newer(t.ARN, "cloudwatch_logs", at) {
				t.CloudWatchLogsLogGroupARN, t.CloudWatchLogsKnown = *cw, true
			}
			if *cw != "" && (t.BaselineCloudWatchLogsLogGroupARN == "" || at.Before(t.baselineCloudWatchLogsAt)) {
				t.BaselineCloudWatchLogsLogGroupARN, t.baselineCloudWatchLogsAt = *cw, at
			}
		}
	}
	if at.After(t.Updated) {
		t.Updated = at
	}
	return Change{Touched: []ResourceRef{{TypeMonitoringPath, t.ARN}}}, nil
}

func (m *Memory) setLogging(t *Trail, state string, at time.Time) {
	if m.newer(t.ARN, "logging", at) {
		t.Logging = state
	}
}

// trailFor finds or adds the trail a record names by ARN or by name. A name
// is looked up among the account's trails, preferring the record's region;
// an unknown name is a trail in the record's region.
func (m *Memory) trailFor(rec *cloudtrail.Record, ref string) *Trail {
	account, region := rec.Account(), rec.AWSRegion
	arn := ""
	if a, ok := arns.Parse(ref); ok {
		arn = ref
		account, region = a.AccountID, a.Region
	} else {
		var match *Trail
		for _, t := range m.trails {
			if t.Account == account && t.Name == ref && (match == nil || t.HomeRegion == region || match.HomeRegion != region && t.ARN < match.ARN) {
				match = t
			}
		}
		if match != nil {
			return match
		}
		arn = arns.New("cloudtrail", region, account, "trail/"+ref)
	}
	if t, ok := m.trails[arn]; ok {
		return t
	}
	t := &Trail{ARN: arn, Name: arns.ResourceID(arn), Account: account, HomeRegion: region}
	m.trails[arn] = t
	return t
}

// ManagementEvents reads what event selectors log of write management
// events, and which MonitoredSources they leave out. Classic selectors log a
// source when one includes management events that are not read-only and does
// not exclude the source; advanced selectors when one's field selectors
// match eventCategory Management, readOnly false and the source (a field
// without conditions matches everything; other fields are not read). It
// returns ManagementAll, ManagementReadOnly or ManagementNone, and with
// ManagementAll the sorted sources left out (never nil). A nil advanced
// list means the trail uses classic selectors.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
func ManagementEvents(classic []EventSelector, advanced []AdvancedEventSelector) (string, []string) {
	anyManagement, anyWrite := false, false
	var logs func(source string) bool
	if advanced != nil {
		for _, s := range advanced {
			if matches(s.FieldSelectors, "eventCategory", "Management") {
				anyManagement = true
				if matches(s.FieldSelectors, "readOnly", "false") {
					anyWrite = true
				}
			}
		}
		logs = func(source string) bool {
			for _, s := range advanced {
				if matches(s.FieldSelectors, "eventCategory", "Management") && matches(s.FieldSelectors, "readOnly", "false") &&
					matches(s.FieldSelectors, "eventSource", source) {
					return true
				}
			}
			return false
		}
	} else {
		for _, s := range classic {
			if s.IncludeManagementEvents == nil || *s.IncludeManagementEvents {
				anyManagement = true
				if s.ReadWriteType != "ReadOnly" {
					anyWrite = true
				}
			}
		}
		logs = func(source string) bool {
			for _, s := range classic {
				if (s.IncludeManagementEvents == nil || *s.IncludeManagementEvents) && s.ReadWriteType != "ReadOnly" &&
					!slices.Contains(s.ExcludeManagementEventSources, source) {
					return true
				}
			}
			return false
		}
	}
	switch {
	case !anyManagement:
		return ManagementNone, []string{}
	case !anyWrite:
		return ManagementReadOnly, []string{}
	}
	excluded := []string{}
	for _, source := range MonitoredSources {
		if !logs(source) {
			excluded = append(excluded, source)
		}
	}
	return ManagementAll, excluded
}

// matches reports whether every field selector on field accepts value.
func matches(selectors []FieldSelector, field, value string) bool {
	for _, f := range selectors {
		if f.Field != field {
			continue
		}
		if f.Equals != nil && !slices.Contains(f.Equals, value) ||
			slices.Contains(f.NotEquals, value) ||
			f.StartsWith != nil && !slices.ContainsFunc(f.StartsWith, func(p string) bool { return strings.HasPrefix(value, p) }) ||
			slices.ContainsFunc(f.NotStartsWith, func(p string) bool { return strings.HasPrefix(value, p) }) ||
			f.EndsWith != nil && !slices.ContainsFunc(f.EndsWith, func(p string) bool { return strings.HasSuffix(value, p) }) ||
			slices.ContainsFunc(f.NotEndsWith, func(p string) bool { return strings.HasSuffix(value, p) }) {
			return false
		}
	}
	return true
}

func (m *Memory) applyEventRule(rec *cloudtrail.Record) (Change, error) {
	var req, resp eventRuleParams
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	name := first(req.Name, req.Rule)
	if name == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.name missing", ErrBadRecord)
	}
	bus := req.EventBusName
	if a, ok := arns.Parse(bus); ok {
		bus = strings.TrimPrefix(a.Resource, "event-bus/")
	}
	if bus == "" {
		bus = "default"
	}
	arn := resp.RuleARN
	if arn == "" {
		res := "rule/" + name
		if bus != "default" {
			res = "rule/" + bus + "/" + name
		}
		arn = arns.New("events", rec.AWSRegion, rec.Account(), res)
	}
	w := m.watchedFor(arn, WatchedEventRule, name, rec)
	w.EventBus = bus
	at := rec.EventTime
	failed := map[string]bool{}
	for _, f := range resp.FailedEntries {
		failed[f.TargetID] = true
	}
	switch rec.EventName {
	case cloudtrail.EventPutRule:
		// PutRule creates or replaces the rule; a state not given is ENABLED.
		state := WatchedEnabled
		if req.State == WatchedDisabled {
			state = WatchedDisabled
		}
		m.setWatchedState(w, state, at)
		if m.newer(arn, "pattern", at) {
			pattern := ""
			if req.EventPattern != nil {
				pattern = *req.EventPattern
			}
			w.setPattern(pattern, EventRuleCoverage(pattern, w.Account, w.Region))
		}
	case cloudtrail.EventDeleteRule:
		m.setWatchedState(w, WatchedDeleted, at)
	case cloudtrail.EventDisableRule:
		m.setWatchedState(w, WatchedDisabled, at)
	case cloudtrail.EventEnableRule:
		m.setWatchedState(w, WatchedEnabled, at)
	case cloudtrail.EventRemoveTargets:
		for _, id := range req.IDs {
			if !failed[id] && m.newer(arn, "target#"+id, at) {
				delete(w.Targets, id)
				if !slices.Contains(w.RemovedTargets, id) {
					w.RemovedTargets = append(w.RemovedTargets, id)
				}
			}
		}
		slices.Sort(w.RemovedTargets)
	case cloudtrail.EventPutTargets:
		for _, t := range req.Targets {
			if failed[t.ID] {
				continue
			}
			if m.newer(arn, "target#"+t.ID, at) {
				w.RemovedTargets = slices.DeleteFunc(w.RemovedTargets, func(id string) bool { return id == t.ID })
				if t.ARN != "" {
					w.Targets = setKey(w.Targets, t.ID, t.ARN)
				}
			}
			if t.ARN != "" {
				if last, ok := w.baselineTargetAt[t.ID]; !ok || at.Before(last) {
					w.BaselineTargets = setKey(w.BaselineTargets, t.ID, t.ARN)
					if w.baselineTargetAt == nil {
						w.baselineTargetAt = map[string]time.Time{}
					}
					w.baselineTargetAt[t.ID] = at
				}
			}
		}
	}
	return Change{Touched: []ResourceRef{{TypeMonitoringPath, w.ARN}}}, nil
}

func (m *Memory) applySubscriptionFilter(rec *cloudtrail.Record) (Change, error) {
	var req subscriptionFilterParams
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	if req.LogGroupName == "" || req.FilterName == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.logGroupName or filterName missing", ErrBadRecord)
	}
	arn := SubscriptionFilterID(rec.AWSRegion, rec.Account(), req.LogGroupName, req.FilterName)
	w := m.watchedFor(arn, WatchedSubscriptionFilter, req.FilterName, rec)
	w.LogGroup = req.LogGroupName
	at := rec.EventTime
	ch := Change{Touched: []ResourceRef{{TypeMonitoringPath, w.ARN}}}
	state := WatchedEnabled
	if rec.EventName == cloudtrail.EventDeleteSubscriptionFilter {
		state = WatchedDeleted
	}
	m.setWatchedState(w, state, at)
	if rec.EventName == cloudtrail.EventPutSubscriptionFilter {
		// The filter pattern is required; an empty one passes everything.
		pattern := ""
		if req.FilterPattern != nil {
			pattern = *req.FilterPattern
		}
		if m.newer(arn, "pattern", at) {
			w.setPattern(pattern, FilterCoverage(pattern, w.Account, w.Region))
		}
		// A filter put on the group shows the group exists again.
		groupID := SubscriptionFilterID(w.Region, w.Account, w.LogGroup, "*")
		for _, g := range []*Watched{w, m.watched[groupID]} {
			if g != nil && m.newer(g.ARN, "log_group", at) {
				g.LogGroupDeleted = false
				if g != w && g.State == WatchedDeleted && m.newer(g.ARN, "state", at) {
					g.State = WatchedEnabled
					ch.Touched = append(ch.Touched, ResourceRef{TypeMonitoringPath, g.ARN})
				}
			}
		}
	}
	return ch, nil
}

// applyDeleteLogGroup marks every filter known on the group deleted with
// it; when none is known, the group's "*" filter stands for them.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html
func (m *Memory) applyDeleteLogGroup(rec *cloudtrail.Record) (Change, error) {
	var req subscriptionFilterParams
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	if req.LogGroupName == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.logGroupName missing", ErrBadRecord)
	}
	account, region := rec.Account(), rec.AWSRegion
	var hit []*Watched
	for _, w := range m.watched {
		if w.Kind == WatchedSubscriptionFilter && w.LogGroup == req.LogGroupName && w.Account == account && w.Region == region {
			hit = append(hit, w)
		}
	}
	if len(hit) == 0 {
		arn := SubscriptionFilterID(region, account, req.LogGroupName, "*")
		w := m.watchedFor(arn, WatchedSubscriptionFilter, "*", rec)
		w.LogGroup = req.LogGroupName
		hit = append(hit, w)
	}
	slices.SortFunc(hit, func(a, b *Watched) int { return strings.Compare(a.ARN, b.ARN) })
	var ch Change
	for _, w := range hit {
		if rec.EventTime.After(w.Updated) {
			w.Updated = rec.EventTime
		}
		m.setWatchedState(w, WatchedDeleted, rec.EventTime)
		if m.newer(w.ARN, "log_group", rec.EventTime) {
			w.LogGroupDeleted = true
		}
		ch.Touched = append(ch.Touched, ResourceRef{TypeMonitoringPath, w.ARN})
	}
	return ch, nil
}

func setKey(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

// SubscriptionFilterID is atrest's identifier for a subscription filter, which
// has no ARN: the log group's ARN with ":subscription-filter:<filter>".
func SubscriptionFilterID(region, account, logGroup, filter string) string {
	return arns.New("logs", region, account, "log-group:"+logGroup+":subscription-filter:"+filter)
}

func (m *Memory) watchedFor(arn, kind, name string, rec *cloudtrail.Record) *Watched {
	w, ok := m.watched[arn]
	if !ok {
		w = &Watched{Kind: kind, ARN: arn, Name: name, Account: rec.Account(), Region: rec.AWSRegion, RemovedTargets: []string{}}
		if a, ok := arns.Parse(arn); ok {
			w.Account, w.Region = a.AccountID, a.Region
		}
		m.watched[arn] = w
	}
	if rec.EventTime.After(w.Updated) {
		w.Updated = rec.EventTime
	}
	return w
}

func (m *Memory) setWatchedState(w *Watched, state string, at time.Time) {
	if m.newer(w.ARN, "state", at) {
		w.State = state
	}
}

func firstPtr[T any](vals ...*T) *T {
	for _, v := range vals {
		if v != nil {
			return v
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
