package lambdafn_test

// A fleet replay end to end on one moto server: `atrest replay --queue`'s
// listing and enqueue put one S3 notification per log file of a trail
// bucket on a queue; trail-archive, under the emulator, drains the queue in
// batches as an event source mapping would, its S3 reads and its ledger on
// moto; the ledger table it leaves must be the ledger a local replay of the
// same files leaves.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/replay"
	"github.com/atrest/atrest/internal/trailgen"
)

const (
	fleetAccount = "111122223333"
	fleetRegion  = "us-east-1"
	// sampleLogKey is events/s3's log file (the documented log entries of
	// DisableKey, Decrypt, PutKeyPolicy and EnableKeyRotation of one key,
	// cited in TestTrailArchiveUnderEmulator), at its key in the bucket.
	sampleLogKey = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz"
)

// storyFiles are log files of the key story (keyStory's samples, whose
// records are the documented CloudTrail log entries cited there), one
// after the other on 2026-11-20: the key is created without rotation, then
// a file system is encrypted with it and EFS given its grant. events/s3's
// sample log file carries the same key's PutKeyPolicy, EnableKeyRotation
// and DisableKey two days later, so the key's and the file system's ledger
// entries take findings from three files.
var storyFiles = []struct {
	delivered time.Time
	samples   []string
}{
	{time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC), []string{keyStory[0]}},
	{time.Date(2026, 11, 20, 10, 5, 0, 0, time.UTC), []string{keyStory[2], keyStory[3]}},
}

// logFile gzips records as a CloudTrail log file.
func logFile(t *testing.T, records []json.RawMessage) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if err := json.NewEncoder(zw).Encode(map[string]any{"Records": records}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// fleetArchive puts the test's trail bucket on moto, in the documented key
// layout, and returns the keys of its log files from 2026-11-20 to
// 2026-11-22 in S3's order: the story files, events/s3's sample log file,
// and 7 generated log files a day, one every five minutes from 11:00, a
// quarter of their records of interest (fresh keys and file systems in
// each, so each of their resources is judged from one file): 24 objects,
// not a multiple of replay.BatchSize. A log file of 2026-11-23 and a digest
// lie beside them, outside what the replay asks for.
func fleetArchive(t *testing.T, client *s3.Client, bucket string) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket: %v", err)
	}
	put := func(key string, body []byte) {
		t.Helper()
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
	}
	root := "AWSLogs/" + fleetAccount + "/"
	name := func(delivered time.Time, unique string) string {
		return replay.DayPrefix(root, fleetRegion, delivered) + replay.ObjectName(fleetAccount, fleetRegion, delivered, unique)
	}
	var keys []string
	for i, f := range storyFiles {
		var records []json.RawMessage
		for _, sample := range f.samples {
			var ev struct {
				Detail json.RawMessage `json:"detail"`
			}
			if err := json.Unmarshal(readEvent(t, sample), &ev); err != nil {
				t.Fatalf("%s: %v", sample, err)
			}
			records = append(records, ev.Detail)
		}
		key := name(f.delivered, fmt.Sprintf("Story%d", i+1))
		put(key, logFile(t, records))
		keys = append(keys, key)
	}
	sample, err := os.ReadFile(filepath.Join(repoRoot, "events", "s3", "atrest-trail-bucket", sampleLogKey))
	if err != nil {
		t.Fatal(err)
	}
	put(sampleLogKey, sample)
	keys = append(keys, sampleLogKey)
	for day := range 4 {
		date := time.Date(2026, 11, 20+day, 0, 0, 0, 0, time.UTC)
		for i := range 7 {
			delivered := date.Add(11*time.Hour + time.Duration(i)*5*time.Minute)
			var b bytes.Buffer
			if _, err := trailgen.Write(&b, trailgen.Options{
				Records: 20, Relevant: 0.25, Seed: uint64(100*day + i), Gzip: true,
				Start: delivered.Add(-5 * time.Minute), Account: fleetAccount, Region: fleetRegion,
			}); err != nil {
				t.Fatal(err)
			}
			key := name(delivered, fmt.Sprintf("Gen%d%02d", day, i))
			put(key, b.Bytes())
			if day == 3 {
				break // one file past --until
			}
			keys = append(keys, key)
		}
	}
	put(root+"CloudTrail-Digest/"+fleetRegion+"/2026/11/22/"+fleetAccount+"_CloudTrail-Digest_"+fleetRegion+"_trail_"+fleetRegion+"_20261122T100000Z.json.gz", []byte("{}"))
	slices.Sort(keys)
	return keys
}

// receivedEvent is the event Lambda's event source mapping hands the function
// for messages received from a queue, as "Using Lambda with Amazon SQS"
// shows it (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html,
// "Example standard queue message event").
func receivedEvent(t *testing.T, queueARN string, msgs []sqstypes.Message) []byte {
	t.Helper()
	var ev events.SQSEvent
	for _, m := range msgs {
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
			Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody),
			Attributes: m.Attributes, MessageAttributes: map[string]events.SQSMessageAttribute{},
			EventSource: "aws:sqs", EventSourceARN: queueARN, AWSRegion: fleetRegion,
		})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// messageKey is the object a replay message names.
func messageKey(t *testing.T, body string) string {
	t.Helper()
	var n struct {
		Records []struct {
			S3 struct {
				Object struct {
					Key string `json:"key"`
				} `json:"object"`
			} `json:"s3"`
		} `json:"Records"`
	}
	if err := json.Unmarshal([]byte(body), &n); err != nil || len(n.Records) != 1 {
		t.Fatalf("message body %s: %v", body, err)
	}
	key, err := url.QueryUnescape(n.Records[0].S3.Object.Key)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// localReplay replays objs on this machine as `atrest replay` does, one
// worker, into a monitor built from env (its memory ledger), and returns
// the ledger's entries.
func localReplay(t *testing.T, env map[string]string, client replay.Client, bucket string, objs []replay.Object) []ledger.Entry {
	t.Helper()
	ctx := context.Background()
	s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := lambdafn.NewMonitor(ctx, s, slog.New(slog.DiscardHandler), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	run := m.Harness.Start(replay.Source)
	res, err := replay.Run(ctx, run, objs, replay.Options{Client: client, Bucket: bucket, Workers: 1})
	run.Finish(ctx)
	if err != nil || len(res.Failed) > 0 || res.Objects != len(objs) {
		t.Fatalf("local replay: %v, %d of %d objects, failed %v", err, res.Objects, len(objs), res.Failed)
	}
	entries, err := m.Harness.Ledger().List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return entries
}

func TestFleetReplayLedgerEqualsLocalReplay(t *testing.T) {
	endpoint := awstest.Moto(t)
	cfg := awstest.Config(t, endpoint)
	var calls awstest.Calls
	calls.Install(&cfg)
	ctx := context.Background()
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	sq := sqs.NewFromConfig(cfg)
	suffix := fmt.Sprint(time.Now().UnixNano())
	bucket := "atrest-fleet-" + suffix
	keys := fleetArchive(t, s3c, bucket)
	created, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("atrest-trail-archive-" + suffix)})
	if err != nil {
		t.Fatal(err)
	}
	queueURL := aws.ToString(created.QueueUrl)
	attrs, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL), AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	queueARN := attrs.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	table := motoLedgerTable(t, cfg)

	// `atrest replay --since 2026-11-20 --until 2026-11-22 --queue URL
	// s3://BUCKET`: the listing and the enqueue the command runs.
	listing, err := replay.List(ctx, s3c, replay.Scope{Bucket: bucket,
		Since: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), Until: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(replayKeys(listing.Objects), "\n"); got != strings.Join(keys, "\n") {
		t.Fatalf("listed\n%s\nwant\n%s", got, strings.Join(keys, "\n"))
	}
	calls.Reset()
	sent, err := replay.Enqueue(ctx, sq, queueURL, bucket, cfg.Region, listing.Objects)
	if err != nil || sent != len(keys) {
		t.Fatalf("sent %d of %d: %v", sent, len(keys), err)
	}
	if n, want := calls.Get("SendMessageBatch"), int(math.Ceil(float64(len(keys))/replay.BatchSize)); n != want || want != 3 {
		t.Errorf("%d SendMessageBatch calls for %d objects, want %d", n, len(keys), want)
	}
	if n := calls.Get("SendMessage"); n != 0 {
		t.Errorf("%d single SendMessage calls", n)
	}

	// The function as deployed for the fleet, but with the memory store:
	// moto holds none of the archive's keys, so the live store could not
	// judge them. The settle window is off in both replays: a fleet
	// invocation re-checks what it holds at its end, a local replay at the
	// end of everything; the window has tests of its own.
	env := localEnv()
	delete(env, lambdafn.EnvS3Root)
	env[lambdafn.EnvTrailBucket] = bucket
	env[lambdafn.EnvSettleSeconds] = "0"
	for k, v := range awsEnv(endpoint) {
		if strings.HasPrefix(k, "AWS_") {
			env[k] = v
		}
	}
	fnEnv := map[string]string{lambdafn.EnvLedgerTable: table}
	for k, v := range env {
		fnEnv[k] = v
	}
	fn := startFunction(t, lambdafn.FunctionTrailArchive, fnEnv)

	// The event source mapping: receive up to 10, invoke, delete what
	// succeeded. One instance reads the batches as moto hands them out, in
	// the order sent, so the story's files are judged in the order a local
	// replay judges them: the ledger takes findings in any order, but what
	// a record is judged against depends on the records applied before it.
	named := map[string]int{}
	var (
		judged  []finding.Finding
		batches []int
	)
	for {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, VisibilityTimeout: 600, MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		batches = append(batches, len(out.Messages))
		r := fn.invoke(t, receivedEvent(t, queueARN, out.Messages))
		var resp events.SQSEventResponse
		if err := json.Unmarshal(r.Response, &resp); err != nil || resp.BatchItemFailures == nil || len(resp.BatchItemFailures) != 0 {
			t.Fatalf("response %s, want no batch item failures", r.Response)
		}
		for _, msg := range []string{"message refused", "message failed, to be delivered again", "ledger not updated"} {
			if l := hasLog(r, msg); l != nil {
				t.Errorf("%s: %v", msg, l)
			}
		}
		judged = append(judged, r.Findings...)
		del := &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(queueURL)}
		for i, m := range out.Messages {
			named[messageKey(t, aws.ToString(m.Body))]++
			del.Entries = append(del.Entries, sqstypes.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint(i)), ReceiptHandle: m.ReceiptHandle})
		}
		if d, err := sq.DeleteMessageBatch(ctx, del); err != nil || len(d.Failed) > 0 {
			t.Fatalf("DeleteMessageBatch: %v %+v", err, d)
		}
	}
	if len(named) != len(keys) {
		t.Errorf("the queue named %d objects, want %d", len(named), len(keys))
	}
	for _, k := range keys {
		if named[k] != 1 {
			t.Errorf("%s named by %d messages", k, named[k])
		}
	}

	lt, err := ledger.NewTable(dynamodb.NewFromConfig(cfg), table)
	if err != nil {
		t.Fatal(err)
	}
	got, err := lt.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := localReplay(t, env, s3c, bucket, listing.Objects)
	if g, w := entriesJSON(t, got), entriesJSON(t, want); g != w {
		gl, wl := strings.Split(g, "\n"), strings.Split(w, "\n")
		t.Errorf("the fleet's ledger table (%d entries) differs from a local replay's ledger (%d entries)\nonly in the table:\n%s\nonly in the local ledger:\n%s",
			len(got), len(want), strings.Join(missing(wl, gl), "\n"), strings.Join(missing(gl, wl), "\n"))
	}

	// Not vacuous: the files judged into a mix of statuses.
	statuses := map[finding.Status]int{}
	transitions := 0
	for _, e := range want {
		statuses[e.Status]++
		transitions += len(e.Transitions)
	}
	t.Logf("%d messages in batches %v; %d findings from the fleet; ledger: %d entries, %d transitions, %v",
		len(named), batches, len(judged), len(want), transitions, statuses)
	if statuses[finding.Compliant] == 0 || statuses[finding.NonCompliant] == 0 || transitions < len(want) {
		t.Errorf("ledger statuses %v, %d transitions for %d entries: want both COMPLIANT and NON_COMPLIANT entries, one transition each at least", statuses, transitions, len(want))
	}
	if len(judged) < len(want) {
		t.Errorf("the fleet judged %d findings, fewer than the %d ledger entries", len(judged), len(want))
	}
	// The story's entries, judged from three files: the sample log file's
	// EnableKeyRotation failed (AccessDenied), so rotation stays off; its
	// DisableKey makes the key unavailable to the file system.
	const storyFS = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
	wantStory := []string{
		"efs_encrypted_at_rest " + storyFS + " COMPLIANT: COMPLIANT@CreateFileSystem",
		"efs_encryption_in_transit_enforced " + storyFS + " NON_COMPLIANT: NON_COMPLIANT@CreateFileSystem",
		"efs_kms_key_available " + storyKey + " NON_COMPLIANT: NOT_APPLICABLE@CreateKey COMPLIANT@CreateFileSystem NON_COMPLIANT@DisableKey",
		"efs_kms_key_policy_grants_efs " + storyKey + " NON_COMPLIANT: NOT_APPLICABLE@CreateKey NON_COMPLIANT@CreateFileSystem",
		"efs_kms_key_symmetric " + storyKey + " COMPLIANT: NOT_APPLICABLE@CreateKey COMPLIANT@CreateFileSystem",
		"efs_kms_key_verified " + storyKey + " NOT_APPLICABLE: NOT_APPLICABLE@CreateKey",
		"kms_key_rotation_enabled " + storyKey + " NON_COMPLIANT: NON_COMPLIANT@CreateKey",
	}
	var story []string
	for _, e := range got {
		if e.Resource != storyKey && e.Resource != storyFS {
			continue
		}
		line := fmt.Sprintf("%s %s %s:", e.Rule, e.Resource, e.Status)
		for _, tr := range e.Transitions {
			line += fmt.Sprintf(" %s@%s", tr.To, tr.EventName)
		}
		story = append(story, line)
	}
	slices.Sort(story)
	if !slices.Equal(story, wantStory) {
		t.Errorf("the story's entries in the table\n got %q\nwant %q", story, wantStory)
	}
}

// missing returns the lines of b that a lacks.
func missing(a, b []string) []string {
	var out []string
	for _, l := range b {
		if !slices.Contains(a, l) {
			out = append(out, l)
		}
	}
	return out
}

func replayKeys(objs []replay.Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}
