package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/state"
)

// Delivery shapes of a record.

// asEventBridge wraps a record as EventBridge delivers it: detail-type "AWS
// API Call via CloudTrail", source "aws.<service>".
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
func asEventBridge(t *testing.T, rec map[string]any) string {
	t.Helper()
	src := rec["eventSource"].(string)
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws." + strings.TrimSuffix(src, ".amazonaws.com"), "account": acct, "time": rec["eventTime"],
		"region": region, "resources": []any{}, "detail": rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// asCloudWatchLogs wraps records as a CloudWatch Logs subscription delivers
// them: awslogs.data, base64 of gzip of a DATA_MESSAGE whose log events are
// the records.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
func asCloudWatchLogs(t *testing.T, recs ...map[string]any) string {
	t.Helper()
	var events []map[string]any
	for i, r := range recs {
		msg, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, map[string]any{"id": fmt.Sprint(i), "timestamp": 1700000000000 + i, "message": string(msg)})
	}
	data, err := json.Marshal(map[string]any{
		"messageType": "DATA_MESSAGE", "owner": acct, "logGroup": "trail", "logStream": acct + "_CloudTrail_" + region,
		"subscriptionFilters": []string{"atrest-trail-logs"}, "logEvents": events,
	})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	b, _ := json.Marshal(map[string]any{"awslogs": map[string]any{"data": base64.StdEncoding.EncodeToString(buf.Bytes())}})
	return string(b)
}

// kmsRulePattern is a KMS rule pattern like the stack's: API calls and the
// service events KMS writes (DeleteExpiredKeyMaterial, DeleteKey).
func kmsRulePattern(names []string) string {
	p, _ := json.Marshal(map[string]any{
		"source": []string{"aws.kms"}, "detail-type": []string{"AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"},
		"detail": map[string]any{"eventSource": []string{cloudtrail.SourceKMS}, "eventName": names},
	})
	return string(p)
}

// TestMonitoringPathBlinded: each way of blinding the monitoring path, in
// the record shapes the API references and the services' CloudTrail pages
// document (PutRule: https://docs.aws.amazon.com/eventbridge/latest/userguide/logging-using-cloudtrail.html;
// PutTargets, RemoveTargets: the EventBridge API reference; PutSubscriptionFilter,
// DeleteLogGroup: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutSubscriptionFilter.html,
// .../API_DeleteLogGroup.html, which document no CloudTrail example;
// CreateTrail, UpdateTrail: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_UpdateTrail.html),
// delivered as EventBridge events and through CloudWatch Logs, each
// NON_COMPLIANT with its reason and COMPLIANT again once restored.
func TestMonitoringPathBlinded(t *testing.T) {
	const ruleARN = "arn:aws:events:us-east-1:111122223333:rule/atrest-kms-calls"
	const fn = "arn:aws:lambda:us-east-1:111122223333:function:atrest-trail-events"
	const filterID = "arn:aws:logs:us-east-1:111122223333:log-group:trail:subscription-filter:atrest-trail-logs"
	const group = "arn:aws:logs:us-east-1:111122223333:log-group:trail:*"
	full := kmsRulePattern(cloudtrail.SourceEventNames(cloudtrail.SourceKMS))
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	putRule := func(id string, min int, pattern string) map[string]any {
		return record(id, min, cloudtrail.SourceEvents, "PutRule",
			`{"name":"atrest-kms-calls","eventPattern":`+q(pattern)+`,"state":"ENABLED","description":""}`, `{"ruleArn":"`+ruleARN+`"}`)
	}
	putTargets := func(id string, min int, arn string) map[string]any {
		return record(id, min, cloudtrail.SourceEvents, "PutTargets", `{"rule":"atrest-kms-calls","targets":[{"id":"fn","arn":"`+arn+`"}]}`,
			`{"failedEntryCount":0,"failedEntries":[]}`)
	}
	putFilter := func(id string, min int, pattern string) map[string]any {
		return record(id, min, cloudtrail.SourceLogs, "PutSubscriptionFilter",
			`{"logGroupName":"trail","filterName":"atrest-trail-logs","filterPattern":`+q(pattern)+`,"destinationArn":"arn:aws:lambda:us-east-1:111122223333:function:atrest-trail-logs"}`, "")
	}
	templateFilter := `{ ($.eventSource = "kms.amazonaws.com") || ($.eventSource = "elasticfilesystem.amazonaws.com") || ($.eventSource = "cloudtrail.amazonaws.com") || ($.eventSource = "events.amazonaws.com") || ($.eventSource = "logs.amazonaws.com") }`
	createTrail := func(id string, min int, multi bool) map[string]any {
		return record(id, min, cloudtrail.SourceCloudTrail, "CreateTrail",
			fmt.Sprintf(`{"name":"atrest-trail","s3BucketName":"logs","isMultiRegionTrail":%v,"cloudWatchLogsLogGroupArn":%q,"cloudWatchLogsRoleArn":"arn:aws:iam::111122223333:role/ct"}`, multi, group),
			fmt.Sprintf(`{"name":"atrest-trail","s3BucketName":"logs","isMultiRegionTrail":%v,"includeGlobalServiceEvents":true,"trailARN":%q,"cloudWatchLogsLogGroupArn":%q}`, multi, trailARN, group))
	}
	failedRule := putRule("failed", 9, `{"source":["aws.ec2"]}`)
	failedRule["errorCode"] = "AccessDeniedException"
	tests := []struct {
		name    string
		shape   string // "eventbridge", "logs" or "file"
		recs    []map[string]any
		regions []string
		want    string // the last finding: resource status: reason
	}{
		{"PutRule narrowing the pattern", "eventbridge", []map[string]any{putRule("a", 0, full), putRule("b", 1, kmsRulePattern([]string{"CreateKey", "EnableKey"}))}, nil,
			ruleARN + " NON_COMPLIANT: watched EventBridge rule atrest-kms-calls: its event pattern no longer matches kms.amazonaws.com calls " +
				strings.Join(allBut(cloudtrail.SourceEventNames(cloudtrail.SourceKMS), "CreateKey", "EnableKey"), ", ")},
		{"PutRule pattern restored", "eventbridge", []map[string]any{putRule("a", 0, `{"source":["aws.ec2"]}`), putRule("b", 1, full)}, nil,
			ruleARN + " COMPLIANT: watched EventBridge rule atrest-kms-calls is enabled"},
		{"PutRule with a pattern atrest cannot read", "logs", []map[string]any{putRule("a", 0, `{"source":"aws.kms"}`)}, nil,
			ruleARN + ` NON_COMPLIANT: watched EventBridge rule atrest-kms-calls: atrest cannot read its event pattern (event pattern cannot be read: source: "aws.kms" is neither an object nor a list)`},
		{"a failed PutRule changes nothing", "file", []map[string]any{putRule("a", 0, full), failedRule}, nil,
			ruleARN + " COMPLIANT: watched EventBridge rule atrest-kms-calls is enabled"},
		{"PutTargets re-pointing the target", "eventbridge", []map[string]any{putRule("a", 0, full), putTargets("b", 1, fn), putTargets("c", 2, "arn:aws:sqs:us-east-1:111122223333:elsewhere")}, nil,
			ruleARN + " NON_COMPLIANT: watched EventBridge rule atrest-kms-calls: target fn points to arn:aws:sqs:us-east-1:111122223333:elsewhere, not " + fn},
		{"PutTargets pointing back", "eventbridge", []map[string]any{putRule("a", 0, full), putTargets("b", 1, fn), putTargets("c", 2, "arn:aws:sqs:us-east-1:111122223333:elsewhere"), putTargets("d", 3, fn)}, nil,
			ruleARN + " COMPLIANT: watched EventBridge rule atrest-kms-calls is enabled"},
		{"RemoveTargets", "logs", []map[string]any{putRule("a", 0, full), record("r", 1, cloudtrail.SourceEvents, "RemoveTargets", `{"rule":"atrest-kms-calls","ids":["fn"]}`, `{"failedEntryCount":0,"failedEntries":[]}`)}, nil,
			ruleARN + " NON_COMPLIANT: watched EventBridge rule atrest-kms-calls: targets fn were removed"},
		{"PutSubscriptionFilter dropping EFS", "eventbridge", []map[string]any{putFilter("a", 0, templateFilter), putFilter("b", 1, `{ $.eventSource = "kms.amazonaws.com" }`)}, nil,
			filterID + " NON_COMPLIANT: watched subscription filter atrest-trail-logs on log group trail: its filter pattern drops every elasticfilesystem.amazonaws.com record"},
		{"PutSubscriptionFilter with a term pattern", "eventbridge", []map[string]any{putFilter("a", 0, `kms`)}, nil,
			filterID + " NON_COMPLIANT: watched subscription filter atrest-trail-logs on log group trail: atrest cannot read its filter pattern (filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read)"},
		{"PutSubscriptionFilter restored", "eventbridge", []map[string]any{putFilter("a", 0, `{ $.eventSource = "kms.amazonaws.com" }`), putFilter("b", 1, templateFilter)}, nil,
			filterID + " COMPLIANT: watched subscription filter atrest-trail-logs on log group trail is in place"},
		{"DeleteLogGroup", "eventbridge", []map[string]any{putFilter("a", 0, templateFilter), record("d", 1, cloudtrail.SourceLogs, "DeleteLogGroup", `{"logGroupName":"trail"}`, "")}, nil,
			filterID + " NON_COMPLIANT: log group trail of watched subscription filter atrest-trail-logs on log group trail was deleted"},
		{"UpdateTrail removing the CloudWatch Logs delivery", "eventbridge", []map[string]any{createTrail("c", 0, true), trailEvent("s", 1, "StartLogging", `{"name":"atrest-trail"}`),
			trailEvent("u", 2, "UpdateTrail", `{"name":"atrest-trail","cloudWatchLogsLogGroupArn":"","cloudWatchLogsRoleArn":""}`)}, nil,
			trailARN + " NON_COMPLIANT: trail atrest-trail: CloudWatch Logs delivery to log group trail, which watched subscription filters read, was removed"},
		{"UpdateTrail restoring it", "file", []map[string]any{createTrail("c", 0, true), trailEvent("s", 1, "StartLogging", `{"name":"atrest-trail"}`),
			trailEvent("u", 2, "UpdateTrail", `{"name":"atrest-trail","cloudWatchLogsLogGroupArn":""}`),
			trailEvent("v", 3, "UpdateTrail", fmt.Sprintf(`{"name":"atrest-trail","cloudWatchLogsLogGroupArn":%q}`, group))}, nil,
			trailARN + " COMPLIANT: trail atrest-trail is logging"},
		{"single-Region from creation", "eventbridge", []map[string]any{createTrail("c", 0, false), trailEvent("s", 1, "StartLogging", `{"name":"atrest-trail"}`)},
			[]string{"us-east-1", "eu-west-1"},
			trailARN + " NON_COMPLIANT: trail atrest-trail: single-Region trail logs only us-east-1, not monitored regions eu-west-1"},
		{"single-Region, only its own region monitored", "eventbridge", []map[string]any{createTrail("c", 0, false), trailEvent("s", 1, "StartLogging", `{"name":"atrest-trail"}`)},
			[]string{"us-east-1"}, trailARN + " COMPLIANT: trail atrest-trail is logging"},
		{"multi-Region covers every region", "logs", []map[string]any{createTrail("c", 0, true), trailEvent("s", 1, "StartLogging", `{"name":"atrest-trail"}`)},
			[]string{"us-east-1", "eu-west-1"}, trailARN + " COMPLIANT: trail atrest-trail is logging"},
	}
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.WatchedEventRules = []string{"atrest-kms-calls"}
			cfg.WatchedSubscriptionFilters = []string{"trail:atrest-trail-logs"}
			cfg.MonitoredRegions = tc.regions
			p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			var inputs []string
			switch tc.shape {
			case "eventbridge":
				for _, r := range tc.recs {
					inputs = append(inputs, asEventBridge(t, r))
				}
			case "logs":
				inputs = append(inputs, asCloudWatchLogs(t, tc.recs...))
			default:
				inputs = append(inputs, logFile(t, tc.recs...))
			}
			var got collected
			for i, in := range inputs {
				rep, err := p.ProcessInput(context.Background(), fmt.Sprintf("in%d.json", i), strings.NewReader(in), got.emit)
				if err != nil || rep.Bad() {
					t.Fatalf("ProcessInput: %v, %+v", err, rep)
				}
			}
			f := got.last(t, "cloudtrail_monitoring_intact")
			if s := fmt.Sprintf("%s %s: %s", f.Resource, f.Status, f.Reason); s != tc.want {
				t.Errorf("last finding:\n %s\nwant\n %s", s, tc.want)
			}
		})
	}
}

func allBut(names []string, keep ...string) []string {
	var out []string
	for _, n := range names {
		found := false
		for _, k := range keep {
			found = found || k == n
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}
