package cloudtrail

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// docEnableKeyRotation is the record of
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html
// in the documented shape; the tests break one field at a time.
const docEnableKeyRotation = `{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID",` +
	`"arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"},` +
	`"eventTime":"2020-07-25T23:41:56Z","eventSource":"kms.amazonaws.com","eventName":"EnableKeyRotation","awsRegion":"us-west-2",` +
	`"sourceIPAddress":"192.0.2.0","userAgent":"AWS Internal","requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab",` +
	`"rotationPeriodInDays":180},"responseElements":{"keyId":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},` +
	`"requestID":"81f5b794-452b-4d6a-932b-68c188165273","eventID":"fefc43a7-8e06-419f-bcab-b3bf18d6a401","readOnly":false,` +
	`"resources":[{"accountId":"111122223333","type":"AWS::KMS::Key","ARN":"arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],` +
	`"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`

const docEventID = "fefc43a7-8e06-419f-bcab-b3bf18d6a401"

// broken returns the documented record with old replaced by new.
func broken(t *testing.T, old, new string) string {
	t.Helper()
	if !strings.Contains(docEnableKeyRotation, old) {
		t.Fatalf("record has no %s", old)
	}
	return strings.Replace(docEnableKeyRotation, old, new, 1)
}

// in returns a record in each delivery shape, named.
func shapes(t *testing.T, record string) map[string]string {
	t.Helper()
	eb := `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.kms","account":"111122223333",` +
		`"time":"2020-07-25T23:41:56Z","region":"us-west-2","resources":[],"detail":` + record + `}`
	payload, err := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "trail",
		"logStream": "111122223333_CloudTrail_us-west-2", "subscriptionFilters": []string{"atrest"},
		"logEvents": []any{map[string]any{"id": "le-1", "timestamp": 1595720516000, "message": record}}})
	if err != nil {
		t.Fatal(err)
	}
	cw := `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(gzipBytes(t, payload)) + `"}}`
	return map[string]string{
		"log file":    logFile(efsFS, record),
		"eventbridge": eb,
		"awslogs":     cw,
	}
}

// Every decode error says what is wrong, once, where, and for which eventID.
// A record whose eventName is of interest is counted as of interest even
// when it is bad.
func TestDecodeErrorMessages(t *testing.T) {
	where := map[string]string{
		"log file":    "in: Records[1]",
		"eventbridge": "in: value[0]",
		"awslogs":     "in: value[0].awslogs.data.logEvents[0]",
	}
	note := map[string]string{"awslogs": "log event le-1: "}
	tests := []struct {
		name     string
		record   func(t *testing.T) string
		want     string // after the location and eventID; {note} marks the log event note
		eventID  bool
		relevant bool
	}{
		{"time in the wrong format",
			func(t *testing.T) string { return broken(t, `"2020-07-25T23:41:56Z"`, `"25/07/2020 23:41:56"`) },
			`wrong format: {note}eventTime "25/07/2020 23:41:56" is not an RFC 3339 time such as 2006-01-02T15:04:05Z`, true, true},
		{"time of the wrong type",
			func(t *testing.T) string { return broken(t, `"2020-07-25T23:41:56Z"`, `1595720516`) },
			`wrong type: {note}eventTime is a number, not a string`, true, true},
		{"missing eventID said once",
			func(t *testing.T) string { return broken(t, `"eventID":"`+docEventID+`",`, ``) },
			`missing field: {note}eventID`, false, true},
		{"two missing fields",
			func(t *testing.T) string {
				return strings.Replace(broken(t, `"eventID":"`+docEventID+`",`, ``), `"eventTime":"2020-07-25T23:41:56Z",`, ``, 1)
			},
			`missing field: {note}eventID, eventTime`, false, true},
		{"field of the wrong type",
			func(t *testing.T) string { return broken(t, `"awsRegion":"us-west-2"`, `"awsRegion":["us-west-2"]`) },
			`wrong type: {note}awsRegion is an array, not a string`, true, true},
		{"eventName of the wrong type: not known to be of interest",
			func(t *testing.T) string { return broken(t, `"eventName":"EnableKeyRotation"`, `"eventName":7`) },
			`wrong type: {note}eventName is a number, not a string`, true, false},
		{"unsupported eventVersion",
			func(t *testing.T) string { return broken(t, `"eventVersion":"1.05"`, `"eventVersion":"2.0"`) },
			`unsupported eventVersion: {note}eventVersion "2.0": atrest reads version 1.x records`, true, true},
	}
	for _, tt := range tests {
		for shape, input := range shapes(t, tt.record(t)) {
			for _, d := range []*Decoder{{}, NewPlainDecoder(nil)} {
				name := tt.name + "/" + shape
				if d.plain {
					name += "/plain"
				}
				t.Run(name, func(t *testing.T) {
					got := decodeBytes(t, d, "in", []byte(input))
					want := where[shape]
					if tt.eventID {
						want += " (eventID " + docEventID + ")"
					}
					want += ": " + strings.Replace(tt.want, "{note}", note[shape], 1)
					if len(got.errs) != 1 || got.errs[0].Error() != want {
						var msgs []string
						for _, e := range got.errs {
							msgs = append(msgs, e.Error())
						}
						t.Fatalf("errors %q\nwant   %q", msgs, want)
					}
					wantRelevant, wantInvalid := 0, 0
					if tt.relevant {
						wantRelevant, wantInvalid = 1, 1
					}
					if shape == "log file" {
						wantRelevant++ // the valid CreateFileSystem before it
					}
					if got.stats.Relevant != wantRelevant || got.stats.Invalid != wantInvalid || got.stats.Errors != 1 {
						t.Errorf("stats %+v, want Relevant %d, Invalid %d, Errors 1", got.stats, wantRelevant, wantInvalid)
					}
				})
			}
		}
	}
}

// An EventBridge event without its record names the missing member once.
// Envelope: https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
func TestEventBridgeWithoutDetail(t *testing.T) {
	in := `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.kms",` +
		`"account":"111122223333","time":"2020-07-25T23:41:56Z","region":"us-west-2","resources":[]}`
	got := decodeBytes(t, &Decoder{}, "in", []byte(in))
	want := "in: value[0]: missing field: detail (EventBridge event eb-1)"
	if len(got.errs) != 1 || got.errs[0].Error() != want {
		t.Fatalf("errors %v, want %q", got.errs, want)
	}
}

// The envelope is decoded without its record, and the record on its own:
// a null detail is missing, and of two detail members the last is the
// record, as encoding/json reads the event whole.
func TestEventBridgeDetailMembers(t *testing.T) {
	envelope := `{"version":"0","id":"eb-1","detail-type":"AWS API Call via CloudTrail","source":"aws.kms",` +
		`"account":"111122223333","time":"2020-07-25T23:41:56Z","region":"us-west-2","resources":[]`
	record := func(name string) string {
		return `{"eventVersion":"1.08","eventTime":"2020-07-25T23:41:56Z","eventSource":"kms.amazonaws.com","eventName":"` + name +
			`","awsRegion":"us-west-2","recipientAccountId":"111122223333","eventID":"e-` + name + `"}`
	}
	got := decodeBytes(t, &Decoder{}, "in", []byte(envelope+`,"detail":null}`))
	if want := "in: value[0]: missing field: detail (EventBridge event eb-1)"; len(got.errs) != 1 || got.errs[0].Error() != want {
		t.Errorf("null detail: errors %v, want %q", got.errs, want)
	}
	two := envelope + `,"detail":` + record("DisableKey") + `,"detail":` + record("EnableKey") + `}`
	var ev struct{ Detail struct{ EventName string } }
	if err := json.Unmarshal([]byte(two), &ev); err != nil || ev.Detail.EventName != "EnableKey" {
		t.Fatalf("encoding/json reads %q (%v), want the last detail", ev.Detail.EventName, err)
	}
	got = decodeBytes(t, &Decoder{}, "in", []byte(two))
	if len(got.errs) != 0 || len(got.recs) != 1 || got.recs[0].EventName != "EnableKey" {
		t.Fatalf("records %v, errors %v: want the last detail's EnableKey", got.recs, got.errs)
	}
}
