package cloudtrail

import (
	"encoding/base64"
	"encoding/json"
	"testing"
)

// Event IDs of the AWS service event records in testdata, as the KMS
// developer guide prints them:
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteexpiredkeymaterial.html
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
// The log file also holds a RotateKey service event (automatic rotation),
// which is of no interest:
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-rotatekey.html
const (
	idDeleteExpired = "cfa932fd-0d3a-4a76-a8b8-616863a2b547"
	idDeleteKey     = "b25f9cda-74e1-4458-847b-4972a0bf9668"
)

// awsLogsEvent wraps CloudTrail records as a CloudWatch Logs subscription
// delivers them: one record per log event, the payload gzip, then base64.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
func awsLogsPayload(t *testing.T, records []json.RawMessage) []byte {
	t.Helper()
	type logEvent struct {
		ID        string `json:"id"`
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	}
	payload := map[string]any{
		"messageType": "DATA_MESSAGE", "owner": testAccount, "logGroup": "aws-cloudtrail-logs",
		"logStream": testAccount + "_CloudTrail_us-east-1", "subscriptionFilters": []string{"atrest"},
	}
	var evs []logEvent
	for i, r := range records {
		evs = append(evs, logEvent{ID: "3789", Timestamp: int64(1748000000000 + i), Message: string(r)})
	}
	payload["logEvents"] = evs
	raw, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := json.Marshal(map[string]any{"awslogs": map[string]string{"data": base64.StdEncoding.EncodeToString(gzipBytes(t, raw))}})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// TestDecodeServiceEvents checks that AWS service events (eventType
// AwsServiceEvent) decode in every delivery shape: EventBridge delivers them
// with detail-type "AWS Service Event via CloudTrail"
// (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html),
// log files and CloudWatch Logs carry them like any other record.
func TestDecodeServiceEvents(t *testing.T) {
	logFile := readFixture(t, "kms-service-events-logfile.json")
	var file struct {
		Records []json.RawMessage
	}
	if err := json.Unmarshal(logFile, &file); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		data  []byte
		ids   []string
		shape Shape
		stats Stats
		errs  []wantErr
	}{
		{name: "EventBridge AWS Service Event via CloudTrail", data: readFixture(t, "kms-deleteexpiredkeymaterial-eventbridge-service.json"),
			ids: []string{idDeleteExpired}, shape: ShapeEventBridge, stats: Stats{Records: 1, Relevant: 1}},
		{name: "log file: DeleteKey and DeleteExpiredKeyMaterial kept, RotateKey skipped", data: logFile,
			ids: []string{idDeleteKey, idDeleteExpired}, shape: ShapeLogFile, stats: Stats{Records: 3, Relevant: 2, Skipped: 1}},
		{name: "log file gzip", data: gzipBytes(t, logFile),
			ids: []string{idDeleteKey, idDeleteExpired}, shape: ShapeLogFile, stats: Stats{Records: 3, Relevant: 2, Skipped: 1}},
		{name: "CloudWatch Logs", data: awsLogsPayload(t, file.Records),
			ids: []string{idDeleteKey, idDeleteExpired}, shape: ShapeCloudWatchLogs, stats: Stats{Records: 3, Relevant: 2, Skipped: 1}},
		{name: "single record", data: file.Records[0],
			ids: []string{idDeleteKey}, shape: ShapeRecord, stats: Stats{Records: 1, Relevant: 1}},
	}
	for _, tt := range tests {
		for _, plain := range []bool{false, true} {
			name := tt.name
			if plain {
				name += " (plain decode)"
			}
			t.Run(name, func(t *testing.T) {
				got := decodeBytes(t, &Decoder{plain: plain}, "input", tt.data)
				check(t, got, tt.ids, tt.shape, tt.stats, tt.errs)
				for _, r := range got.recs {
					if r.EventType != "AwsServiceEvent" || r.EventSource != SourceKMS {
						t.Errorf("record %s: eventType %q, eventSource %q", r.EventID, r.EventType, r.EventSource)
					}
				}
			})
		}
	}
}
