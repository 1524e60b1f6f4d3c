package inventory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

var _ state.TrailStore = (*Live)(nil)

// Cache keys of the monitoring path.
func trailDescKey(arn string) string       { return "cloudtrail/desc/" + arn }
func trailStatusKey(arn string) string     { return "cloudtrail/status/" + arn }
func trailSelectorsKey(arn string) string  { return "cloudtrail/selectors/" + arn }
func trailListKey(acct, reg string) string { return "cloudtrail/list/" + acct + "/" + reg }
func ruleKey(arn string) string            { return "events/rule/" + arn }
func ruleTargetsKey(arn string) string     { return "events/targets/" + arn }
func filtersKey(acct, reg, group string) string {
	return "logs/filters/" + acct + "/" + reg + "/" + group
}
func filtersPrefix(acct, reg string) string { return "logs/filters/" + acct + "/" + reg + "/" }
func trailListPrefix(acct string) string    { return "cloudtrail/list/" + acct + "/" }
func isTrailARN(a arns.ARN) bool {
	return a.Service == "cloudtrail" && strings.HasPrefix(a.Resource, "trail/")
}
func isRuleARN(a arns.ARN) bool {
	return a.Service == "events" && strings.HasPrefix(a.Resource, "rule/")
}
func filterParts(a arns.ARN) (string, string, bool) {
	if a.Service != "logs" || !strings.HasPrefix(a.Resource, "log-group:") {
		return "", "", false
	}
	group, filter, ok := strings.Cut(strings.TrimPrefix(a.Resource, "log-group:"), ":subscription-filter:")
	return group, filter, ok && group != "" && filter != ""
}

type trailDescEntry struct {
	trail  *cttypes.Trail // nil: no such trail
	readAt time.Time
}

type trailStatusEntry struct {
	found, logging bool
}

type trailSelectorsEntry struct {
	found    bool
	level    string
	excluded []string
}

type ruleEntry struct {
	found   bool
	state   string
	bus     string
	name    string
	pattern string // "" when the rule has no event pattern
}

type targetsEntry struct {
	found bool
	ids   []string          // sorted
	arns  map[string]string // by id
}

type filtersEntry struct {
	groupFound bool
	names      []string          // sorted
	patterns   map[string]string // filter pattern by name
}

// trailBaseline is a trail as this store first read it.
type trailBaseline struct {
	multiRegion    *bool
	s3Bucket       string
	cloudWatchLogs string
}

// Trail reads a trail by ARN from its home region: DescribeTrails,
// GetTrailStatus and GetEventSelectors. A trail CloudTrail does not know is
// reported Deleted. An ARN that is not a trail's gives nil: the pipeline
// then asks Watched. The baseline (multi-region, S3 bucket) is the trail as
// this store first read it.
func (l *Live) Trail(ctx context.Context, arn string) (*state.Trail, error) {
	a, ok := arns.Parse(arn)
	if !ok || !isTrailARN(a) {
		return nil, nil
	}
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	if c.Trails == nil {
		return nil, fmt.Errorf("no CloudTrail client for account %s in %s", a.AccountID, a.Region)
	}
	d, err := l.trailDesc(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	t := &state.Trail{
		ARN: arn, Name: arns.ResourceID(arn), Account: a.AccountID, HomeRegion: a.Region,
		ExcludedSources: []string{}, Updated: d.readAt,
	}
	if d.trail == nil {
		t.Deleted = true
		return t, nil
	}
	tr := d.trail
	if n := aws.ToString(tr.Name); n != "" {
		t.Name = n
	}
	if h := aws.ToString(tr.HomeRegion); h != "" {
		t.HomeRegion = h
	}
	t.MultiRegion = copyBool(tr.IsMultiRegionTrail)
	t.IncludeGlobalEvents = copyBool(tr.IncludeGlobalServiceEvents)
	t.S3Bucket = aws.ToString(tr.S3BucketName)
	t.CloudWatchLogsLogGroupARN, t.CloudWatchLogsKnown = aws.ToString(tr.CloudWatchLogsLogGroupArn), true
	st, err := l.trailStatus(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	sel, err := l.trailSelectors(ctx, c, arn, aws.ToBool(tr.HasCustomEventSelectors))
	if err != nil {
		return nil, err
	}
	if !st.found || !sel.found {
		// Deleted between the reads.
		return &state.Trail{ARN: arn, Name: t.Name, Account: a.AccountID, HomeRegion: t.HomeRegion,
			ExcludedSources: []string{}, Deleted: true, Updated: d.readAt}, nil
	}
	t.Logging = state.LoggingOff
	if st.logging {
		t.Logging = state.LoggingOn
	}
	t.ManagementEvents, t.ExcludedSources = sel.level, slices.Clone(sel.excluded)
	b := l.trailBaseline(arn, trailBaseline{multiRegion: copyBool(t.MultiRegion), s3Bucket: t.S3Bucket, cloudWatchLogs: t.CloudWatchLogsLogGroupARN})
	t.BaselineMultiRegion, t.BaselineS3Bucket = copyBool(b.multiRegion), b.s3Bucket
	t.BaselineCloudWatchLogsLogGroupARN = b.cloudWatchLogs
	return t, nil
}

func copyBool(b *bool) *bool {
	if b == nil {
		return nil
	}
	v := *b
	return &v
}

// trailBaseline returns the first values recorded for a trail, recording
// now when there are none.
func (l *Live) trailBaseline(arn string, now trailBaseline) trailBaseline {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.trailBaselines[arn]; ok {
		if b.multiRegion == nil {
			b.multiRegion = now.multiRegion
		}
		if b.s3Bucket == "" {
			b.s3Bucket = now.s3Bucket
		}
		if b.cloudWatchLogs == "" {
			b.cloudWatchLogs = now.cloudWatchLogs
		}
		l.trailBaselines[arn] = b
		return b
	}
	l.trailBaselines[arn] = now
	return now
}

// ruleTargetBaseline returns the first ARN read for each of a rule's target
// ids, adding ids seen since (a target put later is part of the path too).
func (l *Live) ruleTargetBaseline(arn string, arns map[string]string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.ruleTargets[arn]
	if b == nil {
		b = map[string]string{}
		l.ruleTargets[arn] = b
	}
	for id, a := range arns {
		if _, ok := b[id]; !ok {
			b[id] = a
		}
	}
	return maps.Clone(b)
}

func (l *Live) trailDesc(ctx context.Context, c *Clients, arn string) (trailDescEntry, error) {
	v, err := l.cache.get(ctx, trailDescKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.Trails.DescribeTrails(ctx, &awscloudtrail.DescribeTrailsInput{TrailNameList: []string{arn}, IncludeShadowTrails: aws.Bool(true)})
		if err != nil {
			var nf *cttypes.TrailNotFoundException
			if errors.As(err, &nf) {
				return trailDescEntry{readAt: l.now()}, nil
			}
			return nil, callError("cloudtrail:DescribeTrails", arn, err)
		}
		e := trailDescEntry{readAt: l.now()}
		for i := range out.TrailList {
			if aws.ToString(out.TrailList[i].TrailARN) == arn {
				tr := out.TrailList[i]
				e.trail = &tr
			}
		}
		return e, nil
	})
	if err != nil {
		return trailDescEntry{}, err
	}
	return v.(trailDescEntry), nil
}

func (l *Live) trailStatus(ctx context.Context, c *Clients, arn string) (trailStatusEntry, error) {
	v, err := l.cache.get(ctx, trailStatusKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.Trails.GetTrailStatus(ctx, &awscloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
		if err != nil {
			var nf *cttypes.TrailNotFoundException
			if errors.As(err, &nf) {
				return trailStatusEntry{}, nil
			}
			return nil, callError("cloudtrail:GetTrailStatus", arn, err)
		}
		return trailStatusEntry{found: true, logging: aws.ToBool(out.IsLogging)}, nil
	})
	if err != nil {
		return trailStatusEntry{}, err
	}
	return v.(trailStatusEntry), nil
}

// defaultSelectors are the event selectors of a trail created without any:
// every management event, read and write.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
var defaultSelectors = []state.EventSelector{{ReadWriteType: "All", IncludeManagementEvents: aws.Bool(true)}}

// trailSelectors reads a trail's event selectors and judges them with
// state.ManagementEvents, as a PutEventSelectors record is judged. A trail
// that returns no selector and that DescribeTrails says has no custom ones
// logs the defaults.
func (l *Live) trailSelectors(ctx context.Context, c *Clients, arn string, custom bool) (trailSelectorsEntry, error) {
	v, err := l.cache.get(ctx, trailSelectorsKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.Trails.GetEventSelectors(ctx, &awscloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
		if err != nil {
			var nf *cttypes.TrailNotFoundException
			if errors.As(err, &nf) {
				return trailSelectorsEntry{}, nil
			}
			return nil, callError("cloudtrail:GetEventSelectors", arn, err)
		}
		classic, advanced := selectorsFrom(out)
		if len(classic) == 0 && advanced == nil && !custom {
			classic = defaultSelectors
		}
		level, excluded := state.ManagementEvents(classic, advanced)
		return trailSelectorsEntry{found: true, level: level, excluded: excluded}, nil
	})
	if err != nil {
		return trailSelectorsEntry{}, err
	}
	return v.(trailSelectorsEntry), nil
}

// selectorsFrom maps the SDK's selectors; advanced is nil when the trail
// uses classic selectors.
func selectorsFrom(out *awscloudtrail.GetEventSelectorsOutput) ([]state.EventSelector, []state.AdvancedEventSelector) {
	var classic []state.EventSelector
	for _, s := range out.EventSelectors {
		classic = append(classic, state.EventSelector{
			ReadWriteType:                 string(s.ReadWriteType),
			IncludeManagementEvents:       copyBool(s.IncludeManagementEvents),
			ExcludeManagementEventSources: slices.Clone(s.ExcludeManagementEventSources),
		})
	}
	var advanced []state.AdvancedEventSelector
	for _, s := range out.AdvancedEventSelectors {
		a := state.AdvancedEventSelector{Name: aws.ToString(s.Name)}
		for _, f := range s.FieldSelectors {
			a.FieldSelectors = append(a.FieldSelectors, state.FieldSelector{
				Field: aws.ToString(f.Field), Equals: f.Equals, NotEquals: f.NotEquals,
				StartsWith: f.StartsWith, NotStartsWith: f.NotStartsWith,
				EndsWith: f.EndsWith, NotEndsWith: f.NotEndsWith,
			})
		}
		advanced = append(advanced, a)
	}
	return classic, advanced
}

// Watched reads an EventBridge rule (DescribeRule, ListTargetsByRule) or a
// subscription filter (DescribeSubscriptionFilters of its log group) named by
// its identifier (state.SubscriptionFilterID; filter "*" is any filter on
// the group). One that no longer exists is WatchedDeleted. RemovedTargets
// are the targets this store saw on the rule earlier and no longer sees.
// Other identifiers give nil.
func (l *Live) Watched(ctx context.Context, arn string) (*state.Watched, error) {
	a, ok := arns.Parse(arn)
	if !ok {
		return nil, nil
	}
	if isRuleARN(a) {
		return l.eventRule(ctx, a, arn)
	}
	if group, filter, ok := filterParts(a); ok {
		return l.subscriptionFilter(ctx, a, arn, group, filter)
	}
	return nil, nil
}

// ruleName splits a rule ARN's resource: rule/NAME or rule/BUS/NAME.
func ruleName(a arns.ARN) (bus, name string) {
	rest := strings.TrimPrefix(a.Resource, "rule/")
	if i := strings.LastIndex(rest, "/"); i >= 0 {
		return rest[:i], rest[i+1:]
	}
	return "default", rest
}

func (l *Live) eventRule(ctx context.Context, a arns.ARN, arn string) (*state.Watched, error) {
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	if c.EventRules == nil {
		return nil, fmt.Errorf("no EventBridge client for account %s in %s", a.AccountID, a.Region)
	}
	bus, name := ruleName(a)
	w := &state.Watched{Kind: state.WatchedEventRule, ARN: arn, Name: name, Account: a.AccountID, Region: a.Region,
		EventBus: bus, RemovedTargets: []string{}, Updated: l.now()}
	r, err := l.ruleDesc(ctx, c, arn, bus, name)
	if err != nil {
		return nil, err
	}
	if !r.found {
		w.State = state.WatchedDeleted
		return w, nil
	}
	w.State = r.state
	cov := state.EventRuleCoverage(r.pattern, a.AccountID, a.Region)
	w.Pattern, w.PatternKnown, w.PatternError, w.Dropped = r.pattern, true, cov.Error, cov.Dropped
	targets, err := l.ruleTargetIDs(ctx, c, arn, bus, name)
	if err != nil {
		return nil, err
	}
	if !targets.found {
		return &state.Watched{Kind: state.WatchedEventRule, ARN: arn, Name: name, Account: a.AccountID, Region: a.Region,
			EventBus: bus, State: state.WatchedDeleted, RemovedTargets: []string{}, Updated: w.Updated}, nil
	}
	baseline := l.ruleTargetBaseline(arn, targets.arns)
	for _, id := range slices.Sorted(maps.Keys(baseline)) {
		if !slices.Contains(targets.ids, id) {
			w.RemovedTargets = append(w.RemovedTargets, id)
		}
	}
	if len(targets.arns) > 0 {
		w.Targets, w.BaselineTargets = maps.Clone(targets.arns), baseline
	}
	return w, nil
}

func (l *Live) ruleDesc(ctx context.Context, c *Clients, arn, bus, name string) (ruleEntry, error) {
	v, err := l.cache.get(ctx, ruleKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.EventRules.DescribeRule(ctx, &eventbridge.DescribeRuleInput{Name: aws.String(name), EventBusName: aws.String(bus)})
		if err != nil {
			var nf *ebtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return ruleEntry{}, nil
			}
			return nil, callError("events:DescribeRule", arn, err)
		}
		st := state.WatchedEnabled
		if out.State == ebtypes.RuleStateDisabled {
			st = state.WatchedDisabled
		}
		return ruleEntry{found: true, state: st, bus: aws.ToString(out.EventBusName), name: aws.ToString(out.Name),
			pattern: aws.ToString(out.EventPattern)}, nil
	})
	if err != nil {
		return ruleEntry{}, err
	}
	return v.(ruleEntry), nil
}

func (l *Live) ruleTargetIDs(ctx context.Context, c *Clients, arn, bus, name string) (targetsEntry, error) {
	v, err := l.cache.get(ctx, ruleTargetsKey(arn), func(ctx context.Context) (any, error) {
		e := targetsEntry{found: true, ids: []string{}, arns: map[string]string{}}
		// Limit: the largest page ListTargetsByRule allows (1 to 100).
		// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListTargetsByRule.html
		in := &eventbridge.ListTargetsByRuleInput{Rule: aws.String(name), EventBusName: aws.String(bus), Limit: aws.Int32(100)}
		for {
			out, err := c.EventRules.ListTargetsByRule(ctx, in)
			if err != nil {
				var nf *ebtypes.ResourceNotFoundException
				if errors.As(err, &nf) {
					return targetsEntry{}, nil
				}
				return nil, callError("events:ListTargetsByRule", arn, err)
			}
			for _, t := range out.Targets {
				e.ids = append(e.ids, aws.ToString(t.Id))
				e.arns[aws.ToString(t.Id)] = aws.ToString(t.Arn)
			}
			if aws.ToString(out.NextToken) == "" {
				break
			}
			in.NextToken = out.NextToken
		}
		slices.Sort(e.ids)
		return e, nil
	})
	if err != nil {
		return targetsEntry{}, err
	}
	return v.(targetsEntry), nil
}

func (l *Live) subscriptionFilter(ctx context.Context, a arns.ARN, arn, group, filter string) (*state.Watched, error) {
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	if c.Logs == nil {
		return nil, fmt.Errorf("no CloudWatch Logs client for account %s in %s", a.AccountID, a.Region)
	}
	f, err := l.groupFilters(ctx, c, a.AccountID, a.Region, group)
	if err != nil {
		return nil, err
	}
	w := &state.Watched{Kind: state.WatchedSubscriptionFilter, ARN: arn, Name: filter, Account: a.AccountID, Region: a.Region,
		LogGroup: group, State: state.WatchedDeleted, RemovedTargets: []string{}, Updated: l.now()}
	if filter == "*" && len(f.names) > 0 || slices.Contains(f.names, filter) {
		w.State = state.WatchedEnabled
	}
	w.LogGroupDeleted = !f.groupFound
	if p, ok := f.patterns[filter]; ok {
		cov := state.FilterCoverage(p, a.AccountID, a.Region)
		w.Pattern, w.PatternKnown, w.PatternError, w.Dropped = p, true, cov.Error, cov.Dropped
	}
	return w, nil
}

// groupFilters reads every subscription filter of a log group. The filter
// name prefix is not sent: names are matched exactly here.
func (l *Live) groupFilters(ctx context.Context, c *Clients, account, region, group string) (filtersEntry, error) {
	v, err := l.cache.get(ctx, filtersKey(account, region, group), func(ctx context.Context) (any, error) {
		e := filtersEntry{groupFound: true, names: []string{}, patterns: map[string]string{}}
		// Limit: the largest page DescribeSubscriptionFilters allows (1 to 50).
		// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeSubscriptionFilters.html
		p := cloudwatchlogs.NewDescribeSubscriptionFiltersPaginator(c.Logs, &cloudwatchlogs.DescribeSubscriptionFiltersInput{
			LogGroupName: aws.String(group), Limit: aws.Int32(50)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				var nf *logstypes.ResourceNotFoundException
				if errors.As(err, &nf) {
					return filtersEntry{names: []string{}}, nil
				}
				return nil, callError("logs:DescribeSubscriptionFilters", arns.New("logs", region, account, "log-group:"+group), err)
			}
			for _, f := range out.SubscriptionFilters {
				e.names = append(e.names, aws.ToString(f.FilterName))
				e.patterns[aws.ToString(f.FilterName)] = aws.ToString(f.FilterPattern)
			}
		}
		slices.Sort(e.names)
		return e, nil
	})
	if err != nil {
		return filtersEntry{}, err
	}
	return v.(filtersEntry), nil
}

// applyMonitoring handles a CloudTrail, EventBridge or CloudWatch Logs
// record: it finds the trail, rule or filter the record names as
// state.Memory does, drops the cached reads of it, and reports it touched.
// Facts are read again when the resource is evaluated.
func (l *Live) applyMonitoring(ctx context.Context, rec *cloudtrail.Record) (state.Change, error) {
	ch, err := state.NewMemory().Apply(ctx, rec)
	if err != nil {
		return state.Change{}, err
	}
	for _, ref := range ch.Touched {
		a, ok := arns.Parse(ref.ARN)
		if !ok {
			continue
		}
		switch {
		case isTrailARN(a):
			l.cache.invalidate(trailDescKey(ref.ARN), trailStatusKey(ref.ARN), trailSelectorsKey(ref.ARN))
			l.cache.invalidatePrefix(trailListPrefix(a.AccountID))
		case isRuleARN(a):
			l.cache.invalidate(ruleKey(ref.ARN), ruleTargetsKey(ref.ARN))
		default:
			if group, _, ok := filterParts(a); ok {
				l.cache.invalidate(filtersKey(a.AccountID, a.Region, group))
			}
		}
	}
	return ch, nil
}
