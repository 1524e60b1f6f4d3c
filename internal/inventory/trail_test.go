package inventory

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

const otherRegion = "us-west-2"

// What the fakes return: the CloudWatch Logs log group of trail "org", the
// target ARN of a rule's targets, atrest's KMS rule pattern and the
// template's subscription filter pattern.
var (
	orgLogGroup    = "arn:aws:logs:" + testRegion + ":" + testAccount + ":log-group:aws-cloudtrail-logs:*"
	fnTarget       = "arn:aws:lambda:" + testRegion + ":" + testAccount + ":function:atrest-trail-events"
	kmsPattern     = `{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail","AWS Service Event via CloudTrail"],"detail":{"eventSource":["kms.amazonaws.com"],"eventName":[{"anything-but":"Decrypt"}]}}`
	templateFilter = `{ ($.eventSource = "kms.amazonaws.com") || ($.eventSource = "elasticfilesystem.amazonaws.com") || ($.eventSource = "cloudtrail.amazonaws.com") || ($.eventSource = "events.amazonaws.com") || ($.eventSource = "logs.amazonaws.com") }`
)

var (
	trailOrg   = "arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/org"
	trailAudit = "arn:aws:cloudtrail:" + otherRegion + ":" + testAccount + ":trail/audit"
	ruleARN    = "arn:aws:events:" + testRegion + ":" + testAccount + ":rule/atrest-trail-events"
	filterID   = state.SubscriptionFilterID(testRegion, testAccount, "aws-cloudtrail-logs", "atrest")
)

type fakeTrail struct {
	desc      cttypes.Trail
	logging   bool
	selectors *awscloudtrail.GetEventSelectorsOutput
}

// fakeTrails serves trails by ARN; a multi-region trail is listed in every
// region, as a shadow trail outside its home region.
type fakeTrails struct {
	counts
	deny   deny
	region string
	trails map[string]*fakeTrail
	block  chan struct{}
}

func (f *fakeTrails) trail(ref *string) (*fakeTrail, error) {
	if t := f.trails[aws.ToString(ref)]; t != nil {
		return t, nil
	}
	return nil, &cttypes.TrailNotFoundException{Message: aws.String("Unknown trail: " + aws.ToString(ref))}
}

func (f *fakeTrails) DescribeTrails(ctx context.Context, in *awscloudtrail.DescribeTrailsInput, _ ...func(*awscloudtrail.Options)) (*awscloudtrail.DescribeTrailsOutput, error) {
	f.add("DescribeTrails")
	if err := f.deny.check("DescribeTrails"); err != nil {
		return nil, err
	}
	out := &awscloudtrail.DescribeTrailsOutput{}
	for _, arn := range slices.Sorted(func(yield func(string) bool) {
		for k := range f.trails {
			if !yield(k) {
				return
			}
		}
	}) {
		t := f.trails[arn]
		if len(in.TrailNameList) > 0 && !slices.Contains(in.TrailNameList, arn) {
			continue
		}
		if len(in.TrailNameList) == 0 && aws.ToString(t.desc.HomeRegion) != f.region && !aws.ToBool(t.desc.IsMultiRegionTrail) {
			continue
		}
		out.TrailList = append(out.TrailList, t.desc)
	}
	return out, nil
}

func (f *fakeTrails) GetTrailStatus(ctx context.Context, in *awscloudtrail.GetTrailStatusInput, _ ...func(*awscloudtrail.Options)) (*awscloudtrail.GetTrailStatusOutput, error) {
	f.add("GetTrailStatus")
	if f.block != nil {
		<-f.block
	}
	if err := f.deny.check("GetTrailStatus"); err != nil {
		return nil, err
	}
	t, err := f.trail(in.Name)
	if err != nil {
		return nil, err
	}
	return &awscloudtrail.GetTrailStatusOutput{IsLogging: aws.Bool(t.logging)}, nil
}

func (f *fakeTrails) GetEventSelectors(ctx context.Context, in *awscloudtrail.GetEventSelectorsInput, _ ...func(*awscloudtrail.Options)) (*awscloudtrail.GetEventSelectorsOutput, error) {
	f.add("GetEventSelectors")
	if err := f.deny.check("GetEventSelectors"); err != nil {
		return nil, err
	}
	t, err := f.trail(in.TrailName)
	if err != nil {
		return nil, err
	}
	if t.selectors == nil {
		return &awscloudtrail.GetEventSelectorsOutput{TrailARN: in.TrailName}, nil
	}
	return t.selectors, nil
}

type fakeRule struct {
	state   ebtypes.RuleState
	pattern string
	targets []string
	arns    map[string]string // target ARN by id; default fnTarget
}

// fakeRules serves the default bus's rules by name.
type fakeRules struct {
	counts
	deny  deny
	rules map[string]*fakeRule
}

func (f *fakeRules) DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error) {
	f.add("DescribeRule")
	if err := f.deny.check("DescribeRule"); err != nil {
		return nil, err
	}
	r := f.rules[aws.ToString(in.Name)]
	if r == nil || aws.ToString(in.EventBusName) != "default" {
		return nil, &ebtypes.ResourceNotFoundException{Message: aws.String("Rule " + aws.ToString(in.Name) + " does not exist.")}
	}
	out := &eventbridge.DescribeRuleOutput{Name: in.Name, State: r.state, EventBusName: in.EventBusName}
	if r.pattern != "" {
		out.EventPattern = aws.String(r.pattern)
	}
	return out, nil
}

func (f *fakeRules) ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, _ ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error) {
	f.add("ListTargetsByRule")
	if err := f.deny.check("ListTargetsByRule"); err != nil {
		return nil, err
	}
	// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_ListTargetsByRule.html
	if aws.ToInt32(in.Limit) != 100 {
		return nil, fmt.Errorf("ListTargetsByRule Limit %d, not the largest page (100)", aws.ToInt32(in.Limit))
	}
	r := f.rules[aws.ToString(in.Rule)]
	if r == nil {
		return nil, &ebtypes.ResourceNotFoundException{Message: aws.String("Rule does not exist.")}
	}
	// One target a page, to exercise the pagination.
	i := 0
	if in.NextToken != nil {
		i = int((*in.NextToken)[0] - '0')
	}
	out := &eventbridge.ListTargetsByRuleOutput{}
	if i < len(r.targets) {
		arn := fnTarget
		if a, ok := r.arns[r.targets[i]]; ok {
			arn = a
		}
		out.Targets = []ebtypes.Target{{Id: aws.String(r.targets[i]), Arn: aws.String(arn)}}
	}
	if i+1 < len(r.targets) {
		out.NextToken = aws.String(string(rune('0' + i + 1)))
	}
	return out, nil
}

// fakeLogs serves subscription filters by log group.
type fakeLogs struct {
	counts
	deny     deny
	filters  map[string][]string // group -> filter names
	patterns map[string]string   // filter name -> filter pattern
}

func (f *fakeLogs) DescribeSubscriptionFilters(ctx context.Context, in *cloudwatchlogs.DescribeSubscriptionFiltersInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeSubscriptionFiltersOutput, error) {
	f.add("DescribeSubscriptionFilters")
	if err := f.deny.check("DescribeSubscriptionFilters"); err != nil {
		return nil, err
	}
	// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DescribeSubscriptionFilters.html
	if aws.ToInt32(in.Limit) != 50 {
		return nil, fmt.Errorf("DescribeSubscriptionFilters Limit %d, not the largest page (50)", aws.ToInt32(in.Limit))
	}
	names, ok := f.filters[aws.ToString(in.LogGroupName)]
	if !ok {
		return nil, &logstypes.ResourceNotFoundException{Message: aws.String("The specified log group does not exist.")}
	}
	out := &cloudwatchlogs.DescribeSubscriptionFiltersOutput{}
	for _, n := range names {
		out.SubscriptionFilters = append(out.SubscriptionFilters, logstypes.SubscriptionFilter{FilterName: aws.String(n), LogGroupName: in.LogGroupName,
			FilterPattern: aws.String(f.patterns[n])})
	}
	return out, nil
}

// regionSource serves per-region clients of the own account.
type regionSource struct {
	own     string
	clients map[string]*Clients
}

func (s *regionSource) OwnAccount(context.Context) (string, error) { return s.own, nil }

func (s *regionSource) Clients(_ context.Context, account, region string) (*Clients, error) {
	if account != s.own {
		return nil, ErrAccountNotMonitored
	}
	if c := s.clients[region]; c != nil {
		return c, nil
	}
	return nil, errors.New("no clients for region " + region)
}

type trailFixture struct {
	trails map[string]*fakeTrails // by region
	rules  map[string]*fakeRules
	logs   map[string]*fakeLogs
	clock  *fakeClock
	live   *Live
}

// newTrailFixture: a multi-region trail "org" at home in testRegion, a
// single-region trail "audit" in otherRegion that excludes KMS, an EventBridge
// rule with two targets and a subscription filter in testRegion.
func newTrailFixture(t *testing.T, watch Watch) *trailFixture {
	t.Helper()
	org := &fakeTrail{
		desc: cttypes.Trail{Name: aws.String("org"), TrailARN: aws.String(trailOrg), HomeRegion: aws.String(testRegion),
			IsMultiRegionTrail: aws.Bool(true), IncludeGlobalServiceEvents: aws.Bool(true), S3BucketName: aws.String("logs"),
			HasCustomEventSelectors: aws.Bool(false), CloudWatchLogsLogGroupArn: aws.String(orgLogGroup)},
		logging: true,
	}
	audit := &fakeTrail{
		desc: cttypes.Trail{Name: aws.String("audit"), TrailARN: aws.String(trailAudit), HomeRegion: aws.String(otherRegion),
			IsMultiRegionTrail: aws.Bool(false), IncludeGlobalServiceEvents: aws.Bool(false), S3BucketName: aws.String("audit-logs"),
			HasCustomEventSelectors: aws.Bool(true)},
		logging: true,
		selectors: &awscloudtrail.GetEventSelectorsOutput{EventSelectors: []cttypes.EventSelector{{
			ReadWriteType: cttypes.ReadWriteTypeAll, IncludeManagementEvents: aws.Bool(true),
			ExcludeManagementEventSources: []string{cloudtrail.SourceKMS},
		}}},
	}
	all := map[string]*fakeTrail{trailOrg: org, trailAudit: audit}
	f := &trailFixture{trails: map[string]*fakeTrails{}, rules: map[string]*fakeRules{}, logs: map[string]*fakeLogs{}, clock: &fakeClock{t: t0}}
	src := &regionSource{own: testAccount, clients: map[string]*Clients{}}
	for _, region := range []string{testRegion, otherRegion} {
		f.trails[region] = &fakeTrails{region: region, trails: all}
		f.rules[region] = &fakeRules{rules: map[string]*fakeRule{}}
		f.logs[region] = &fakeLogs{filters: map[string][]string{}}
		src.clients[region] = &Clients{Trails: f.trails[region], EventRules: f.rules[region], Logs: f.logs[region], KMS: &fakeKMS{}, EFS: &fakeEFS{}}
	}
	f.rules[testRegion].rules["atrest-trail-events"] = &fakeRule{state: ebtypes.RuleStateEnabled, pattern: kmsPattern, targets: []string{"fn", "queue"}}
	f.logs[testRegion].filters["aws-cloudtrail-logs"] = []string{"atrest", "other"}
	f.logs[testRegion].patterns = map[string]string{"atrest": templateFilter}
	f.live = NewLive(Options{Clients: src, TTL: time.Minute, Now: f.clock.Now, Watch: watch})
	return f
}

func TestTrailSnapshot(t *testing.T) {
	on, off := true, false
	tests := []struct {
		name   string
		change func(f *trailFixture)
		arn    string
		want   *state.Trail
	}{
		{
			name: "logging multi-region trail with the default selectors",
			arn:  trailOrg,
			want: &state.Trail{ARN: trailOrg, Name: "org", Account: testAccount, HomeRegion: testRegion, Logging: state.LoggingOn,
				MultiRegion: &on, IncludeGlobalEvents: &on, S3Bucket: "logs", BaselineMultiRegion: &on, BaselineS3Bucket: "logs",
				ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, CloudWatchLogsLogGroupARN: orgLogGroup, CloudWatchLogsKnown: true,
				BaselineCloudWatchLogsLogGroupARN: orgLogGroup, Updated: t0},
		},
		{
			name: "selectors excluding KMS, read in the trail's home region",
			arn:  trailAudit,
			want: &state.Trail{ARN: trailAudit, Name: "audit", Account: testAccount, HomeRegion: otherRegion, Logging: state.LoggingOn,
				MultiRegion: &off, IncludeGlobalEvents: &off, S3Bucket: "audit-logs", BaselineMultiRegion: &off, BaselineS3Bucket: "audit-logs",
				ManagementEvents: state.ManagementAll, ExcludedSources: []string{cloudtrail.SourceKMS}, CloudWatchLogsKnown: true, Updated: t0},
		},
		{
			name:   "logging stopped",
			arn:    trailOrg,
			change: func(f *trailFixture) { f.trails[testRegion].trails[trailOrg].logging = false },
			want: &state.Trail{ARN: trailOrg, Name: "org", Account: testAccount, HomeRegion: testRegion, Logging: state.LoggingOff,
				MultiRegion: &on, IncludeGlobalEvents: &on, S3Bucket: "logs", BaselineMultiRegion: &on, BaselineS3Bucket: "logs",
				ManagementEvents: state.ManagementAll, ExcludedSources: []string{}, CloudWatchLogsLogGroupARN: orgLogGroup, CloudWatchLogsKnown: true,
				BaselineCloudWatchLogsLogGroupARN: orgLogGroup, Updated: t0},
		},
		{
			name: "advanced selectors logging read-only management events",
			arn:  trailOrg,
			change: func(f *trailFixture) {
				f.trails[testRegion].trails[trailOrg].selectors = &awscloudtrail.GetEventSelectorsOutput{AdvancedEventSelectors: []cttypes.AdvancedEventSelector{{
					FieldSelectors: []cttypes.AdvancedFieldSelector{
						{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
						{Field: aws.String("readOnly"), Equals: []string{"true"}},
					},
				}}}
			},
			want: &state.Trail{ARN: trailOrg, Name: "org", Account: testAccount, HomeRegion: testRegion, Logging: state.LoggingOn,
				MultiRegion: &on, IncludeGlobalEvents: &on, S3Bucket: "logs", BaselineMultiRegion: &on, BaselineS3Bucket: "logs",
				ManagementEvents: state.ManagementReadOnly, ExcludedSources: []string{}, CloudWatchLogsLogGroupARN: orgLogGroup, CloudWatchLogsKnown: true,
				BaselineCloudWatchLogsLogGroupARN: orgLogGroup, Updated: t0},
		},
		{
			name: "custom selectors that are all gone log nothing",
			arn:  trailOrg,
			change: func(f *trailFixture) {
				f.trails[testRegion].trails[trailOrg].desc.HasCustomEventSelectors = aws.Bool(true)
			},
			want: &state.Trail{ARN: trailOrg, Name: "org", Account: testAccount, HomeRegion: testRegion, Logging: state.LoggingOn,
				MultiRegion: &on, IncludeGlobalEvents: &on, S3Bucket: "logs", BaselineMultiRegion: &on, BaselineS3Bucket: "logs",
				ManagementEvents: state.ManagementNone, ExcludedSources: []string{}, CloudWatchLogsLogGroupARN: orgLogGroup, CloudWatchLogsKnown: true,
				BaselineCloudWatchLogsLogGroupARN: orgLogGroup, Updated: t0},
		},
		{
			name: "a trail CloudTrail does not know is deleted",
			arn:  "arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/gone",
			want: &state.Trail{ARN: "arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/gone", Name: "gone", Account: testAccount,
				HomeRegion: testRegion, ExcludedSources: []string{}, Deleted: true, Updated: t0},
		},
		{name: "a rule ARN is not a trail", arn: ruleARN, want: nil},
		{name: "not an ARN", arn: "org", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrailFixture(t, Watch{})
			if tc.change != nil {
				tc.change(f)
			}
			got, err := f.live.Trail(context.Background(), tc.arn)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, tc.want)
		})
	}
}

// TestTrailBaseline: the baseline is the trail as first read, so a later
// read shows multi-region logging turned off and the bucket changed.
func TestTrailBaseline(t *testing.T) {
	f := newTrailFixture(t, Watch{})
	ctx := context.Background()
	if _, err := f.live.Trail(ctx, trailOrg); err != nil {
		t.Fatal(err)
	}
	org := f.trails[testRegion].trails[trailOrg]
	org.desc.IsMultiRegionTrail, org.desc.S3BucketName = aws.Bool(false), aws.String("elsewhere")
	f.clock.Add(2 * time.Minute) // past the TTL
	got, err := f.live.Trail(ctx, trailOrg)
	if err != nil {
		t.Fatal(err)
	}
	if *got.MultiRegion || !*got.BaselineMultiRegion || got.S3Bucket != "elsewhere" || got.BaselineS3Bucket != "logs" {
		t.Fatalf("trail = multi-region %v (baseline %v), bucket %q (baseline %q); want false (true), elsewhere (logs)",
			*got.MultiRegion, *got.BaselineMultiRegion, got.S3Bucket, got.BaselineS3Bucket)
	}
}

func TestWatchedSnapshot(t *testing.T) {
	targets := map[string]string{"fn": fnTarget, "queue": fnTarget}
	tests := []struct {
		name   string
		change func(f *trailFixture)
		arn    string
		want   *state.Watched
	}{
		{
			name: "enabled rule",
			arn:  ruleARN,
			want: &state.Watched{Kind: state.WatchedEventRule, ARN: ruleARN, Name: "atrest-trail-events", Account: testAccount, Region: testRegion,
				EventBus: "default", State: state.WatchedEnabled, RemovedTargets: []string{}, Updated: t0,
				Targets: targets, BaselineTargets: targets, Pattern: kmsPattern, PatternKnown: true, Dropped: []state.Dropped{}},
		},
		{
			name: "disabled rule",
			arn:  ruleARN,
			change: func(f *trailFixture) {
				f.rules[testRegion].rules["atrest-trail-events"].state = ebtypes.RuleStateDisabled
			},
			want: &state.Watched{Kind: state.WatchedEventRule, ARN: ruleARN, Name: "atrest-trail-events", Account: testAccount, Region: testRegion,
				EventBus: "default", State: state.WatchedDisabled, RemovedTargets: []string{}, Updated: t0,
				Targets: targets, BaselineTargets: targets, Pattern: kmsPattern, PatternKnown: true, Dropped: []state.Dropped{}},
		},
		{
			name:   "deleted rule",
			arn:    ruleARN,
			change: func(f *trailFixture) { delete(f.rules[testRegion].rules, "atrest-trail-events") },
			want: &state.Watched{Kind: state.WatchedEventRule, ARN: ruleARN, Name: "atrest-trail-events", Account: testAccount, Region: testRegion,
				EventBus: "default", State: state.WatchedDeleted, RemovedTargets: []string{}, Updated: t0},
		},
		{
			name: "filter in place",
			arn:  filterID,
			want: &state.Watched{Kind: state.WatchedSubscriptionFilter, ARN: filterID, Name: "atrest", Account: testAccount, Region: testRegion,
				LogGroup: "aws-cloudtrail-logs", State: state.WatchedEnabled, RemovedTargets: []string{}, Updated: t0,
				Pattern: templateFilter, PatternKnown: true, Dropped: []state.Dropped{}},
		},
		{
			name:   "filter deleted, another one on the group",
			arn:    filterID,
			change: func(f *trailFixture) { f.logs[testRegion].filters["aws-cloudtrail-logs"] = []string{"atrest-old"} },
			want: &state.Watched{Kind: state.WatchedSubscriptionFilter, ARN: filterID, Name: "atrest", Account: testAccount, Region: testRegion,
				LogGroup: "aws-cloudtrail-logs", State: state.WatchedDeleted, RemovedTargets: []string{}, Updated: t0},
		},
		{
			name:   "log group deleted",
			arn:    filterID,
			change: func(f *trailFixture) { delete(f.logs[testRegion].filters, "aws-cloudtrail-logs") },
			want: &state.Watched{Kind: state.WatchedSubscriptionFilter, ARN: filterID, Name: "atrest", Account: testAccount, Region: testRegion,
				LogGroup: "aws-cloudtrail-logs", State: state.WatchedDeleted, RemovedTargets: []string{}, Updated: t0, LogGroupDeleted: true},
		},
		{
			name: "any filter on the group",
			arn:  state.SubscriptionFilterID(testRegion, testAccount, "aws-cloudtrail-logs", "*"),
			want: &state.Watched{Kind: state.WatchedSubscriptionFilter, ARN: state.SubscriptionFilterID(testRegion, testAccount, "aws-cloudtrail-logs", "*"),
				Name: "*", Account: testAccount, Region: testRegion, LogGroup: "aws-cloudtrail-logs", State: state.WatchedEnabled, RemovedTargets: []string{}, Updated: t0},
		},
		{name: "a trail ARN is not watched", arn: trailOrg, want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrailFixture(t, Watch{})
			if tc.change != nil {
				tc.change(f)
			}
			got, err := f.live.Watched(context.Background(), tc.arn)
			if err != nil {
				t.Fatal(err)
			}
			assertJSONEqual(t, got, tc.want)
		})
	}
}

// TestWatchedRemovedTargets: a target this store saw on the rule and no
// longer sees is reported removed (two pages of targets are read).
func TestWatchedRemovedTargets(t *testing.T) {
	f := newTrailFixture(t, Watch{})
	ctx := context.Background()
	if _, err := f.live.Watched(ctx, ruleARN); err != nil {
		t.Fatal(err)
	}
	if n := f.rules[testRegion].get("ListTargetsByRule"); n != 2 {
		t.Fatalf("ListTargetsByRule calls = %d, want 2 (one a page)", n)
	}
	f.rules[testRegion].rules["atrest-trail-events"].targets = []string{"queue"}
	ch, err := f.live.Apply(ctx, rec(cloudtrail.SourceEvents, cloudtrail.EventRemoveTargets, `{"rule":"atrest-trail-events","ids":["fn"]}`, `{"failedEntryCount":0,"failedEntries":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []state.ResourceRef{{Type: state.TypeMonitoringPath, ARN: ruleARN}}; !reflect.DeepEqual(ch.Touched, want) {
		t.Fatalf("Touched = %v, want %v", ch.Touched, want)
	}
	w, err := f.live.Watched(ctx, ruleARN)
	if err != nil {
		t.Fatal(err)
	}
	if w.State != state.WatchedEnabled || !reflect.DeepEqual(w.RemovedTargets, []string{"fn"}) {
		t.Fatalf("rule = %s, removed %v; want ENABLED, [fn]", w.State, w.RemovedTargets)
	}
}

// TestApplyMonitoring: monitoring records are never ErrBadRecord for a
// well-formed record; each drops exactly the cached reads of what it names
// and reports it touched.
func TestApplyMonitoring(t *testing.T) {
	trailRef := func(arn string) []state.ResourceRef {
		return []state.ResourceRef{{Type: state.TypeMonitoringPath, ARN: arn}}
	}
	failed := rec(cloudtrail.SourceCloudTrail, cloudtrail.EventStopLogging, `{"name":"org"}`, "")
	failed.ErrorCode = "TrailNotFoundException"
	tests := []struct {
		name        string
		rec         *cloudtrail.Record
		wantTouched []state.ResourceRef
		wantIgnored bool
		reread      map[string]int // calls one more read of trail, rule and filter makes
	}{
		{name: "StopLogging by name drops the trail's reads", rec: rec(cloudtrail.SourceCloudTrail, cloudtrail.EventStopLogging, `{"name":"org"}`, ""),
			wantTouched: trailRef(trailOrg), reread: map[string]int{"DescribeTrails": 1, "GetTrailStatus": 1, "GetEventSelectors": 1}},
		{name: "PutEventSelectors by ARN", rec: rec(cloudtrail.SourceCloudTrail, cloudtrail.EventPutEventSelectors,
			`{"trailName":"`+trailOrg+`","eventSelectors":[{"readWriteType":"All","excludeManagementEventSources":["kms.amazonaws.com"]}]}`, `{"trailARN":"`+trailOrg+`"}`),
			wantTouched: trailRef(trailOrg), reread: map[string]int{"DescribeTrails": 1, "GetTrailStatus": 1, "GetEventSelectors": 1}},
		{name: "DisableRule drops the rule's reads", rec: rec(cloudtrail.SourceEvents, cloudtrail.EventDisableRule, `{"name":"atrest-trail-events"}`, ""),
			wantTouched: trailRef(ruleARN), reread: map[string]int{"DescribeRule": 1, "ListTargetsByRule": 2}},
		{name: "DeleteSubscriptionFilter drops the group's filters", rec: rec(cloudtrail.SourceLogs, cloudtrail.EventDeleteSubscriptionFilter, `{"logGroupName":"aws-cloudtrail-logs","filterName":"atrest"}`, ""),
			wantTouched: trailRef(filterID), reread: map[string]int{"DescribeSubscriptionFilters": 1}},
		{name: "failed call changes nothing", rec: failed, wantIgnored: true, reread: map[string]int{}},
		{name: "a read of the path changes nothing", rec: rec(cloudtrail.SourceCloudTrail, "DescribeTrails", `{}`, ""), wantIgnored: true, reread: map[string]int{}},
	}
	ops := []string{"DescribeTrails", "GetTrailStatus", "GetEventSelectors", "DescribeRule", "ListTargetsByRule", "DescribeSubscriptionFilters"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrailFixture(t, Watch{})
			ctx := context.Background()
			calls := func() map[string]int {
				m := map[string]int{}
				for _, op := range ops {
					m[op] = f.trails[testRegion].get(op) + f.rules[testRegion].get(op) + f.logs[testRegion].get(op)
				}
				return m
			}
			read := func() {
				t.Helper()
				if tr, err := f.live.Trail(ctx, trailOrg); err != nil || tr == nil || tr.Deleted {
					t.Fatalf("Trail = %+v, %v", tr, err)
				}
				for _, arn := range []string{ruleARN, filterID} {
					if w, err := f.live.Watched(ctx, arn); err != nil || w == nil || w.State != state.WatchedEnabled {
						t.Fatalf("Watched(%s) = %+v, %v", arn, w, err)
					}
				}
			}
			read()
			before := calls()
			ch, err := f.live.Apply(ctx, tc.rec)
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if !reflect.DeepEqual(ch.Touched, tc.wantTouched) || (ch.Ignored != "") != tc.wantIgnored {
				t.Errorf("Change = %+v, want touched %v, ignored %v", ch, tc.wantTouched, tc.wantIgnored)
			}
			read()
			after := calls()
			for _, op := range ops {
				if got := after[op] - before[op]; got != tc.reread[op] {
					t.Errorf("%s calls after Apply = %d, want %d", op, got, tc.reread[op])
				}
			}
		})
	}
}

func TestApplyMonitoringBadRecord(t *testing.T) {
	f := newTrailFixture(t, Watch{})
	_, err := f.live.Apply(context.Background(), rec(cloudtrail.SourceLogs, cloudtrail.EventPutSubscriptionFilter, `{"logGroupName":"g"}`, ""))
	if !errors.Is(err, state.ErrBadRecord) {
		t.Fatalf("PutSubscriptionFilter without filterName: error = %v, want ErrBadRecord", err)
	}
}

func TestTrailAccessDenied(t *testing.T) {
	tests := []struct {
		op, action string
		read       func(l *Live) error
	}{
		{"GetTrailStatus", "cloudtrail:GetTrailStatus", func(l *Live) error { _, err := l.Trail(context.Background(), trailOrg); return err }},
		{"GetEventSelectors", "cloudtrail:GetEventSelectors", func(l *Live) error { _, err := l.Trail(context.Background(), trailOrg); return err }},
		{"DescribeTrails", "cloudtrail:DescribeTrails", func(l *Live) error { _, err := l.Trail(context.Background(), trailOrg); return err }},
		{"DescribeRule", "events:DescribeRule", func(l *Live) error { _, err := l.Watched(context.Background(), ruleARN); return err }},
		{"ListTargetsByRule", "events:ListTargetsByRule", func(l *Live) error { _, err := l.Watched(context.Background(), ruleARN); return err }},
		{"DescribeSubscriptionFilters", "logs:DescribeSubscriptionFilters", func(l *Live) error { _, err := l.Watched(context.Background(), filterID); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.op, func(t *testing.T) {
			f := newTrailFixture(t, Watch{})
			d := deny{tc.op: true}
			f.trails[testRegion].deny, f.rules[testRegion].deny, f.logs[testRegion].deny = d, d, d
			err := tc.read(f.live)
			var pe *PermissionError
			if !errors.As(err, &pe) || !errors.Is(err, ErrAccessDenied) || pe.Action != tc.action {
				t.Fatalf("error = %v, want a PermissionError for %s", err, tc.action)
			}
		})
	}
}

func TestTrailSingleFlight(t *testing.T) {
	f := newTrailFixture(t, Watch{})
	f.trails[testRegion].block = make(chan struct{})
	const n = 16
	queued := waitForJoins(f.live.cache, trailStatusKey(trailOrg), n-1)
	var wg sync.WaitGroup
	got := make([]*state.Trail, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], _ = f.live.Trail(context.Background(), trailOrg)
		}()
	}
	// The others queue on the one GetTrailStatus in flight.
	awaitQueued(t, queued, f.trails[testRegion].block)
	wg.Wait()
	for i, tr := range got {
		if tr == nil || tr.Logging != state.LoggingOn {
			t.Fatalf("reader %d got %+v", i, tr)
		}
	}
	for _, op := range []string{"DescribeTrails", "GetTrailStatus", "GetEventSelectors"} {
		if c := f.trails[testRegion].get(op); c != 1 {
			t.Errorf("%s calls = %d, want 1", op, c)
		}
	}
}

func TestSweepMonitoringPath(t *testing.T) {
	tests := []struct {
		name       string
		watch      Watch
		wantTrails []string
		wantOther  []string
	}{
		{
			name:       "every trail once: the multi-region trail is listed in both regions",
			wantTrails: []string{trailOrg, trailAudit},
		},
		{
			name:       "watched trails by name and ARN; one that no longer exists",
			watch:      Watch{Trails: []string{"org", trailAudit, "gone"}},
			wantTrails: []string{"arn:aws:cloudtrail:" + testRegion + ":" + testAccount + ":trail/gone", trailOrg, trailAudit},
		},
		{
			name: "watched rules and filters, found or not",
			watch: Watch{
				Trails:              []string{"org"},
				EventRules:          []string{"atrest-trail-events", "missing-rule", "arn:aws:events:" + otherRegion + ":" + testAccount + ":rule/bus/r"},
				SubscriptionFilters: []string{"aws-cloudtrail-logs:*", "no-group:atrest"},
			},
			wantTrails: []string{trailOrg},
			wantOther: []string{
				ruleARN,
				"arn:aws:events:" + testRegion + ":" + testAccount + ":rule/missing-rule",
				"arn:aws:events:" + otherRegion + ":" + testAccount + ":rule/bus/r",
				state.SubscriptionFilterID(testRegion, testAccount, "aws-cloudtrail-logs", "atrest"),
				state.SubscriptionFilterID(testRegion, testAccount, "aws-cloudtrail-logs", "other"),
				state.SubscriptionFilterID(testRegion, testAccount, "no-group", "atrest"),
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newTrailFixture(t, tc.watch)
			res, err := f.live.Sweep(context.Background(), []string{testRegion, otherRegion})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Errors) != 0 {
				t.Fatalf("errors: %v", res.Errors)
			}
			slices.Sort(tc.wantTrails)
			slices.Sort(tc.wantOther)
			var want []state.ResourceRef
			for _, arn := range slices.Concat(tc.wantTrails, tc.wantOther) {
				want = append(want, state.ResourceRef{Type: state.TypeMonitoringPath, ARN: arn})
			}
			if !reflect.DeepEqual(res.Refs, want) || res.Trails != len(tc.wantTrails) || res.Watched != len(tc.wantOther) {
				t.Fatalf("refs %v (%d trails, %d watched)\nwant %v", res.Refs, res.Trails, res.Watched, want)
			}
			// The sweep read every ref; evaluating them now makes no call.
			before := f.trails[testRegion].get("GetTrailStatus") + f.trails[otherRegion].get("GetTrailStatus")
			for _, ref := range res.Refs {
				if tr, err := f.live.Trail(context.Background(), ref.ARN); err != nil {
					t.Fatal(err)
				} else if tr == nil {
					if w, err := f.live.Watched(context.Background(), ref.ARN); err != nil || w == nil {
						t.Fatalf("Watched(%s) = %v, %v", ref.ARN, w, err)
					}
				}
			}
			if after := f.trails[testRegion].get("GetTrailStatus") + f.trails[otherRegion].get("GetTrailStatus"); after != before {
				t.Errorf("GetTrailStatus calls after the sweep = %d, want 0", after-before)
			}
			existing := 0
			for _, arn := range tc.wantTrails {
				if arn == trailOrg || arn == trailAudit {
					existing++
				}
			}
			if n := f.trails[testRegion].get("GetTrailStatus") + f.trails[otherRegion].get("GetTrailStatus"); n != existing {
				t.Errorf("GetTrailStatus calls = %d, want one a trail that exists (%d)", n, existing)
			}
		})
	}
}

func TestSweepTrailsDenied(t *testing.T) {
	f := newTrailFixture(t, Watch{})
	f.trails[otherRegion].deny = deny{"DescribeTrails": true}
	res, err := f.live.Sweep(context.Background(), []string{testRegion, otherRegion})
	if err != nil {
		t.Fatal(err)
	}
	var pe *PermissionError
	if len(res.Errors) != 1 || !errors.As(res.Errors[0], &pe) || pe.Action != "cloudtrail:DescribeTrails" {
		t.Fatalf("errors = %v, want one cloudtrail:DescribeTrails refusal", res.Errors)
	}
	// The region that could be listed still yields its trail.
	if want := []state.ResourceRef{{Type: state.TypeMonitoringPath, ARN: trailOrg}}; !reflect.DeepEqual(res.Refs, want) {
		t.Fatalf("refs = %v, want %v", res.Refs, want)
	}
}
