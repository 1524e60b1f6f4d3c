package lambdafn

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/replay"
)

// TestArchiveBodyReadsReplayMessages: the messages `atrest replay --queue`
// sends are S3 notifications trail-archive reads, key for key; those naming
// another bucket are refused like any other.
func TestArchiveBodyReadsReplayMessages(t *testing.T) {
	at := time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC)
	tests := []struct {
		name, bucket, key string
		refused           string
	}{
		{name: "log file", bucket: trailBucket, key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/" + replay.ObjectName("111122223333", "us-east-1", at, "Sample1")},
		{name: "organization trail under a prefix", bucket: trailBucket, key: "org logs+x/AWSLogs/o-exampleorg1/111122223333/CloudTrail/us-east-1/2026/11/22/" + replay.ObjectName("111122223333", "us-east-1", at, "Sample1")},
		{name: "another bucket", bucket: "other-bucket", key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/" + replay.ObjectName("111122223333", "us-east-1", at, "Sample1"),
			refused: `message refused: Records[0] names bucket "other-bucket", not the trail bucket`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := replay.NotificationBody(tt.bucket, "us-east-1", replay.Object{Key: tt.key, Size: 1234, Delivered: at})
			if err != nil {
				t.Fatal(err)
			}
			out, dropped, err := archiveBody(trailBucket, body, map[string]bool{})
			if tt.refused != "" {
				if err == nil || err.Error() != tt.refused {
					t.Fatalf("err = %v, want %q", err, tt.refused)
				}
				return
			}
			if err != nil || dropped != 0 {
				t.Fatalf("archiveBody: err %v, dropped %d", err, dropped)
			}
			var n s3Notification
			if err := json.Unmarshal(out, &n); err != nil {
				t.Fatal(err)
			}
			if len(n.Records) != 1 {
				t.Fatalf("%d records, want 1", len(n.Records))
			}
			key, err := url.QueryUnescape(n.Records[0].S3.Object.Key)
			if err != nil || key != tt.key || n.Records[0].S3.Object.Size != 1234 {
				t.Errorf("key %q (%v), size %d; want %q, 1234", key, err, n.Records[0].S3.Object.Size, tt.key)
			}
		})
	}
}

// TestTrailArchiveJudgesReplayMessages: trail-archive reads the log file a
// replay message names and judges it as evaluate does.
func TestTrailArchiveJudgesReplayMessages(t *testing.T) {
	const key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
	obj, ok := replay.ParseKey("", key)
	if !ok {
		t.Fatalf("the sample's key %s is not in the documented layout", key)
	}
	body, err := replay.NotificationBody(trailBucket, "us-east-1", obj)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m := archiveMonitor(t, cloudtrail.DirOpener{Root: "../../events/s3"}, &logs)
	resp, err := m.TrailArchive(context.Background(), events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m-1", Body: string(body)}}})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("err %v, failures %v", err, resp.BatchItemFailures)
	}
	// `atrest evaluate --s3-root events/s3 events/11-sqs-s3-cloudtrail-log-file.json`,
	// the S3 notification S3 itself sent for this log file, gives 8
	// findings, each logged: two records of interest on one key, the
	// PutKeyPolicy judged by the five key rules, the DisableKey by the
	// three it can change (efs_kms_key_available, efs_kms_key_verified,
	// kms_key_rotation_enabled).
	if findings := strings.Count(logs.String(), `"msg":"finding"`); findings != 8 {
		t.Errorf("%d findings, want 8", findings)
	}
}
