package state

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// docRecord builds a record in the shape CloudTrail writes it: the envelope
// of the StartLogging example on
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference.html
// with this test's account, region, time, call and parameters.
func monitoringRecord(t *testing.T, id string, minutes int, source, name, req, resp string) *cloudtrail.Record {
	t.Helper()
	if resp == "" {
		resp = "null"
	}
	doc := fmt.Sprintf(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","principalId":"EXAMPLE6E4XEGITWATV6R",
"arn":"arn:aws:iam::%[1]s:user/Mary_Major","accountId":"%[1]s","accessKeyId":"AKIAIOSFODNN7EXAMPLE","userName":"Mary_Major"},
"eventTime":"%[2]s","eventSource":"%[3]s","eventName":"%[4]s","awsRegion":"%[5]s","sourceIPAddress":"192.0.2.0",
"userAgent":"aws-cli/2.13.5","requestParameters":%[6]s,"responseElements":%[7]s,"requestID":"9d478fc1-4f10-490f-a26b-EXAMPLE0e932",
"eventID":"%[8]s","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"%[1]s","eventCategory":"Management"}`,
		acct, t0.Add(time.Duration(minutes)*time.Minute).Format("2006-01-02T15:04:05Z"), source, name, region, req, resp, id)
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return &r
}

// atrestPattern is the event pattern of atrest's rule for one source, as
// template.yaml writes it.
func atrestPattern(source string) string {
	p, _ := json.Marshal(map[string]any{
		"source": []string{eventBridgeSource(source)}, "detail-type": []string{"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"},
		"detail": map[string]any{"eventSource": []string{source}, "eventName": cloudtrail.SourceEventNames(source)},
	})
	return string(p)
}

// putRule is a PutRule record as the EventBridge guide's example writes it
// (requestParameters name, eventPattern as a JSON string, state,
// description; responseElements ruleArn):
// https://docs.aws.amazon.com/eventbridge/latest/userguide/logging-using-cloudtrail.html
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html
func putRule(t *testing.T, id string, minutes int, pattern string) *cloudtrail.Record {
	t.Helper()
	q, _ := json.Marshal(pattern)
	return monitoringRecord(t, id, minutes, cloudtrail.SourceEvents, "PutRule",
		`{"name":"atrest-kms-calls","eventPattern":`+string(q)+`,"state":"ENABLED","description":""}`,
		`{"ruleArn":"arn:aws:events:us-east-1:111122223333:rule/atrest-kms-calls"}`)
}

const kmsRuleARN = "arn:aws:events:us-east-1:111122223333:rule/atrest-kms-calls"

func allBut(source string, keep ...string) []string {
	var out []string
	for _, n := range cloudtrail.SourceEventNames(source) {
		if !contains(keep, n) {
			out = append(out, n)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func TestWatchedRulePattern(t *testing.T) {
	narrowed := `{"source":["aws.kms"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventName":["CreateKey"]}}`
	failed := putRule(t, "f", 3, `{"source":["aws.ec2"]}`)
	failed.ErrorCode = "AccessDeniedException"
	tests := []struct {
		name      string
		recs      []*cloudtrail.Record
		wantErr   string
		wantDrops []Dropped
	}{
		{"atrest's own pattern matches every KMS call", []*cloudtrail.Record{putRule(t, "p", 0, atrestPattern(cloudtrail.SourceKMS))}, "", []Dropped{}},
		{"narrowed to CreateKey drops the other KMS calls", []*cloudtrail.Record{
			putRule(t, "p", 0, atrestPattern(cloudtrail.SourceKMS)), putRule(t, "n", 1, narrowed)}, "",
			[]Dropped{{Source: cloudtrail.SourceKMS, EventNames: allBut(cloudtrail.SourceKMS, "CreateKey")}}},
		{"pointed at another service drops KMS and EFS", []*cloudtrail.Record{putRule(t, "p", 0, `{"source":["aws.ec2"]}`)}, "",
			[]Dropped{
				{Source: cloudtrail.SourceEFS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceEFS), All: true},
				{Source: cloudtrail.SourceKMS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceKMS), All: true},
			}},
		{"errors only: anything-but drops every successful call", []*cloudtrail.Record{
			putRule(t, "p", 0, `{"source":["aws.kms"],"detail":{"errorCode":[{"exists":true}]}}`)}, "",
			[]Dropped{
				{Source: cloudtrail.SourceEFS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceEFS), All: true},
				{Source: cloudtrail.SourceKMS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceKMS), All: true},
			}},
		{"a pattern atrest cannot read", []*cloudtrail.Record{putRule(t, "p", 0, `{"detail":{"eventName":[{"regex":"."}]}}`)},
			`event pattern cannot be read: detail.eventName: operator "regex" is not supported`, []Dropped{}},
		{"restored", []*cloudtrail.Record{putRule(t, "n", 1, narrowed), putRule(t, "p", 2, atrestPattern(cloudtrail.SourceKMS))}, "", []Dropped{}},
		{"an older narrowing arriving late changes nothing", []*cloudtrail.Record{
			putRule(t, "p", 2, atrestPattern(cloudtrail.SourceKMS)), putRule(t, "n", 1, narrowed)}, "", []Dropped{}},
		{"a failed PutRule changes nothing", []*cloudtrail.Record{putRule(t, "p", 0, atrestPattern(cloudtrail.SourceKMS)), failed}, "", []Dropped{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			applyAll(t, m, tc.recs...)
			w, err := m.Watched(context.Background(), kmsRuleARN)
			if err != nil || w == nil {
				t.Fatalf("Watched = %v, %v", w, err)
			}
			if !w.PatternKnown || w.PatternError != tc.wantErr || !reflect.DeepEqual(w.Dropped, tc.wantDrops) || w.State != WatchedEnabled {
				t.Errorf("rule: known %v, error %q, dropped %+v, state %s\nwant error %q, dropped %+v",
					w.PatternKnown, w.PatternError, w.Dropped, w.State, tc.wantErr, tc.wantDrops)
			}
		})
	}
}

// putTargets and removeTargets follow the API references' request and
// response shapes; no CloudTrail example is documented for them.
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutTargets.html
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_RemoveTargets.html
func putTargets(t *testing.T, id string, minutes int, targetID, arn string, failedIDs ...string) *cloudtrail.Record {
	t.Helper()
	failed := []string{}
	for _, f := range failedIDs {
		failed = append(failed, `{"targetId":"`+f+`","errorCode":"ConcurrentModificationException","errorMessage":"x"}`)
	}
	return monitoringRecord(t, id, minutes, cloudtrail.SourceEvents, "PutTargets",
		`{"rule":"atrest-kms-calls","targets":[{"id":"`+targetID+`","arn":"`+arn+`"}]}`,
		fmt.Sprintf(`{"failedEntryCount":%d,"failedEntries":[%s]}`, len(failed), strings.Join(failed, ",")))
}

func TestWatchedRuleTargets(t *testing.T) {
	const fn = "arn:aws:lambda:us-east-1:111122223333:function:atrest-trail-events"
	const other = "arn:aws:sqs:us-east-1:111122223333:elsewhere"
	remove := monitoringRecord(t, "r", 3, cloudtrail.SourceEvents, "RemoveTargets", `{"rule":"atrest-kms-calls","ids":["fn"]}`,
		`{"failedEntryCount":0,"failedEntries":[]}`)
	tests := []struct {
		name        string
		recs        []*cloudtrail.Record
		wantRetgt   []Retarget
		wantRemoved []string
	}{
		{"the function as target", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn)}, []Retarget{}, []string{}},
		{"re-pointed elsewhere", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn), putTargets(t, "b", 1, "fn", other)},
			[]Retarget{{ID: "fn", ARN: other, Expected: fn}}, []string{}},
		{"re-pointed, the older put arriving last", []*cloudtrail.Record{putTargets(t, "b", 1, "fn", other), putTargets(t, "a", 0, "fn", fn)},
			[]Retarget{{ID: "fn", ARN: other, Expected: fn}}, []string{}},
		{"pointed back", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn), putTargets(t, "b", 1, "fn", other), putTargets(t, "c", 2, "fn", fn)},
			[]Retarget{}, []string{}},
		{"a failed entry changes nothing", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn), putTargets(t, "b", 1, "fn", other, "fn")},
			[]Retarget{}, []string{}},
		{"removed", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn), remove}, []Retarget{}, []string{"fn"}},
		{"removed then put back", []*cloudtrail.Record{putTargets(t, "a", 0, "fn", fn), remove, putTargets(t, "c", 4, "fn", fn)},
			[]Retarget{}, []string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			applyAll(t, m, tc.recs...)
			w, err := m.Watched(context.Background(), kmsRuleARN)
			if err != nil || w == nil {
				t.Fatalf("Watched = %v, %v", w, err)
			}
			if got := w.Retargeted(); !reflect.DeepEqual(got, tc.wantRetgt) || !reflect.DeepEqual(w.RemovedTargets, tc.wantRemoved) {
				t.Errorf("retargeted %+v removed %v; want %+v, %v", got, w.RemovedTargets, tc.wantRetgt, tc.wantRemoved)
			}
		})
	}
}

// putFilter is a PutSubscriptionFilter record with the API reference's
// request parameters (logGroupName, filterName, filterPattern,
// destinationArn); CloudWatch Logs documents no CloudTrail example for it.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/logging_cw_api_calls_cwl.html
func putFilter(t *testing.T, id string, minutes int, group, pattern string) *cloudtrail.Record {
	t.Helper()
	q, _ := json.Marshal(pattern)
	return monitoringRecord(t, id, minutes, cloudtrail.SourceLogs, "PutSubscriptionFilter",
		`{"logGroupName":"`+group+`","filterName":"atrest-trail-logs","filterPattern":`+string(q)+
			`,"destinationArn":"arn:aws:lambda:us-east-1:111122223333:function:atrest-trail-logs"}`, "")
}

// deleteLogGroup: request parameters of
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_DeleteLogGroup.html
func deleteLogGroup(t *testing.T, id string, minutes int, group string) *cloudtrail.Record {
	t.Helper()
	return monitoringRecord(t, id, minutes, cloudtrail.SourceLogs, "DeleteLogGroup", `{"logGroupName":"`+group+`"}`, "")
}

// templateFilter is template.yaml's subscription filter pattern.
const templateFilter = `{ ($.eventSource = "kms.amazonaws.com") || ($.eventSource = "elasticfilesystem.amazonaws.com") || ($.eventSource = "cloudtrail.amazonaws.com") || ($.eventSource = "events.amazonaws.com") || ($.eventSource = "logs.amazonaws.com") }`

func TestWatchedFilterPattern(t *testing.T) {
	id := SubscriptionFilterID(region, acct, "trail", "atrest-trail-logs")
	tests := []struct {
		name      string
		pattern   string
		wantErr   string
		wantDrops []Dropped
	}{
		{"template pattern passes everything of interest", templateFilter, "", []Dropped{}},
		{"empty pattern passes everything", "", "", []Dropped{}},
		{"KMS only drops EFS", `{ $.eventSource = "kms.amazonaws.com" }`, "",
			[]Dropped{{Source: cloudtrail.SourceEFS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceEFS), All: true}}},
		{"failed calls only drop KMS and EFS", `{ $.errorCode = "*" }`, "", []Dropped{
			{Source: cloudtrail.SourceEFS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceEFS), All: true},
			{Source: cloudtrail.SourceKMS, EventNames: cloudtrail.SourceEventNames(cloudtrail.SourceKMS), All: true},
		}},
		{"one KMS call left out", `{ ($.eventSource = "kms.amazonaws.com" && $.eventName != "DisableKey") || $.eventSource = "elasticfilesystem.amazonaws.com" }`, "",
			[]Dropped{{Source: cloudtrail.SourceKMS, EventNames: []string{"DisableKey"}}}},
		{"a pattern atrest cannot read", `%kms%`, "filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read", []Dropped{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			applyAll(t, m, putFilter(t, "p", 0, "trail", tc.pattern))
			w, err := m.Watched(context.Background(), id)
			if err != nil || w == nil {
				t.Fatalf("Watched = %v, %v", w, err)
			}
			if !w.PatternKnown || w.PatternError != tc.wantErr || !reflect.DeepEqual(w.Dropped, tc.wantDrops) || w.State != WatchedEnabled {
				t.Errorf("filter: known %v, error %q, dropped %+v, state %s\nwant error %q, dropped %+v",
					w.PatternKnown, w.PatternError, w.Dropped, w.State, tc.wantErr, tc.wantDrops)
			}
		})
	}
}

func TestDeleteLogGroup(t *testing.T) {
	filter := SubscriptionFilterID(region, acct, "trail", "atrest-trail-logs")
	group := SubscriptionFilterID(region, acct, "trail", "*")
	type want struct {
		state      string
		groupGone  bool
		wantExists bool
	}
	tests := []struct {
		name        string
		recs        []*cloudtrail.Record
		wantTouched []ResourceRef
		want        map[string]want
	}{
		{"the group of a known filter", []*cloudtrail.Record{putFilter(t, "p", 0, "trail", templateFilter), deleteLogGroup(t, "d", 1, "trail")},
			[]ResourceRef{{TypeMonitoringPath, filter}},
			map[string]want{filter: {WatchedDeleted, true, true}, group: {}}},
		{"a group with no known filter stands as *", []*cloudtrail.Record{deleteLogGroup(t, "d", 1, "trail")},
			[]ResourceRef{{TypeMonitoringPath, group}},
			map[string]want{group: {WatchedDeleted, true, true}, filter: {}}},
		{"a filter put after restores the group", []*cloudtrail.Record{deleteLogGroup(t, "d", 1, "trail"), putFilter(t, "p", 2, "trail", templateFilter)},
			[]ResourceRef{{TypeMonitoringPath, filter}, {TypeMonitoringPath, group}},
			map[string]want{group: {WatchedEnabled, false, true}, filter: {WatchedEnabled, false, true}}},
		{"another group", []*cloudtrail.Record{putFilter(t, "p", 0, "trail", templateFilter), deleteLogGroup(t, "d", 1, "other")},
			[]ResourceRef{{TypeMonitoringPath, SubscriptionFilterID(region, acct, "other", "*")}},
			map[string]want{filter: {WatchedEnabled, false, true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			chs := applyAll(t, m, tc.recs...)
			if got := chs[len(chs)-1].Touched; !reflect.DeepEqual(got, tc.wantTouched) {
				t.Errorf("Touched = %v, want %v", got, tc.wantTouched)
			}
			for arn, w := range tc.want {
				got, err := m.Watched(context.Background(), arn)
				if err != nil {
					t.Fatal(err)
				}
				if !w.wantExists {
					if got != nil {
						t.Errorf("%s = %+v, want none", arn, got)
					}
					continue
				}
				if got == nil || got.State != w.state || got.LogGroupDeleted != w.groupGone || got.LogGroup != "trail" {
					t.Errorf("%s = %+v, want state %s, log group deleted %v", arn, got, w.state, w.groupGone)
				}
			}
		})
	}
	if _, err := NewMemory().Apply(context.Background(), deleteLogGroup(t, "x", 0, "")); err == nil || !strings.Contains(err.Error(), "requestParameters.logGroupName missing") {
		t.Errorf("DeleteLogGroup without a group: error %v", err)
	}
}

// TestTrailCloudWatchLogsDelivery: CreateTrail and UpdateTrail with the
// API reference's cloudWatchLogsLogGroupArn / cloudWatchLogsRoleArn
// parameters; "" removes the delivery. Response elements as
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html
// returns them (a field without a value is left out).
func TestTrailCloudWatchLogsDelivery(t *testing.T) {
	const group = "arn:aws:logs:us-east-1:111122223333:log-group:trail:*"
	const role = "arn:aws:iam::111122223333:role/CloudTrail_CloudWatchLogs_Role"
	create := monitoringRecord(t, "c", 0, cloudtrail.SourceCloudTrail, "CreateTrail",
		`{"name":"org","s3BucketName":"logs","isMultiRegionTrail":true,"cloudWatchLogsLogGroupArn":"`+group+`","cloudWatchLogsRoleArn":"`+role+`"}`,
		`{"name":"org","s3BucketName":"logs","includeGlobalServiceEvents":true,"isMultiRegionTrail":true,"trailARN":"`+trailARN+
			`","logFileValidationEnabled":false,"cloudWatchLogsLogGroupArn":"`+group+`","cloudWatchLogsRoleArn":"`+role+`","isOrganizationTrail":false}`)
	remove := monitoringRecord(t, "u", 1, cloudtrail.SourceCloudTrail, "UpdateTrail",
		`{"name":"org","cloudWatchLogsLogGroupArn":"","cloudWatchLogsRoleArn":""}`,
		`{"name":"org","s3BucketName":"logs","includeGlobalServiceEvents":true,"isMultiRegionTrail":true,"trailARN":"`+trailARN+
			`","logFileValidationEnabled":false,"isOrganizationTrail":false}`)
	restore := monitoringRecord(t, "r", 2, cloudtrail.SourceCloudTrail, "UpdateTrail",
		`{"name":"org","cloudWatchLogsLogGroupArn":"`+group+`","cloudWatchLogsRoleArn":"`+role+`"}`, "")
	other := monitoringRecord(t, "o", 2, cloudtrail.SourceCloudTrail, "UpdateTrail", `{"name":"org","s3BucketName":"logs"}`, "")
	tests := []struct {
		name          string
		recs          []*cloudtrail.Record
		current, base string
	}{
		{"created delivering", []*cloudtrail.Record{create}, group, group},
		{"delivery removed", []*cloudtrail.Record{create, remove}, "", group},
		{"restored", []*cloudtrail.Record{create, remove, restore}, group, group},
		{"an update not naming it keeps it", []*cloudtrail.Record{create, other}, group, group},
		{"removal older than the create", []*cloudtrail.Record{remove, create}, "", group},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			applyAll(t, m, tc.recs...)
			tr := getTrail(t, m, trailARN)
			if !tr.CloudWatchLogsKnown || tr.CloudWatchLogsLogGroupARN != tc.current || tr.BaselineCloudWatchLogsLogGroupARN != tc.base {
				t.Errorf("delivery %q (known %v), baseline %q; want %q, %q", tr.CloudWatchLogsLogGroupARN, tr.CloudWatchLogsKnown,
					tr.BaselineCloudWatchLogsLogGroupARN, tc.current, tc.base)
			}
		})
	}
	if got := LogGroupName(group); got != "trail" {
		t.Errorf("LogGroupName = %q", got)
	}
	if got := LogGroupName("arn:aws:s3:::bucket"); got != "" {
		t.Errorf("LogGroupName of a bucket = %q", got)
	}
}

// TestServiceEventShape: a service event is judged as EventBridge delivers
// it ("AWS Service Event via CloudTrail"), so a rule that matches only API
// calls misses it, as it would in AWS.
func TestServiceEventShape(t *testing.T) {
	rec := representativeRecord(cloudtrail.SourceKMS, "DeleteExpiredKeyMaterial", acct, region)
	ev := eventBridgeEvent(rec, acct, region)
	if ev["detail-type"] != "AWS Service Event via CloudTrail" || rec["eventType"] != "AwsServiceEvent" || ev["source"] != "aws.kms" {
		t.Fatalf("service event = %v", ev)
	}
	call := eventBridgeEvent(representativeRecord(cloudtrail.SourceKMS, "DisableKey", acct, region), acct, region)
	if call["detail-type"] != "AWS API Call via CloudTrail" || call["detail"].(map[string]any)["eventType"] != "AwsApiCall" {
		t.Fatalf("API call = %v", call)
	}
}
