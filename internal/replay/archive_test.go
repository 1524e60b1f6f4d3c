package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
)

// The test archive: an organization trail's bucket with 1,000 log files
// over 3 accounts × 2 regions × 5 days, laid out as "Finding your
// CloudTrail log files" documents
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html),
// plus what a replay must not read: digest files, a second trail under
// another prefix, and files in a day folder that are not log files.
const (
	testBucket  = "org-trail-archive"
	testOrg     = "o-exampleorg1"
	testObjects = 1000
)

var (
	testAccounts = []string{"111122223333", "444455556666", "777788889999"}
	testRegions  = []string{"eu-west-1", "us-east-1"}
	testFirstDay = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	testDays     = 5
)

// archiveObject is one object of the test bucket.
type archiveObject struct {
	key  string
	body []byte
}

// archive is the laid-out test bucket.
type archive struct {
	objects []archiveObject // every object, log file or not
	logs    []Object        // the log files under AWSLogs/ (not the other prefix)
}

// sampleRecords are the CloudTrail records of the sample events in
// events/: each built from the AWS documentation page of its call (the
// sample files and rules/README.md cite them). They are returned in
// eventTime order.
func sampleRecords(t testing.TB) []map[string]any {
	t.Helper()
	files, err := filepath.Glob("../../events/[0-9][0-9]-*.json")
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	for _, f := range files {
		base := filepath.Base(f)
		if strings.HasPrefix(base, "9") || strings.Contains(base, "cloudwatch-logs") || strings.Contains(base, "sqs") {
			continue // malformed on purpose, or not a CloudTrail record
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Detail  map[string]any   `json:"detail"`
			Records []map[string]any `json:"Records"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if v.Detail != nil {
			recs = append(recs, v.Detail)
		}
		recs = append(recs, v.Records...)
	}
	slices.SortStableFunc(recs, func(a, b map[string]any) int {
		return strings.Compare(a["eventTime"].(string), b["eventTime"].(string))
	})
	if len(recs) < 20 {
		t.Fatalf("%d sample records, want at least 20", len(recs))
	}
	return recs
}

// layArchive builds the test bucket. Each log file holds generated noise
// (internal/trailgen) and, spread over a partition's files in eventTime
// order, the sample records rewritten to its account and region, with
// their own eventIDs and an eventTime within the file's five minutes. One
// record is delivered twice, in two files, as CloudTrail may do.
func layArchive(t testing.TB) *archive {
	t.Helper()
	laid.Lock()
	defer laid.Unlock()
	if laid.a == nil {
		laid.a = buildArchive(t)
	}
	return laid.a
}

// laid is the archive, built once per test binary (it takes seconds).
var laid struct {
	sync.Mutex
	a *archive
}

func buildArchive(t testing.TB) *archive {
	t.Helper()
	samples := sampleRecords(t)
	a := &archive{}
	type partition struct{ account, region string }
	var parts []partition
	for _, acc := range testAccounts {
		for _, reg := range testRegions {
			parts = append(parts, partition{acc, reg})
		}
	}
	perPart := make([]int, len(parts))
	for i := range testObjects {
		perPart[i%len(parts)]++ // 166 or 167 files a partition, 33 or 34 a day
	}
	seq := 0
	for pi, p := range parts {
		n := perPart[pi]
		root := logsFolder + testOrg + "/" + p.account + "/"
		var duplicate []byte
		dupAt := -1
		prevDay, k := -1, 0
		for i := range n {
			d := i * testDays / n
			if d != prevDay {
				prevDay, k = d, 0
			}
			k++
			day := testFirstDay.AddDate(0, 0, d)
			delivered := day.Add(time.Duration(k) * 5 * time.Minute) // every five minutes
			var recs []json.RawMessage
			var buf bytes.Buffer
			if _, err := trailgen.Write(&buf, trailgen.Options{Records: 3, Relevant: 1e-9, Seed: uint64(seq), Start: delivered.Add(-4 * time.Minute), Account: p.account, Region: p.region}); err != nil {
				t.Fatal(err)
			}
			var file struct {
				Records []json.RawMessage `json:"Records"`
			}
			if err := json.Unmarshal(buf.Bytes(), &file); err != nil {
				t.Fatal(err)
			}
			recs = append(recs, file.Records...)
			for si, s := range samples {
				if si*n/len(samples) != i {
					continue
				}
				r := rewrite(t, s, p.account, p.region, fmt.Sprintf("%08d-0000-4000-8000-%012d", pi, si), delivered.Add(-time.Minute+time.Duration(si)*time.Second))
				recs = append(recs, r)
				if si == len(samples)/2 {
					duplicate, dupAt = r, i+1
				}
			}
			if i == dupAt {
				recs = append(recs, duplicate) // delivered again in the next file
			}
			unique := fmt.Sprintf("Rep%013d", seq)
			key := DayPrefix(root, p.region, day) + ObjectName(p.account, p.region, delivered, unique)
			body := gzipJSON(t, map[string]any{"Records": recs})
			a.objects = append(a.objects, archiveObject{key: key, body: body})
			lf, ok := ParseKey("", key)
			if !ok {
				t.Fatalf("laid out key %s does not parse", key)
			}
			lf.Size = int64(len(body))
			a.logs = append(a.logs, lf)
			seq++
		}
		for d := range testDays {
			day := testFirstDay.AddDate(0, 0, d)
			stamp := day.Add(time.Hour).Format(nameTime)
			// The digest file of the day, in its own folder.
			digest := root + "CloudTrail-Digest/" + p.region + "/" + day.Format(dayLayout) + "/" +
				p.account + "_CloudTrail-Digest_" + p.region + "_org-trail_us-east-1_" + stamp + ".json.gz"
			a.objects = append(a.objects, archiveObject{key: digest, body: gzipJSON(t, map[string]any{"awsAccountId": p.account, "logFiles": []any{}})})
			// A second trail of the organization under another prefix.
			other := "other-trail/" + DayPrefix(root, p.region, day) + ObjectName(p.account, p.region, day.Add(time.Hour), "Other0000000001")
			a.objects = append(a.objects, archiveObject{key: other, body: gzipJSON(t, map[string]any{"Records": []any{}})})
		}
		// Files in a day folder that are not this folder's log files.
		dayFolder := DayPrefix(root, p.region, testFirstDay.AddDate(0, 0, 2))
		a.objects = append(a.objects,
			archiveObject{key: dayFolder + "README.txt", body: []byte("not a log file")},
			archiveObject{key: dayFolder + ObjectName("999999999999", p.region, testFirstDay.AddDate(0, 0, 2), "Stray0000000001"), body: gzipJSON(t, map[string]any{"Records": []any{}})},
		)
	}
	slices.SortFunc(a.logs, func(x, y Object) int { return strings.Compare(x.Key, y.Key) })
	if len(a.logs) != testObjects {
		t.Fatalf("laid out %d log files, want %d", len(a.logs), testObjects)
	}
	return a
}

// rewrite moves a sample record to account and region, with a new eventID
// and eventTime.
func rewrite(t testing.TB, rec map[string]any, account, region, eventID string, at time.Time) json.RawMessage {
	t.Helper()
	r := make(map[string]any, len(rec))
	for k, v := range rec {
		r[k] = v
	}
	r["eventID"] = eventID
	r["eventTime"] = at.UTC().Format(time.RFC3339)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "111122223333", account)
	s = strings.ReplaceAll(s, "us-east-1", region)
	return json.RawMessage(s)
}

func gzipJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// writeDir lays the archive out under root/bucket, as DirClient reads it.
func (a *archive) writeDir(t testing.TB, root string) {
	t.Helper()
	for _, o := range a.objects {
		p := filepath.Join(root, testBucket, filepath.FromSlash(o.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, o.body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// putS3 puts the archive in a bucket, a few objects at a time.
func (a *archive) putS3(t testing.TB, client *s3.Client) {
	t.Helper()
	ctx := context.Background()
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(testBucket)}); err != nil {
		t.Fatal(err)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	next := make(chan archiveObject)
	for range 8 {
		wg.Go(func() {
			for o := range next {
				_, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(testBucket), Key: aws.String(o.key), Body: bytes.NewReader(o.body)})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for _, o := range a.objects {
		next <- o
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d objects not put; first: %v", len(errs), errs[0])
	}
}

// inRange are the log files delivered on days [from, to] (0-based).
func (a *archive) inRange(from, to int) []Object {
	var out []Object
	for _, o := range a.logs {
		d := int(o.Delivered.Sub(testFirstDay) / (24 * time.Hour))
		if d >= from && d <= to {
			out = append(out, o)
		}
	}
	return out
}

// countingClient counts the calls a replay makes: ListObjectsV2 calls, and
// GetObject calls per key.
type countingClient struct {
	Client
	mu    sync.Mutex
	lists int
	gets  map[string]int
	// onGet, when set, is called before each GetObject with how many
	// were made so far (this one included).
	onGet func(n int)
}

func newCountingClient(c Client) *countingClient {
	return &countingClient{Client: c, gets: map[string]int{}}
}

func (c *countingClient) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	c.mu.Lock()
	c.lists++
	c.mu.Unlock()
	return c.Client.ListObjectsV2(ctx, in, optFns...)
}

func (c *countingClient) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	c.mu.Lock()
	c.gets[aws.ToString(in.Key)]++
	n := 0
	for _, v := range c.gets {
		n += v
	}
	onGet := c.onGet
	c.mu.Unlock()
	if onGet != nil {
		onGet(n)
	}
	return c.Client.GetObject(ctx, in, optFns...)
}

func (c *countingClient) totalGets() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.gets {
		n += v
	}
	return n
}

// newPipeline is the pipeline `atrest evaluate` builds: a memory store,
// the embedded rules, the default configuration.
func newPipeline(t testing.TB, engine *policy.Engine) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.New(pipeline.Options{Store: state.NewMemory(), Engine: engine, Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var engineOnce = sync.OnceValues(func() (*policy.Engine, error) { return policy.New(context.Background()) })

func testEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := engineOnce()
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// evaluateSequentially is what `atrest evaluate FILE...` does with the
// files, one after the other in the order given: the reference a replay
// must equal.
func evaluateSequentially(t testing.TB, root string, objs []Object) []finding.Finding {
	t.Helper()
	p := newPipeline(t, testEngine(t))
	var out []finding.Finding
	for _, o := range objs {
		path := filepath.Join(root, testBucket, filepath.FromSlash(o.Key))
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := p.ProcessInput(context.Background(), path, f, func(fd finding.Finding) error {
			out = append(out, fd)
			return nil
		})
		f.Close()
		if err != nil || rep.Bad() {
			t.Fatalf("evaluate %s: %v, %d decode errors, %d apply errors", path, err, len(rep.DecodeErrors), len(rep.ApplyErrors))
		}
	}
	return out
}

// lastPerResource is the last finding of each rule and resource: what the
// ledger keeps.
func lastPerResource(fs []finding.Finding) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		out[f.Rule+" "+f.Resource] = string(f.Status) + ": " + f.Reason
	}
	return out
}

func findingLines(t testing.TB, fs []finding.Finding) []string {
	t.Helper()
	out := make([]string, len(fs))
	for i, f := range fs {
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}
