package lambdafn

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

const trailBucket = "atrest-trail-bucket"

// s3Body is an S3 ObjectCreated notification with one record per key,
// shaped as the example of
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
// (the fields trail-archive does not read are left out).
func s3Body(t *testing.T, bucket, eventName string, keys ...string) string {
	t.Helper()
	var recs []map[string]any
	for _, k := range keys {
		recs = append(recs, map[string]any{
			"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
			"eventTime": "2026-11-22T09:05:30.000Z", "eventName": eventName,
			"s3": map[string]any{
				"s3SchemaVersion": "1.0", "configurationId": "atrest-log-files",
				"bucket": map[string]any{"name": bucket, "arn": "arn:aws:s3:::" + bucket},
				"object": map[string]any{"key": k, "size": 1024, "eTag": "d41d8cd98f00b204e9800998ecf8427e"},
			},
		})
	}
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cloudTrailBody is a log file's content put straight into a message: the
// DisableKey record of
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-disablekey.html.
const cloudTrailBody = `{"Records":[{"eventVersion":"1.02","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"},"eventTime":"2014-11-04T00:52:43Z","eventSource":"kms.amazonaws.com","eventName":"DisableKey","awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","userAgent":"AWS Internal","requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"},"responseElements":{"keyId":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},"requestID":"12345126-30d5-4b28-98b9-9153da559963","eventID":"abcde202-ba1a-467c-b4ba-f729d45ae521","readOnly":false,"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","accountId":"111122223333"}],"eventType":"AwsApiCall","recipientAccountId":"111122223333"}]}`

// joinBodies puts the records of two notifications into one.
func joinBodies(a, b string) string {
	return strings.TrimSuffix(a, "]}") + "," + strings.TrimPrefix(b, `{"Records":[`)
}

func TestArchiveBody(t *testing.T) {
	logKey := "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_a.json.gz"
	var eleven []string
	for i := range 11 {
		eleven = append(eleven, strings.Replace(logKey, "_a.", "_"+string(rune('a'+i))+".", 1))
	}
	tests := []struct {
		name    string
		bucket  string
		body    string
		keys    []string // keys of the body the pipeline reads
		dropped int
		err     string
	}{
		{name: "log file notification", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectCreated:Put", logKey), keys: []string{logKey}},
		{name: "key after a prefix", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectCreated:CompleteMultipartUpload", "org/AWSLogs/o-1/x.json.gz"), keys: []string{"org/AWSLogs/o-1/x.json.gz"}},
		{name: "repeated reference dropped", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectCreated:Put", logKey, logKey), keys: []string{logKey}, dropped: 1},
		{name: "S3 test event", bucket: trailBucket,
			body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-22T09:05:30.000Z","Bucket":"atrest-trail-bucket","RequestId":"C3D13FE58DE4C810","HostId":"FMyUVURIY8"}`},
		{name: "no trail bucket configured", bucket: "", body: s3Body(t, trailBucket, "ObjectCreated:Put", logKey),
			err: "message refused: ATREST_TRAIL_BUCKET is not set, so no bucket's notifications are read"},
		{name: "CloudTrail records in the body", bucket: trailBucket, body: cloudTrailBody,
			err: `message refused: Records[0] has eventSource "kms.amazonaws.com", not aws:s3: CloudTrail records are read only from the trail bucket's log files`},
		{name: "another bucket", bucket: trailBucket, body: s3Body(t, "attacker-bucket", "ObjectCreated:Put", logKey),
			err: `message refused: Records[0] names bucket "attacker-bucket", not the trail bucket`},
		{name: "not under AWSLogs/", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectCreated:Put", "uploads/AWSLogsX/x.json.gz"),
			err: `message refused: Records[0] object key "uploads/AWSLogsX/x.json.gz" is not under AWSLogs/`},
		{name: "not ObjectCreated", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectRemoved:Delete", logKey),
			err: `message refused: Records[0] is a "ObjectRemoved:Delete" notification, not ObjectCreated`},
		{name: "one bad record refuses the message", bucket: trailBucket, body: joinBodies(s3Body(t, trailBucket, "ObjectCreated:Put", logKey), s3Body(t, "other", "ObjectCreated:Put", "AWSLogs/b.json.gz")),
			err: `message refused: Records[1] names bucket "other", not the trail bucket`},
		{name: "more objects than the cap", bucket: trailBucket, body: s3Body(t, trailBucket, "ObjectCreated:Put", eleven...),
			err: "message refused: 11 records, more than the 10 a message may name"},
		{name: "test event of another bucket", bucket: trailBucket, body: `{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"other"}`,
			err: `message refused: S3 test event of bucket "other", not the trail bucket`},
		{name: "not JSON", bucket: trailBucket, body: "{not json",
			err: "message refused: body is not an S3 event notification: invalid character 'n' looking for beginning of object key string"},
		{name: "EventBridge event", bucket: trailBucket, body: `{"version":"0","source":"aws.kms","detail-type":"AWS API Call via CloudTrail","detail":{}}`,
			err: "message refused: body is not an S3 event notification (no Records)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, dropped, err := archiveBody(tt.bucket, []byte(tt.body), map[string]bool{})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || out != nil {
					t.Fatalf("error %v (body %s), want %q", err, out, tt.err)
				}
				return
			}
			if err != nil || dropped != tt.dropped {
				t.Fatalf("err %v dropped %d", err, dropped)
			}
			var got s3Notification
			if out != nil {
				if err := json.Unmarshal(out, &got); err != nil {
					t.Fatal(err)
				}
			}
			var keys []string
			for _, r := range got.Records {
				if r.EventSource != "aws:s3" || r.S3.Bucket.Name != trailBucket {
					t.Errorf("record %+v", r)
				}
				keys = append(keys, r.S3.Object.Key)
			}
			if !slices.Equal(keys, tt.keys) {
				t.Fatalf("keys %q, want %q", keys, tt.keys)
			}
		})
	}
}

func TestHandlerDeadlines(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		deadline time.Time
		want     time.Time
	}{
		{"two minutes left: the full margin", now.Add(2 * time.Minute), now.Add(2*time.Minute - MaxDeadlineMargin)},
		{"eight seconds left: a quarter", now.Add(8 * time.Second), now.Add(6 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handlerDeadline(tt.deadline, now); !got.Equal(tt.want) {
				t.Fatalf("handler deadline %v, want %v", got, tt.want)
			}
		})
	}
	if got, want := messageDeadline(now.Add(100*time.Second), now, 10), now.Add(10*time.Second); !got.Equal(want) {
		t.Fatalf("message deadline %v, want %v", got, want)
	}
	if got, want := messageDeadline(now.Add(100*time.Second), now, 0), now.Add(100*time.Second); !got.Equal(want) {
		t.Fatalf("message deadline with none left %v, want %v", got, want)
	}
	// The handler's context ends before Lambda's.
	parent, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Hour))
	defer cancel()
	hctx, hcancel := handlerContext(parent)
	defer hcancel()
	pd, _ := parent.Deadline()
	hd, ok := hctx.Deadline()
	if !ok || !hd.Equal(pd.Add(-MaxDeadlineMargin)) {
		t.Fatalf("handler deadline %v, Lambda's %v", hd, pd)
	}
}

// blockingOpener serves empty log files, except for the key slow, whose
// open waits until its context ends.
type blockingOpener struct {
	slow   string
	mu     sync.Mutex
	opened []string
}

func (o *blockingOpener) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	o.mu.Lock()
	o.opened = append(o.opened, key)
	o.mu.Unlock()
	if key == o.slow {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return io.NopCloser(strings.NewReader(`{"Records":[]}`)), nil
}

func archiveMonitor(t *testing.T, opener cloudtrail.Opener, logs io.Writer, sinks ...monitor.FindingSink) *Monitor {
	t.Helper()
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(logs, nil))
	h, err := monitor.New(monitor.Options{
		Pipeline: pipeline.Options{Store: state.NewMemory(), Engine: engine, Config: config.Default(),
			Decoder: &cloudtrail.Decoder{Opener: opener}},
		Log: log, Metrics: metrics.Nop{}, Sinks: sinks,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Monitor{Harness: h, Log: log, TrailBucket: trailBucket}
}

func logLines(t *testing.T, logs *bytes.Buffer, msg string) map[string]string {
	t.Helper()
	out := map[string]string{}
	sc := bufio.NewScanner(logs)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		if l["msg"] == msg {
			id, _ := l["message_id"].(string)
			e, _ := l["error"].(string)
			out[id] = e
		}
	}
	return out
}

func failedIDs(resp events.SQSEventResponse) []string {
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	return ids
}

// TestTrailArchiveSlowMessageFailsAlone: a message whose log file never
// arrives runs out of its share of the time and is the only one failed;
// the messages before and after it are read.
func TestTrailArchiveSlowMessageFailsAlone(t *testing.T) {
	opener := &blockingOpener{slow: "AWSLogs/slow.json.gz"}
	var logs bytes.Buffer
	m := archiveMonitor(t, opener, &logs)
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(2*time.Second))
	defer cancel()
	batch := events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-first", Body: s3Body(t, trailBucket, "ObjectCreated:Put", "AWSLogs/first.json.gz")},
		{MessageId: "m-slow", Body: s3Body(t, trailBucket, "ObjectCreated:Put", "AWSLogs/slow.json.gz")},
		{MessageId: "m-last", Body: s3Body(t, trailBucket, "ObjectCreated:Put", "AWSLogs/last.json.gz")},
	}}
	resp, err := m.TrailArchive(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); !slices.Equal(got, []string{"m-slow"}) {
		t.Errorf("batch item failures %v, want [m-slow]", got)
	}
	if want := []string{"AWSLogs/first.json.gz", "AWSLogs/slow.json.gz", "AWSLogs/last.json.gz"}; !slices.Equal(opener.opened, want) {
		t.Errorf("opened %v, want %v", opener.opened, want)
	}
	if ctx.Err() != nil {
		t.Error("the handler used up Lambda's deadline")
	}
}

// TestTrailArchiveRefusesForgedMessages: messages that are not the trail
// bucket's S3 notifications are refused, logged by message, never read nor
// judged, and not failed; a log file two messages name is read once.
func TestTrailArchiveRefusesForgedMessages(t *testing.T) {
	opener := &blockingOpener{}
	var logs bytes.Buffer
	var findings int
	m := archiveMonitor(t, opener, &logs, countingSink{&findings})
	good := s3Body(t, trailBucket, "ObjectCreated:Put", "AWSLogs/good.json.gz")
	batch := events.SQSEvent{Records: []events.SQSMessage{
		// A refused message does not mark the objects it named as seen.
		{MessageId: "m-half-forged", Body: joinBodies(good, s3Body(t, "attacker-bucket", "ObjectCreated:Put", "AWSLogs/y.json.gz"))},
		{MessageId: "m-cloudtrail", Body: cloudTrailBody},
		{MessageId: "m-other-bucket", Body: s3Body(t, "attacker-bucket", "ObjectCreated:Put", "AWSLogs/x.json.gz")},
		{MessageId: "m-good", Body: good},
		{MessageId: "m-again", Body: good},
	}}
	resp, err := m.TrailArchive(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	if got := failedIDs(resp); len(got) != 0 {
		t.Errorf("batch item failures %v, want none", got)
	}
	if !slices.Equal(opener.opened, []string{"AWSLogs/good.json.gz"}) {
		t.Errorf("opened %v, want the good log file once", opener.opened)
	}
	if findings != 0 {
		t.Errorf("%d findings from forged messages", findings)
	}
	refused := logLines(t, bytes.NewBuffer(logs.Bytes()), "message refused")
	want := map[string]string{
		"m-half-forged":  `message refused: Records[1] names bucket "attacker-bucket", not the trail bucket`,
		"m-cloudtrail":   `message refused: Records[0] has eventSource "kms.amazonaws.com", not aws:s3: CloudTrail records are read only from the trail bucket's log files`,
		"m-other-bucket": `message refused: Records[0] names bucket "attacker-bucket", not the trail bucket`,
	}
	if !maps.Equal(refused, want) {
		t.Errorf("refused %q\nwant %q", refused, want)
	}
	if dropped := logLines(t, bytes.NewBuffer(logs.Bytes()), "repeated object references dropped"); len(dropped) != 1 {
		t.Errorf("dropped lines %v, want one for m-again", dropped)
	} else if _, ok := dropped["m-again"]; !ok {
		t.Errorf("dropped lines %v, want one for m-again", dropped)
	}
}

type countingSink struct{ n *int }

func (countingSink) Name() string { return "counting" }

func (c countingSink) PublishFindings(_ context.Context, fs []finding.Finding) (int, error) {
	*c.n += len(fs)
	return len(fs), nil
}
