package replay

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/cloudtrail"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// TestReplayOnMoto lays the 1,000-file archive in an S3 bucket on moto and
// replays days 2 to 4 of it: the replay lists only those day folders (plus
// one discovery call per folder level), reads exactly the log files in range
// once each, and gives the findings of a sequential evaluate of the same
// files. Sent to a queue instead, the files of a day make ⌈files/10⌉
// SendMessageBatch calls, one S3 notification per file.
func TestReplayOnMoto(t *testing.T) {
	endpoint := awstest.Moto(t)
	cfg := awstest.Config(t, endpoint)
	var calls awstest.Calls
	calls.Install(&cfg)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = true
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	a := layArchive(t)
	a.putS3(t, client)
	root := t.TempDir()
	a.writeDir(t, root)
	from, to := 1, 3
	objs := a.inRange(from, to)
	ctx := context.Background()
	sc := Scope{Bucket: testBucket, Since: testFirstDay.AddDate(0, 0, from), Until: testFirstDay.AddDate(0, 0, to)}

	t.Run("replay", func(t *testing.T) {
		calls.Reset()
		c := newCountingClient(client)
		l, err := List(ctx, c, sc)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys(l.Objects), keys(objs)) {
			t.Fatalf("listed %d objects, want the %d in range", len(l.Objects), len(objs))
		}
		// AWSLogs/, the organization's folder, each account's CloudTrail/,
		// then one page per day folder (S3's 1,000 keys a page).
		wantLists := 1 + 1 + len(testAccounts) + a.expectedDayPages(from, to, 1000)
		if n := calls.Get("ListObjectsV2"); n != wantLists {
			t.Errorf("%d ListObjectsV2 calls, want %d", n, wantLists)
		}
		got, res, err := replayAll(t, ctx, c, l.Objects, Options{Workers: 4, MaxInflight: 16})
		if err != nil || res.Report.Bad() || len(res.Failed) > 0 {
			t.Fatalf("replay: %v, bad %v, failed %v", err, res.Report.Bad(), res.Failed)
		}
		if n := calls.Get("GetObject"); n != len(objs) {
			t.Errorf("%d GetObject calls, want %d", n, len(objs))
		}
		for _, o := range objs {
			if c.gets[o.Key] != 1 {
				t.Errorf("%s read %d times", o.Key, c.gets[o.Key])
			}
		}
		want := evaluateSequentially(t, root, objs)
		if g, w := findingLines(t, got), findingLines(t, want); !slices.Equal(g, w) {
			t.Errorf("replay from S3 gave %d findings, evaluate of the files %d; they differ", len(g), len(w))
		}
		if g, w := lastPerResource(got), lastPerResource(want); !maps.Equal(g, w) {
			t.Errorf("last finding per rule and resource differs")
		}
	})

	t.Run("queue", func(t *testing.T) {
		q := sqs.NewFromConfig(cfg)
		created, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("trail-archive-replay")})
		if err != nil {
			t.Fatal(err)
		}
		queueURL := aws.ToString(created.QueueUrl)
		// One account and region of one day: moto's SQS takes seconds a
		// call on a busy machine.
		one := Scope{Bucket: testBucket, OrgID: testOrg, Accounts: testAccounts[:1], Regions: testRegions[:1], Since: sc.Since, Until: sc.Since}
		l, err := List(ctx, client, one)
		if err != nil {
			t.Fatal(err)
		}
		var objs []Object
		for _, o := range a.inRange(from, from) {
			if o.Account == testAccounts[0] && o.Region == testRegions[0] {
				objs = append(objs, o)
			}
		}
		if !slices.Equal(keys(l.Objects), keys(objs)) || len(objs)%BatchSize == 0 {
			t.Fatalf("listed %d objects, want the %d of the day (not a multiple of %d)", len(l.Objects), len(objs), BatchSize)
		}
		calls.Reset()
		sent, err := Enqueue(ctx, q, queueURL, testBucket, awstest.Region, l.Objects)
		if err != nil || sent != len(objs) {
			t.Fatalf("sent %d of %d: %v", sent, len(objs), err)
		}
		if n, want := calls.Get("SendMessageBatch"), int(math.Ceil(float64(len(objs))/BatchSize)); n != want {
			t.Errorf("%d SendMessageBatch calls, want %d", n, want)
		}
		if n := calls.Get("SendMessage"); n != 0 {
			t.Errorf("%d single SendMessage calls", n)
		}
		got := map[string]int{}
		for {
			out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, VisibilityTimeout: 600})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				break
			}
			for _, m := range out.Messages {
				var n struct {
					Records []cloudtrail.S3EventRecord `json:"Records"`
				}
				if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &n); err != nil || len(n.Records) != 1 {
					t.Fatalf("message %s: %v, %d records", aws.ToString(m.MessageId), err, len(n.Records))
				}
				r := n.Records[0]
				key, err := url.QueryUnescape(r.S3.Object.Key)
				if err != nil || r.EventSource != "aws:s3" || r.EventName != "ObjectCreated:Put" || r.S3.Bucket.Name != testBucket {
					t.Fatalf("message %s: %+v (%v)", aws.ToString(m.MessageId), r, err)
				}
				got[key]++
			}
		}
		if len(got) != len(objs) {
			t.Errorf("received %d objects, want %d", len(got), len(objs))
		}
		for _, o := range objs {
			if got[o.Key] != 1 {
				t.Errorf("%s named by %d messages", o.Key, got[o.Key])
			}
		}
	})
}
