package replay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
)

func TestParseKey(t *testing.T) {
	at := time.Date(2026, 11, 21, 8, 5, 0, 0, time.UTC)
	tests := []struct {
		name, prefix, key string
		ok                bool
	}{
		// The example of the log file name page, in its documented folder.
		{name: "documented example", key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz", ok: true},
		{name: "organization trail", key: "AWSLogs/o-exampleorg1/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz", ok: true},
		{name: "trail prefix", prefix: "logs/", key: "logs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz", ok: true},
		{name: "another prefix", prefix: "logs/", key: "other/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "digest file", key: "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/11/21/111122223333_CloudTrail-Digest_eu-west-1_trail_us-east-1_20261121T080500Z.json.gz"},
		{name: "digest name in the log folder", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail-Digest_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "account of the name differs", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/444455556666_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "region of the name differs", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_us-east-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "day of the name differs", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261122T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "not a date", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/21/111122223333_CloudTrail_eu-west-1_20261321T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "not gzip json", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json"},
		{name: "not a log file", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/README.txt"},
		{name: "account not 12 digits", key: "AWSLogs/11112222333/CloudTrail/eu-west-1/2026/11/21/11112222333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "one folder too deep", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/x/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0KsOhtH1ar15ZZ.json.gz"},
		{name: "bad unique string", key: "AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/21/111122223333_CloudTrail_eu-west-1_20261121T0805Z_Mu0K..ar15ZZ.json.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ParseKey(tt.prefix, tt.key)
			if ok != tt.ok {
				t.Fatalf("ParseKey(%q) ok = %v, want %v", tt.key, ok, tt.ok)
			}
			if ok && (got.Key != tt.key || got.Account != "111122223333" || got.Delivered.IsZero()) {
				t.Errorf("ParseKey = %+v", got)
			}
		})
	}
	got, _ := ParseKey("", "AWSLogs/o-exampleorg1/111122223333/CloudTrail/eu-west-1/2026/11/21/"+ObjectName("111122223333", "eu-west-1", at, "Mu0KsOhtH1ar15ZZ"))
	if got.Region != "eu-west-1" || !got.Delivered.Equal(at) {
		t.Errorf("ObjectName round trip: %+v", got)
	}
}

// expectedLists counts the ListObjectsV2 pages a listing of the day folders
// [from, to] of the test archive takes at pageSize, discovery excluded.
func (a *archive) expectedDayPages(from, to int, pageSize int) int {
	perFolder := map[string]int{}
	for _, o := range a.objects {
		if strings.HasPrefix(o.key, logsFolder) && strings.Contains(o.key, "/"+trailFolder+"/") {
			perFolder[o.key[:strings.LastIndex(o.key, "/")+1]]++
		}
	}
	pages := 0
	for _, acc := range testAccounts {
		for _, reg := range testRegions {
			for d := from; d <= to; d++ {
				n := perFolder[DayPrefix(logsFolder+testOrg+"/"+acc+"/", reg, testFirstDay.AddDate(0, 0, d))]
				pages += max(1, int(math.Ceil(float64(n)/float64(pageSize))))
			}
		}
	}
	return pages
}

func TestListReadsOnlyTheDaysAsked(t *testing.T) {
	a := layArchive(t)
	root := t.TempDir()
	a.writeDir(t, root)
	const pageSize = 10
	from, to := 1, 3
	days := a.expectedDayPages(from, to, pageSize)
	tests := []struct {
		name      string
		scope     Scope
		discovery int // ListObjectsV2 calls to find organizations, accounts and regions
	}{
		// AWSLogs/, the organization folder, each account's CloudTrail/.
		{name: "everything discovered", discovery: 1 + 1 + len(testAccounts)},
		{name: "organization given", scope: Scope{OrgID: testOrg}, discovery: 1 + len(testAccounts)},
		{name: "accounts and regions given", scope: Scope{OrgID: testOrg, Accounts: testAccounts, Regions: testRegions}, discovery: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingClient(DirClient{Root: root})
			sc := tt.scope
			sc.Bucket, sc.PageSize = testBucket, pageSize
			sc.Since, sc.Until = testFirstDay.AddDate(0, 0, from), testFirstDay.AddDate(0, 0, to)
			l, err := List(context.Background(), c, sc)
			if err != nil {
				t.Fatal(err)
			}
			want := a.inRange(from, to)
			if !slices.Equal(keys(l.Objects), keys(want)) {
				t.Fatalf("listed %d objects, want the %d in range", len(l.Objects), len(want))
			}
			if c.lists != tt.discovery+days {
				t.Errorf("%d ListObjectsV2 calls, want %d (%d discovery, %d day pages)", c.lists, tt.discovery+days, tt.discovery, days)
			}
			// The README and the stray file of day 2, in each partition.
			if len(l.Skipped) != 2*len(testAccounts)*len(testRegions) {
				t.Errorf("skipped %v", l.Skipped)
			}
			if c.totalGets() != 0 {
				t.Errorf("listing read %d objects", c.totalGets())
			}
		})
	}
}

func TestListRefusesABadScope(t *testing.T) {
	day := testFirstDay
	tests := []struct {
		name  string
		scope Scope
		want  string
	}{
		{name: "no bucket", scope: Scope{Since: day, Until: day}, want: "no bucket"},
		{name: "until before since", scope: Scope{Bucket: "b", Since: day, Until: day.AddDate(0, 0, -1)}, want: "is before since"},
		{name: "bad account", scope: Scope{Bucket: "b", Since: day, Until: day, Accounts: []string{"1234"}}, want: `account "1234"`},
		{name: "bad organization", scope: Scope{Bucket: "b", Since: day, Until: day, OrgID: "org-1"}, want: `organization id "org-1"`},
		{name: "bad region", scope: Scope{Bucket: "b", Since: day, Until: day, Regions: []string{"us east"}}, want: `region "us east"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingClient(DirClient{Root: t.TempDir()})
			_, err := List(context.Background(), c, tt.scope)
			if !errors.Is(err, ErrScope) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrScope with %q", err, tt.want)
			}
			if c.lists != 0 {
				t.Errorf("%d ListObjectsV2 calls for a bad scope", c.lists)
			}
		})
	}
}

func keys(objs []Object) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		out[i] = o.Key
	}
	return out
}

// replayAll runs a replay of objs and returns its findings.
func replayAll(t *testing.T, ctx context.Context, c Client, objs []Object, o Options) ([]finding.Finding, Result, error) {
	t.Helper()
	p := newPipeline(t, testEngine(t))
	var out []finding.Finding
	var mu sync.Mutex
	o.Client, o.Bucket = c, testBucket
	res, err := Run(ctx, PipelineApplier{Pipeline: p, Emit: func(f finding.Finding) error {
		mu.Lock()
		defer mu.Unlock()
		out = append(out, f)
		return nil
	}}, objs, o)
	return out, res, err
}

// TestParallelReplayEqualsSequentialEvaluate: whatever the number of workers
// and objects in flight, a replay gives exactly the findings, in the same
// order, of evaluating the same files one after the other, and so the same
// last finding per rule and resource (what the ledger keeps).
func TestParallelReplayEqualsSequentialEvaluate(t *testing.T) {
	a := layArchive(t)
	root := t.TempDir()
	a.writeDir(t, root)
	objs := a.inRange(1, 3)
	want := evaluateSequentially(t, root, objs)
	if len(want) < 100 || !slices.ContainsFunc(want, func(f finding.Finding) bool { return f.Status == finding.NonCompliant }) {
		t.Fatalf("the reference has %d findings and no NON_COMPLIANT one: the archive tests nothing", len(want))
	}
	tests := []struct {
		name              string
		workers, inflight int
	}{
		{name: "one worker", workers: 1, inflight: 1},
		{name: "four workers", workers: 4, inflight: 6},
		{name: "eight workers, deep queue", workers: 8, inflight: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCountingClient(DirClient{Root: root})
			got, res, err := replayAll(t, context.Background(), c, objs, Options{Workers: tt.workers, MaxInflight: tt.inflight})
			if err != nil {
				t.Fatal(err)
			}
			if res.Objects != len(objs) || res.Report.Bad() || len(res.Failed) > 0 {
				t.Fatalf("applied %d of %d objects, bad %v, failed %v", res.Objects, len(objs), res.Report.Bad(), res.Failed)
			}
			if res.Report.Duplicates != 1*len(testAccounts)*len(testRegions) {
				t.Errorf("%d duplicates, want the one repeated record per partition", res.Report.Duplicates)
			}
			if g, w := findingLines(t, got), findingLines(t, want); !slices.Equal(g, w) {
				t.Errorf("replay gave %d findings, evaluate %d; they differ", len(g), len(w))
			}
			if g, w := lastPerResource(got), lastPerResource(want); !maps.Equal(g, w) {
				t.Errorf("last finding per rule and resource differs: replay %d, evaluate %d", len(g), len(w))
			}
			for _, o := range objs {
				if c.gets[o.Key] != 1 {
					t.Fatalf("%s read %d times", o.Key, c.gets[o.Key])
				}
			}
			if len(c.gets) != len(objs) {
				t.Errorf("read %d objects, want %d", len(c.gets), len(objs))
			}
		})
	}
}

// TestInterruptedReplayResumesWithoutReadingTwice cancels a replay in the
// middle (as SIGINT does), reruns it with the checkpoint, and checks that no
// object was read twice and that the two runs' findings together are those
// of an uninterrupted run.
func TestInterruptedReplayResumesWithoutReadingTwice(t *testing.T) {
	a := layArchive(t)
	root := t.TempDir()
	a.writeDir(t, root)
	objs := a.inRange(1, 3)
	want := evaluateSequentially(t, root, objs)
	cpPath := filepath.Join(t.TempDir(), "replay.checkpoint")
	c := newCountingClient(DirClient{Root: root})

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const stopAt = 200
	c.onGet = func(n int) {
		if n == stopAt {
			cancel()
		}
	}
	cp, err := OpenCheckpoint(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	first, res1, err := replayAll(t, ctx, c, objs, Options{Workers: 4, MaxInflight: 8, Checkpoint: cp})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: err = %v, want context.Canceled", err)
	}
	if res1.Objects < stopAt || res1.Objects >= len(objs) {
		t.Fatalf("interrupted run applied %d objects; want at least the %d read and fewer than %d", res1.Objects, stopAt, len(objs))
	}
	c.onGet = nil

	cp, err = OpenCheckpoint(cpPath)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Len() != res1.Objects {
		t.Fatalf("checkpoint holds %d objects, the run applied %d", cp.Len(), res1.Objects)
	}
	second, res2, err := replayAll(t, context.Background(), c, objs, Options{Workers: 4, MaxInflight: 8, Checkpoint: cp})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Resumed != res1.Objects || res1.Objects+res2.Objects != len(objs) {
		t.Errorf("resumed %d, read %d + %d of %d", res2.Resumed, res1.Objects, res2.Objects, len(objs))
	}
	for _, o := range objs {
		if c.gets[o.Key] != 1 {
			t.Errorf("%s read %d times over both runs", o.Key, c.gets[o.Key])
		}
	}
	got := append(first, second...)
	if g, w := findingLines(t, got), findingLines(t, want); !slices.Equal(g, w) {
		t.Errorf("interrupted and resumed: %d findings, uninterrupted evaluate: %d; they differ", len(g), len(w))
	}

	// A third run has nothing left to read.
	third, res3, err := replayAll(t, context.Background(), c, objs, Options{Workers: 2, Checkpoint: cp})
	if err != nil || len(third) != 0 || res3.Objects != 0 || res3.Resumed != len(objs) {
		t.Errorf("third run: err %v, %d findings, %d objects read, %d resumed", err, len(third), res3.Objects, res3.Resumed)
	}
}

func TestCheckpointOfAnotherBucketIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cp")
	cp, err := OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cp.check("bucket-a"); err != nil {
		t.Fatal(err)
	}
	if err := cp.add("k", nil); err != nil {
		t.Fatal(err)
	}
	if err := cp.Save(); err != nil {
		t.Fatal(err)
	}
	cp, err = OpenCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	if !cp.Has("k") || cp.Has("other") {
		t.Errorf("reopened checkpoint: Has(k) %v, Has(other) %v", cp.Has("k"), cp.Has("other"))
	}
	if err := cp.check("bucket-b"); err == nil || !strings.Contains(err.Error(), "is of bucket bucket-a, not bucket-b") {
		t.Errorf("err = %v", err)
	}
}

func TestEstimateFleet(t *testing.T) {
	tests := []struct {
		name            string
		memory          int
		bytes           int64
		seconds, gbSecs float64
	}{
		// 256 MB is 256/1769 of a vCPU: 1 GB at 40 MB/s of a core takes
		// 25 CPU-seconds, 172.75 function-seconds, 43.19 GB-seconds.
		{name: "trail-archive's 256 MB", memory: 256, bytes: 1e9, seconds: 25 * 1769.0 / 256, gbSecs: 25 * 1769.0 / 1024},
		// Past one vCPU more memory buys no speed.
		{name: "3538 MB, capped at one core", memory: 3538, bytes: 1e9, seconds: 25, gbSecs: 25 * 3538.0 / 1024},
		{name: "nothing to read", memory: 256, bytes: 0, seconds: 0, gbSecs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := EstimateFleet(3, tt.bytes, tt.memory, 40e6)
			if math.Abs(e.Seconds-tt.seconds) > 1e-6 || math.Abs(e.GBSeconds-tt.gbSecs) > 1e-6 {
				t.Errorf("EstimateFleet = %.4f s, %.4f GB-s; want %.4f, %.4f", e.Seconds, e.GBSeconds, tt.seconds, tt.gbSecs)
			}
		})
	}
}

func TestLinesReportProgress(t *testing.T) {
	var buf bytes.Buffer
	l := NewLines(&buf, 0)
	l.Start(3, 3e6)
	l.Add(2, 2e6, 1000)
	l.Finish()
	got := buf.String()
	if !strings.HasPrefix(got, "atrest replay: 2/3 objects, 2.0 MB/3.0 MB, ") || !strings.Contains(got, " records/s, ETA ") || strings.Count(got, "\n") != 1 {
		t.Errorf("progress %q", got)
	}
}

// TestReplayReportsBadObjects: a log file that cannot be read is reported
// by key and left out of the checkpoint (a rerun tries it again); one that
// is not valid gzip JSON is read, reported with its position, and
// checkpointed; the good files around them are judged.
func TestReplayReportsBadObjects(t *testing.T) {
	root := t.TempDir()
	at := time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC)
	prefix := DayPrefix(logsFolder+"111122223333/", "us-east-1", at)
	good, _ := os.ReadFile("../../events/s3/atrest-trail-bucket/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/111122223333_CloudTrail_us-east-1_20261122T0905Z_Sample1.json.gz")
	if len(good) == 0 {
		t.Fatal("sample log file missing")
	}
	files := map[string][]byte{
		prefix + ObjectName("111122223333", "us-east-1", at, "Good000000000001"):                    good,
		prefix + ObjectName("111122223333", "us-east-1", at.Add(5*time.Minute), "Broken0000000001"): []byte("\x1f\x8b not gzip"),
	}
	for k, b := range files {
		p := filepath.Join(root, testBucket, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	l, err := List(context.Background(), DirClient{Root: root}, Scope{Bucket: testBucket, Since: at, Until: at})
	if err != nil || len(l.Objects) != 2 {
		t.Fatalf("listed %d objects: %v", len(l.Objects), err)
	}
	missing := Object{Key: prefix + ObjectName("111122223333", "us-east-1", at.Add(10*time.Minute), "Gone000000000001")}
	objs := append(l.Objects, missing)
	cp, err := OpenCheckpoint(filepath.Join(t.TempDir(), "cp"))
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	got, res, err := replayAll(t, context.Background(), DirClient{Root: root}, objs, Options{Workers: 2, Checkpoint: cp,
		OnObject: func(o Object, rep pipeline.Report) {
			for _, e := range rep.DecodeErrors {
				reported = append(reported, e.Error())
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Failed) != 1 || !strings.Contains(res.Failed[0].Error(), missing.Key) {
		t.Errorf("failed %v, want the missing object", res.Failed)
	}
	if len(reported) != 1 || !strings.Contains(reported[0], "s3://"+testBucket+"/"+prefix) || !strings.Contains(reported[0], "Broken0000000001") {
		t.Errorf("decode errors %q, want one naming the broken object", reported)
	}
	if res.Objects != 2 || !cp.Has(objs[0].Key) || !cp.Has(objs[1].Key) || cp.Has(missing.Key) {
		t.Errorf("applied %d; checkpoint: %v %v %v", res.Objects, cp.Has(objs[0].Key), cp.Has(objs[1].Key), cp.Has(missing.Key))
	}
	// PutKeyPolicy by the five key rules, DisableKey by the three it can
	// change.
	if len(got) != 8 {
		t.Errorf("%d findings from the good log file, want its 8", len(got))
	}
}

// gatedClient holds the first object's GetObject until inflight objects
// were asked for, so the objects behind it pile up, and records the most
// objects read but not yet applied.
type gatedClient struct {
	Client
	first    string
	inflight int
	mu       sync.Mutex
	gets     int
	applied  int
	most     int
	open     chan struct{}
}

func (g *gatedClient) GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	g.mu.Lock()
	g.gets++
	g.most = max(g.most, g.gets-g.applied)
	if g.gets == g.inflight {
		close(g.open)
	}
	g.mu.Unlock()
	if aws.ToString(in.Key) == g.first {
		<-g.open
	}
	return g.Client.GetObject(ctx, in, optFns...)
}

func (g *gatedClient) onObject(Object, pipeline.Report) {
	g.mu.Lock()
	g.applied++
	g.mu.Unlock()
}

// TestMaxInflightBoundsObjectsRead: while the first object is slow, the
// workers read ahead only until --max-inflight objects are read and not
// yet applied.
func TestMaxInflightBoundsObjectsRead(t *testing.T) {
	a := layArchive(t)
	root := t.TempDir()
	a.writeDir(t, root)
	objs := a.inRange(1, 1)
	for _, inflight := range []int{4, 9} {
		t.Run(fmt.Sprintf("max-inflight %d", inflight), func(t *testing.T) {
			g := &gatedClient{Client: DirClient{Root: root}, first: objs[0].Key, inflight: inflight, open: make(chan struct{})}
			_, res, err := replayAll(t, context.Background(), g, objs, Options{Workers: 4, MaxInflight: inflight, OnObject: g.onObject})
			if err != nil || res.Objects != len(objs) {
				t.Fatalf("replay: %v, %d of %d objects", err, res.Objects, len(objs))
			}
			if g.most != inflight {
				t.Errorf("at most %d objects read and not applied, want %d", g.most, inflight)
			}
		})
	}
}
