package lambdafn_test

import (
	"encoding/json"
	"testing"

	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/replay"
)

// TestTrailArchiveDrainsReplayMessages: trail-archive, under the emulator,
// drains a batch of the messages `atrest replay --queue` sends (the sample
// log file of events/s3, named twice as a fleet replay rerun would) and
// judges the file once, as the oracle reading the same body does.
func TestTrailArchiveDrainsReplayMessages(t *testing.T) {
	fn := startFunction(t, lambdafn.FunctionTrailArchive, localEnv())
	o := newOracle(t)
	const key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
	obj, ok := replay.ParseKey("", key)
	if !ok {
		t.Fatalf("%s is not in the documented layout", key)
	}
	body, err := replay.NotificationBody("atrest-trail-bucket", "us-east-1", obj)
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := json.Marshal(map[string]any{"Records": []map[string]any{
		{"messageId": "replay-1", "body": string(body), "eventSource": "aws:sqs"},
		{"messageId": "replay-2", "body": string(body), "eventSource": "aws:sqs"},
	}})
	r := fn.invoke(t, batch)
	var resp struct {
		BatchItemFailures []struct {
			ItemIdentifier string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(r.Response, &resp); err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("response %s, want no batch item failures", r.Response)
	}
	want := o.judge(t, "sqs:replay-1", body)
	if len(want) == 0 {
		t.Fatal("the oracle found nothing in the sample log file")
	}
	sameFindings(t, "replay messages", r.Findings, want)
}
