package cloudtrail

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/samples"
	"github.com/atrest/atrest/internal/trailgen"
)

// sampleRecords are the CloudTrail records of the sample events (the
// EventBridge detail, the CloudTrail log files' and CloudWatch Logs
// events' records where they are plain JSON) and of a generated log: the
// shapes walkRecord meets in use.
func sampleRecords(t testing.TB) [][]byte {
	var recs [][]byte
	for _, v := range samples.Decoded(t, samples.Events) {
		samples.Objects(v, func(o map[string]any) bool {
			_, name := o["eventName"]
			_, source := o["eventSource"]
			if name && source {
				recs = append(recs, samples.JSON(t, o))
				return false
			}
			return true
		})
	}
	var log bytes.Buffer
	if _, err := trailgen.Write(&log, trailgen.Options{Records: 300, Relevant: 0.5, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []json.RawMessage }
	if err := json.Unmarshal(log.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	for _, r := range file.Records {
		recs = append(recs, r)
	}
	return recs
}

// walkedAsUnmarshal fails unless walkRecord, when it reads raw, reads what
// json.Unmarshal does; it reports whether walkRecord read it.
func walkedAsUnmarshal(t *testing.T, raw []byte) bool {
	t.Helper()
	return readAsUnmarshal(t, raw, walkRecord)
}

// readAsUnmarshal fails unless walk, when it reads raw into a zero T,
// reads what json.Unmarshal does; it reports whether walk read it.
func readAsUnmarshal[T any](t *testing.T, raw []byte, walk func([]byte, *T) bool) bool {
	t.Helper()
	if !json.Valid(raw) || !utf8.Valid(raw) {
		return false // the walks are not called on such text
	}
	var got T
	if !walk(raw, &got) {
		return false
	}
	var want T
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("walked %q, json.Unmarshal failed: %v", raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("walked %q\nto   %#v\nwant %#v", raw, got, want)
	}
	return true
}

func TestWalkRecordAsUnmarshal(t *testing.T) {
	// Every record that decodes is read by the walk, not left to
	// json.Unmarshal (a sample with a number for eventTime does not decode).
	decoded, walked := 0, 0
	for _, raw := range sampleRecords(t) {
		if json.Unmarshal(raw, new(Record)) == nil {
			decoded++
		}
		if walkedAsUnmarshal(t, raw) {
			walked++
		}
	}
	if walked != decoded || walked < 300 {
		t.Fatalf("walked %d of the %d records that decode", walked, decoded)
	}
	for _, tc := range []struct {
		name   string
		raw    string
		walked bool
	}{
		{"keys in any case", `{"EVENTNAME":"CreateKey","eventsource":"kms.amazonaws.com","EventTime":"2026-01-02T03:04:05Z"}`, true},
		{"nulls", `{"eventName":null,"eventTime":null,"readOnly":null,"resources":null,"userIdentity":null,"requestParameters":null}`, true},
		{"escapes in values", `{"eventName":"Create\u004bey","errorMessage":"a\"b\\\\c\n","userAgent":"é"}`, true},
		{"empty and null resources entries", `{"resources":[],"eventID":"e"}`, true},
		{"resources entries", `{"resources":[null,{"ARN":"a","TYPE":"t","x":[1]},{}],"readOnly":false}`, true},
		{"raw members as written", `{"requestParameters":{ "b" : [1, 2] ,"a":"\"" },"responseElements":"s","additionalEventData":7}`, true},
		{"a member twice", `{"eventName":"A","eventName":"B"}`, false},
		{"an escaped key", `{"event\u004eame":"A"}`, false},
		{"a number for a string", `{"eventName":5}`, false},
		{"a string for readOnly", `{"readOnly":"true"}`, false},
		{"an eventTime that does not parse", `{"eventTime":"yesterday"}`, false},
		{"an object for resources", `{"resources":{}}`, false},
		{"a string for userIdentity", `{"userIdentity":"u"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := walkedAsUnmarshal(t, []byte(tc.raw)); got != tc.walked {
				t.Fatalf("walked %v, want %v", got, tc.walked)
			}
		})
	}
}

// FuzzWalkRecord holds walkRecord to json.Unmarshal on any text.
func FuzzWalkRecord(f *testing.F) {
	for _, raw := range sampleRecords(f)[:40] {
		f.Add(raw)
	}
	f.Add([]byte(`{"resources":[null,{"ARN":"a","TYPE":"t"}],"readOnly":true,"eventName":"A\u0042","userIdentity":{"type":"x","ARN":null}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		walkedAsUnmarshal(t, raw)
	})
}

// envelopeWalkedAsUnmarshal fails unless walkEnvelope, when it reads raw,
// reads what json.Unmarshal does; it reports whether walkEnvelope read it.
func envelopeWalkedAsUnmarshal(t *testing.T, raw []byte) bool {
	t.Helper()
	return readAsUnmarshal(t, raw, walkEnvelope)
}

func TestWalkEnvelopeAsUnmarshal(t *testing.T) {
	// Every EventBridge sample event is walked, whole and as the decoder
	// reads its envelope (the detail as null).
	walked := 0
	for _, v := range samples.Decoded(t, samples.Events) {
		o, ok := v.(map[string]any)
		if !ok || o["detail-type"] == nil {
			continue
		}
		whole := samples.JSON(t, o)
		o["detail"] = nil
		for _, raw := range [][]byte{whole, samples.JSON(t, o)} {
			if !envelopeWalkedAsUnmarshal(t, raw) {
				t.Fatalf("not walked: %s", raw)
			}
		}
		walked++
	}
	if walked < 5 {
		t.Fatalf("walked %d EventBridge sample events", walked)
	}
	for _, tc := range []struct {
		name   string
		raw    string
		walked bool
	}{
		{"keys in any case", `{"DETAIL-TYPE":"AWS API Call via CloudTrail","Id":"e","resources":["a",null,"b"]}`, true},
		{"nulls", `{"version":null,"resources":null,"detail":null}`, true},
		{"escapes in values", `{"id":"\u0065","source":"a\"b","region":"é"}`, true},
		{"a detail as written", `{"detail":{ "eventName" : "CreateKey" }}`, true},
		{"a member twice", `{"id":"a","ID":"b"}`, false},
		{"an escaped key", `{"detail\u002dtype":"x"}`, false},
		{"a number for a string", `{"account":111122223333}`, false},
		{"a string for resources", `{"resources":"a"}`, false},
		{"a number in resources", `{"resources":[1]}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := envelopeWalkedAsUnmarshal(t, []byte(tc.raw)); got != tc.walked {
				t.Fatalf("walked %v, want %v", got, tc.walked)
			}
		})
	}
}

// FuzzWalkEnvelope holds walkEnvelope to json.Unmarshal on any text.
func FuzzWalkEnvelope(f *testing.F) {
	f.Add([]byte(`{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.kms","account":"111122223333","time":"2026-11-20T09:05:00Z","region":"us-east-1","resources":["a"],"detail":null}`))
	f.Add([]byte(`{"DETAIL-TYPE":"x","resources":[null,"b"],"detail":{"a":[1,{}]}}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		envelopeWalkedAsUnmarshal(t, raw)
	})
}
