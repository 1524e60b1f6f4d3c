package state

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
)

const trailARN = "arn:aws:cloudtrail:us-east-1:111122223333:trail/org"

func trailRec(id string, minutes int, name, req, resp string) *cloudtrail.Record {
	return rec(id, minutes, cloudtrail.SourceCloudTrail, name, req, resp)
}

var createTrail = trailRec("ct", 0, "CreateTrail",
	`{"name":"org","s3BucketName":"logs","isMultiRegionTrail":true}`,
	`{"name":"org","s3BucketName":"logs","isMultiRegionTrail":true,"includeGlobalServiceEvents":true,"trailARN":"`+trailARN+`"}`)

func applyAll(t *testing.T, m *Memory, recs ...*cloudtrail.Record) []Change {
	t.Helper()
	var out []Change
	for _, r := range recs {
		ch, err := m.Apply(context.Background(), r)
		if err != nil {
			t.Fatalf("Apply %s: %v", r.EventID, err)
		}
		out = append(out, ch)
	}
	return out
}

func getTrail(t *testing.T, m *Memory, arn string) *Trail {
	t.Helper()
	tr, err := m.Trail(context.Background(), arn)
	if err != nil || tr == nil {
		t.Fatalf("Trail(%s) = %v, %v", arn, tr, err)
	}
	return tr
}

func TestTrailLifecycle(t *testing.T) {
	yes, no := true, false
	base := Trail{
		ARN: trailARN, Name: "org", Account: acct, HomeRegion: region,
		MultiRegion: &yes, IncludeGlobalEvents: &yes, S3Bucket: "logs",
		BaselineMultiRegion: &yes, BaselineS3Bucket: "logs",
		ManagementEvents: ManagementAll, ExcludedSources: []string{}, CloudWatchLogsKnown: true,
	}
	with := func(f func(*Trail)) Trail {
		c := base
		f(&c)
		return c
	}
	tests := []struct {
		name string
		recs []*cloudtrail.Record
		want Trail
	}{
		{"created: logging off until StartLogging", []*cloudtrail.Record{createTrail},
			with(func(t *Trail) { t.Logging = LoggingOff })},
		{"started", []*cloudtrail.Record{createTrail, trailRec("s", 1, "StartLogging", `{"name":"org"}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOn })},
		{"stopped by ARN", []*cloudtrail.Record{createTrail,
			trailRec("s", 1, "StartLogging", `{"name":"org"}`, ""),
			trailRec("x", 2, "StopLogging", `{"name":"`+trailARN+`"}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff })},
		{"deleted", []*cloudtrail.Record{createTrail, trailRec("d", 1, "DeleteTrail", `{"name":"org"}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.Deleted = true })},
		{"update turns multi-region off and moves the bucket", []*cloudtrail.Record{createTrail,
			trailRec("u", 1, "UpdateTrail", `{"name":"org","isMultiRegionTrail":false,"s3BucketName":"elsewhere"}`,
				`{"name":"org","s3BucketName":"elsewhere","isMultiRegionTrail":false,"includeGlobalServiceEvents":true,"trailARN":"`+trailARN+`"}`)},
			with(func(t *Trail) { t.Logging = LoggingOff; t.MultiRegion = &no; t.S3Bucket = "elsewhere" })},
		{"update then older create: baseline is the older record", []*cloudtrail.Record{
			trailRec("u", 1, "UpdateTrail", `{"name":"org","s3BucketName":"elsewhere"}`, ""),
			createTrail},
			with(func(t *Trail) { t.Logging = LoggingOff; t.S3Bucket = "elsewhere" })},
		{"classic selectors exclude kms", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","eventSelectors":[{"readWriteType":"All","includeManagementEvents":true,"excludeManagementEventSources":["kms.amazonaws.com"]}]}`, "")},
			with(func(t *Trail) {
				t.Logging = LoggingOff
				t.ExcludedSources = []string{cloudtrail.SourceKMS}
			})},
		{"classic selectors read-only", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","eventSelectors":[{"readWriteType":"ReadOnly"}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ManagementEvents = ManagementReadOnly })},
		{"classic selectors without management events", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","eventSelectors":[{"includeManagementEvents":false,"dataResources":[{"type":"AWS::S3::Object","values":["arn:aws:s3"]}]}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ManagementEvents = ManagementNone })},
		{"advanced selectors exclude EFS", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","advancedEventSelectors":[{"name":"m","fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"eventSource","notEquals":["elasticfilesystem.amazonaws.com"]}]}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ExcludedSources = []string{cloudtrail.SourceEFS} })},
		{"advanced selectors naming only other sources", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"eventSource","equals":["s3.amazonaws.com"]}]},{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["false"]},{"field":"eventSource","startsWith":["kms."]}]}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ExcludedSources = []string{cloudtrail.SourceEFS} })},
		{"advanced selectors for data events only", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Data"]},{"field":"resources.type","equals":["AWS::S3::Object"]}]}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ManagementEvents = ManagementNone })},
		{"advanced selectors read-only management", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventCategory","equals":["Management"]},{"field":"readOnly","equals":["true"]}]}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff; t.ManagementEvents = ManagementReadOnly })},
		{"selectors restored", []*cloudtrail.Record{createTrail,
			trailRec("p", 1, "PutEventSelectors", `{"trailName":"org","eventSelectors":[{"readWriteType":"All","excludeManagementEventSources":["kms.amazonaws.com"]}]}`, ""),
			trailRec("q", 2, "PutEventSelectors", `{"trailName":"org","eventSelectors":[{"readWriteType":"WriteOnly"}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff })},
		{"older StopLogging does not undo a newer StartLogging", []*cloudtrail.Record{createTrail,
			trailRec("s", 5, "StartLogging", `{"name":"org"}`, ""),
			trailRec("x", 2, "StopLogging", `{"name":"org"}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOn })},
		{"insight selectors change nothing", []*cloudtrail.Record{createTrail,
			trailRec("i", 1, "PutInsightSelectors", `{"trailName":"org","insightSelectors":[{"insightType":"ApiCallRateInsight"}]}`, "")},
			with(func(t *Trail) { t.Logging = LoggingOff })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, ch := range applyAll(t, m, tc.recs...) {
				if want := []ResourceRef{{TypeMonitoringPath, trailARN}}; !reflect.DeepEqual(ch.Touched, want) {
					t.Errorf("Touched = %v, want %v", ch.Touched, want)
				}
			}
			got := getTrail(t, m, trailARN)
			got.Updated = tc.want.Updated
			got.baselineMultiRegionAt, got.baselineS3BucketAt = tc.want.baselineMultiRegionAt, tc.want.baselineS3BucketAt
			got.baselineCloudWatchLogsAt = tc.want.baselineCloudWatchLogsAt
			if tc.name == "update then older create: baseline is the older record" {
				// The update only named the bucket; multi-region came from the create.
				tc.want.MultiRegion = &yes
			}
			if !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("trail:\n got %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestTrailNameResolution(t *testing.T) {
	m := NewMemory()
	other := trailRec("o", 0, "CreateTrail", `{"name":"org"}`, `{"name":"org","trailARN":"arn:aws:cloudtrail:eu-west-1:111122223333:trail/org"}`)
	other.AWSRegion = "eu-west-1"
	applyAll(t, m, other, createTrail, trailRec("x", 1, "StopLogging", `{"name":"org"}`, ""))
	if got := getTrail(t, m, trailARN).Logging; got != LoggingOff {
		t.Errorf("us-east-1 trail logging = %q", got)
	}
	// A name only known in another region resolves to that trail.
	stop := trailRec("y", 2, "StartLogging", `{"name":"org"}`, "")
	stop.AWSRegion = "ap-south-1"
	applyAll(t, m, stop)
	if got := getTrail(t, m, "arn:aws:cloudtrail:eu-west-1:111122223333:trail/org").Logging; got != LoggingOn {
		t.Errorf("eu-west-1 trail logging = %q, want on", got)
	}
	// An unknown name is a trail in the record's region, otherwise unknown.
	applyAll(t, m, trailRec("z", 3, "DeleteTrail", `{"name":"new"}`, ""))
	got := getTrail(t, m, "arn:aws:cloudtrail:us-east-1:111122223333:trail/new")
	if !got.Deleted || got.Logging != "" || got.MultiRegion != nil || got.Name != "new" {
		t.Errorf("new trail = %+v", got)
	}
	if tr, _ := m.Trail(context.Background(), "arn:aws:cloudtrail:us-east-1:111122223333:trail/none"); tr != nil {
		t.Errorf("unknown trail = %+v, want nil", tr)
	}
	if refs := m.TrailRefs(); len(refs) != 3 {
		t.Errorf("TrailRefs = %v", refs)
	}
}

func TestWatchedEventRule(t *testing.T) {
	const ruleARN = "arn:aws:events:us-east-1:111122223333:rule/atrest"
	const busRuleARN = "arn:aws:events:us-east-1:111122223333:rule/audit/atrest"
	ev := func(id string, minutes int, name, req string) *cloudtrail.Record {
		return rec(id, minutes, cloudtrail.SourceEvents, name, req, "")
	}
	tests := []struct {
		name    string
		recs    []*cloudtrail.Record
		arn     string
		state   string
		removed []string
	}{
		{"put", []*cloudtrail.Record{ev("p", 0, "PutRule", `{"name":"atrest","eventPattern":"{}"}`)}, ruleARN, WatchedEnabled, []string{}},
		{"put disabled", []*cloudtrail.Record{ev("p", 0, "PutRule", `{"name":"atrest","state":"DISABLED"}`)}, ruleARN, WatchedDisabled, []string{}},
		{"disabled", []*cloudtrail.Record{ev("d", 0, "DisableRule", `{"name":"atrest"}`)}, ruleARN, WatchedDisabled, []string{}},
		{"re-enabled", []*cloudtrail.Record{ev("d", 0, "DisableRule", `{"name":"atrest"}`), ev("e", 1, "EnableRule", `{"name":"atrest"}`)}, ruleARN, WatchedEnabled, []string{}},
		{"targets removed then deleted", []*cloudtrail.Record{
			ev("r", 0, "RemoveTargets", `{"rule":"atrest","ids":["t2","t1"]}`),
			ev("x", 1, "DeleteRule", `{"name":"atrest"}`)}, ruleARN, WatchedDeleted, []string{"t1", "t2"}},
		{"target put back", []*cloudtrail.Record{
			ev("r", 0, "RemoveTargets", `{"rule":"atrest","ids":["t1","t2"]}`),
			ev("t", 1, "PutTargets", `{"rule":"atrest","targets":[{"id":"t1","arn":"arn:aws:lambda:us-east-1:111122223333:function:f"}]}`)},
			ruleARN, "", []string{"t2"}},
		{"custom bus by ARN", []*cloudtrail.Record{ev("x", 0, "DeleteRule", `{"name":"atrest","eventBusName":"arn:aws:events:us-east-1:111122223333:event-bus/audit"}`)}, busRuleARN, WatchedDeleted, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, ch := range applyAll(t, m, tc.recs...) {
				if want := []ResourceRef{{TypeMonitoringPath, tc.arn}}; !reflect.DeepEqual(ch.Touched, want) {
					t.Errorf("Touched = %v, want %v", ch.Touched, want)
				}
			}
			w, err := m.Watched(context.Background(), tc.arn)
			if err != nil || w == nil {
				t.Fatalf("Watched = %v, %v", w, err)
			}
			if w.Kind != WatchedEventRule || w.Name != "atrest" || w.State != tc.state || !reflect.DeepEqual(w.RemovedTargets, tc.removed) ||
				w.Account != acct || w.Region != region {
				t.Errorf("watched = %+v, want state %q removed %v", w, tc.state, tc.removed)
			}
		})
	}
}

func TestWatchedSubscriptionFilter(t *testing.T) {
	m := NewMemory()
	put := rec("p", 0, cloudtrail.SourceLogs, "PutSubscriptionFilter",
		`{"logGroupName":"aws-cloudtrail-logs","filterName":"atrest","filterPattern":"","destinationArn":"arn:aws:lambda:us-east-1:111122223333:function:f"}`, "")
	del := rec("d", 1, cloudtrail.SourceLogs, "DeleteSubscriptionFilter", `{"logGroupName":"aws-cloudtrail-logs","filterName":"atrest"}`, "")
	applyAll(t, m, del, put) // out of order: the delete is newer
	id := SubscriptionFilterID(region, acct, "aws-cloudtrail-logs", "atrest")
	if id != "arn:aws:logs:us-east-1:111122223333:log-group:aws-cloudtrail-logs:subscription-filter:atrest" {
		t.Errorf("id = %s", id)
	}
	w, _ := m.Watched(context.Background(), id)
	if w == nil || w.State != WatchedDeleted || w.LogGroup != "aws-cloudtrail-logs" || w.Kind != WatchedSubscriptionFilter {
		t.Errorf("watched = %+v", w)
	}
}

func TestMonitoringBadRecords(t *testing.T) {
	tests := []struct {
		name string
		rec  *cloudtrail.Record
	}{
		{"trail without name", trailRec("a", 0, "StopLogging", `{}`, "")},
		{"trail name wrong type", trailRec("b", 0, "StopLogging", `{"name":3}`, "")},
		{"selectors missing", trailRec("c", 0, "PutEventSelectors", `{"trailName":"org"}`, "")},
		{"rule without name", rec("d", 0, cloudtrail.SourceEvents, "DeleteRule", `{}`, "")},
		{"filter without group", rec("e", 0, cloudtrail.SourceLogs, "DeleteSubscriptionFilter", `{"filterName":"f"}`, "")},
		{"response not an object", trailRec("f", 0, "UpdateTrail", `{"name":"org"}`, `[]`)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ch, err := NewMemory().Apply(context.Background(), tc.rec)
			if !errors.Is(err, ErrBadRecord) {
				t.Errorf("Apply = %+v, %v; want ErrBadRecord", ch, err)
			}
		})
	}
	// A failed call changes nothing.
	failed := trailRec("g", 0, "StopLogging", `{"name":"org"}`, "")
	failed.ErrorCode = "TrailNotFoundException"
	m := NewMemory()
	if ch, err := m.Apply(context.Background(), failed); err != nil || ch.Ignored == "" || len(m.TrailRefs()) != 0 {
		t.Errorf("failed call: %+v, %v, refs %v", ch, err, m.TrailRefs())
	}
}

// liveStub is a Store that models no trails, as the live store does.
type liveStub struct{ Store }

func (liveStub) Apply(context.Context, *cloudtrail.Record) (Change, error) {
	return Change{Ignored: "stub"}, nil
}

func TestWithTrails(t *testing.T) {
	m := NewMemory()
	if WithTrails(m) != TrailStore(m) {
		t.Error("WithTrails wraps a store that models trails")
	}
	s := WithTrails(liveStub{m})
	ch, err := s.Apply(context.Background(), createTrail)
	if err != nil || len(ch.Touched) != 1 {
		t.Fatalf("Apply trail record = %+v, %v", ch, err)
	}
	if tr, _ := s.Trail(context.Background(), trailARN); tr == nil || tr.Logging != LoggingOff {
		t.Errorf("Trail = %+v", tr)
	}
	if w, _ := s.Watched(context.Background(), "arn:aws:events:us-east-1:111122223333:rule/x"); w != nil {
		t.Errorf("Watched = %+v", w)
	}
	if ch, _ := s.Apply(context.Background(), createKey); ch.Ignored != "stub" {
		t.Errorf("key record went to %+v, want the wrapped store", ch)
	}
	if tr, _ := m.Trail(context.Background(), trailARN); tr != nil {
		t.Error("the wrapped store saw the trail record")
	}
}

// FuzzApplyMonitoring applies arbitrary parameters to every monitoring event:
// Apply returns a change or an error, never panics, and touches only trail
// resources.
func FuzzApplyMonitoring(f *testing.F) {
	f.Add(0, `{"name":"org"}`, `{"trailARN":"`+trailARN+`"}`)
	f.Add(5, `{"trailName":"org","advancedEventSelectors":[{"fieldSelectors":[{"field":"eventSource","startsWith":["k"],"notEndsWith":["m"]}]}]}`, ``)
	f.Add(9, `{"rule":"r","ids":["a"],"eventBusName":"arn:aws:events:us-east-1:1:event-bus/b"}`, `{"failedEntries":[{"targetId":"a"}]}`)
	f.Add(13, `{"logGroupName":"g","filterName":"f"}`, `null`)
	f.Add(7, `{"name":"r","eventPattern":"{\"detail\":{\"eventName\":[{\"anything-but\":{\"prefix\":\"D\"}}]}}"}`, ``)
	f.Add(12, `{"logGroupName":"g","filterName":"f","filterPattern":"{ ($.eventSource = \"kms*\") || $.x NOT EXISTS }"}`, ``)
	f.Add(14, `{"logGroupName":"g"}`, ``)
	events := []struct{ source, name string }{
		{cloudtrail.SourceCloudTrail, "CreateTrail"}, {cloudtrail.SourceCloudTrail, "UpdateTrail"}, {cloudtrail.SourceCloudTrail, "DeleteTrail"},
		{cloudtrail.SourceCloudTrail, "StartLogging"}, {cloudtrail.SourceCloudTrail, "StopLogging"}, {cloudtrail.SourceCloudTrail, "PutEventSelectors"},
		{cloudtrail.SourceCloudTrail, "PutInsightSelectors"}, {cloudtrail.SourceEvents, "PutRule"}, {cloudtrail.SourceEvents, "DeleteRule"},
		{cloudtrail.SourceEvents, "RemoveTargets"}, {cloudtrail.SourceEvents, "PutTargets"}, {cloudtrail.SourceEvents, "DisableRule"},
		{cloudtrail.SourceLogs, "PutSubscriptionFilter"}, {cloudtrail.SourceLogs, "DeleteSubscriptionFilter"},
		{cloudtrail.SourceLogs, "DeleteLogGroup"},
	}
	f.Fuzz(func(t *testing.T, which int, req, resp string) {
		e := events[(which%len(events)+len(events))%len(events)]
		m := NewMemory()
		ch, err := m.Apply(context.Background(), rec("f", 0, e.source, e.name, req, resp))
		if err != nil {
			return
		}
		for _, r := range ch.Touched {
			if r.Type != TypeMonitoringPath {
				t.Errorf("touched %v", r)
			}
			tr, _ := m.Trail(context.Background(), r.ARN)
			w, _ := m.Watched(context.Background(), r.ARN)
			if tr == nil && w == nil {
				t.Errorf("touched %s is not in the store", r.ARN)
			}
		}
	})
}
