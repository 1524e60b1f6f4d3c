package inventory

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// lookupRequest is a LookupEvents request body as sent (JSON 1.1; times in
// epoch seconds).
type lookupRequest struct {
	LookupAttributes []struct{ AttributeKey, AttributeValue string }
	StartTime        float64
	EndTime          float64
	NextToken        string
	MaxResults       int
}

type seenRequest struct {
	target string
	ctype  string
	body   lookupRequest
	at     time.Time // fake clock time the request was made
}

// trailServer answers LookupEvents in the documented wire format from pages
// keyed by attribute value and NextToken ("" for the first page).
type trailServer struct {
	clock *fakeClock
	pages map[string]map[string]string // value -> token -> response body
	fail  map[string]bool              // value + "/" + token -> HTTP 500

	mu   sync.Mutex
	seen []seenRequest
}

func (s *trailServer) Do(r *http.Request) (*http.Response, error) {
	b, _ := io.ReadAll(r.Body)
	var body lookupRequest
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, fmt.Errorf("request body %s: %w", b, err)
	}
	s.mu.Lock()
	s.seen = append(s.seen, seenRequest{target: r.Header.Get("X-Amz-Target"), ctype: r.Header.Get("Content-Type"), body: body, at: s.clock.Now()})
	s.mu.Unlock()
	value := body.LookupAttributes[0].AttributeValue
	status, out := http.StatusOK, `{"Events":[]}`
	if s.fail[value+"/"+body.NextToken] {
		status, out = http.StatusInternalServerError, `{"__type":"InternalFailure","message":"boom"}`
	} else if p, ok := s.pages[value][body.NextToken]; ok {
		out = p
	}
	return &http.Response{
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amzn-Requestid": {"req"}},
		Body:       io.NopCloser(strings.NewReader(out)),
		Request:    r,
	}, nil
}

// event renders one Events[] entry with its CloudTrailEvent string.
func event(id, source, name string, at time.Time, errorCode string) string {
	rec := map[string]any{
		"eventVersion": "1.08", "eventID": id, "eventSource": source, "eventName": name,
		"eventTime": at.Format(time.RFC3339), "awsRegion": "us-east-1", "recipientAccountId": testAccount,
		"requestParameters": map[string]any{"keyId": "aaaa1111-0000-4000-8000-000000000001"},
	}
	if errorCode != "" {
		rec["errorCode"] = errorCode
	}
	raw, _ := json.Marshal(rec)
	ev, _ := json.Marshal(map[string]any{
		"EventId": id, "EventName": name, "EventSource": source, "EventTime": at.Unix(), "CloudTrailEvent": string(raw),
	})
	return string(ev)
}

func page(token string, events ...string) string {
	s := `{"Events":[` + strings.Join(events, ",") + `]`
	if token != "" {
		s += `,"NextToken":"` + token + `"`
	}
	return s + "}"
}

func trailSource(srv *trailServer) ClientSource {
	ct := awscloudtrail.New(awscloudtrail.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		BaseEndpoint: aws.String("http://127.0.0.1:9"), // never dialled: the HTTP client is the fake
		HTTPClient:   srv,
		Retryer:      aws.NopRetryer{},
	})
	return &fakeSource{own: testAccount, clients: &Clients{CloudTrail: ct}}
}

func newTrail(clock *fakeClock) *trailServer {
	day := func(n int) time.Time { return t0.AddDate(0, 0, -n) }
	return &trailServer{
		clock: clock,
		pages: map[string]map[string]string{
			cloudtrail.SourceEFS: {"": page("",
				event("e-efs-1", cloudtrail.SourceEFS, cloudtrail.EventCreateFileSystem, day(3), ""),
				event("e-efs-2", cloudtrail.SourceEFS, "DescribeFileSystems", day(2), ""), // of no interest
			)},
			cloudtrail.SourceKMS: {
				"": page("p2",
					event("e-kms-3", cloudtrail.SourceKMS, cloudtrail.EventDisableKey, day(1), ""),
					event("e-kms-4", cloudtrail.SourceKMS, "Decrypt", day(1), ""), // of no interest
					`{"EventId":"bad","CloudTrailEvent":"{not json"}`,
				),
				"p2": page("",
					event("e-kms-1", cloudtrail.SourceKMS, cloudtrail.EventCreateKey, day(10), ""),
					event("e-kms-2", cloudtrail.SourceKMS, cloudtrail.EventEnableKeyRotation, day(3), "AccessDeniedException"),
					event("e-kms-3", cloudtrail.SourceKMS, cloudtrail.EventDisableKey, day(1), ""), // duplicate
				),
			},
		},
		fail: map[string]bool{},
	}
}

func TestBackfillByEventSource(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := newTrail(clock)
	var got []string
	rep, err := Backfill(context.Background(), trailSource(srv), BackfillOptions{
		Regions: []string{"us-east-1"}, By: ByEventSource, Clock: clock,
	}, func(r *cloudtrail.Record) error {
		got = append(got, r.EventID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// eventTime order; the failed call is kept (Apply ignores it), events of
	// no interest, the duplicate and the malformed one are not.
	if want := []string{"e-kms-1", "e-efs-1", "e-kms-2", "e-kms-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	wantRep := BackfillReport{Start: t0.AddDate(0, 0, -90), End: t0, Requests: 6, Events: 8, Records: 4, Duplicates: 1, Malformed: 1}
	if rep != wantRep {
		t.Fatalf("report = %+v, want %+v", rep, wantRep)
	}
	if len(srv.seen) != 6 {
		t.Fatalf("requests = %d, want 6", len(srv.seen))
	}
	// Every source of interest, sorted: the monitoring path's too.
	wantReq := []struct{ value, token string }{
		{cloudtrail.SourceCloudTrail, ""}, {cloudtrail.SourceEFS, ""}, {cloudtrail.SourceEvents, ""},
		{cloudtrail.SourceKMS, ""}, {cloudtrail.SourceKMS, "p2"}, {cloudtrail.SourceLogs, ""},
	}
	for i, r := range srv.seen {
		// The API reference's examples write the target with the service's
		// full namespace; the SDK sends the short form. Both name the call.
		if r.target != "CloudTrail_20131101.LookupEvents" && r.target != "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents" {
			t.Errorf("request %d X-Amz-Target = %q", i, r.target)
		}
		if r.ctype != "application/x-amz-json-1.1" {
			t.Errorf("request %d Content-Type = %q", i, r.ctype)
		}
		attr := r.body.LookupAttributes
		if len(attr) != 1 || attr[0].AttributeKey != "EventSource" || attr[0].AttributeValue != wantReq[i].value || r.body.NextToken != wantReq[i].token {
			t.Errorf("request %d = %+v, want EventSource=%s token %q", i, r.body, wantReq[i].value, wantReq[i].token)
		}
		if int64(r.body.StartTime) != t0.AddDate(0, 0, -90).Unix() || int64(r.body.EndTime) != t0.Unix() || r.body.MaxResults != 50 {
			t.Errorf("request %d window %v..%v max %d, want the last 90 days", i, r.body.StartTime, r.body.EndTime, r.body.MaxResults)
		}
		// 2 requests a second: each request at least 500ms after the last.
		if i > 0 {
			if gap := r.at.Sub(srv.seen[i-1].at); gap < 500*time.Millisecond {
				t.Errorf("request %d came %v after the previous one, want >= 500ms", i, gap)
			}
		}
	}
}

func TestBackfillByEventName(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := newTrail(clock)
	srv.pages[cloudtrail.EventDisableKey] = map[string]string{"": page("", event("n-1", cloudtrail.SourceKMS, cloudtrail.EventDisableKey, t0.Add(-time.Hour), ""))}
	var got []string
	rep, err := Backfill(context.Background(), trailSource(srv), BackfillOptions{
		Regions: []string{"us-east-1"}, Days: 7, Clock: clock,
	}, func(r *cloudtrail.Record) error { got = append(got, r.EventID); return nil })
	if err != nil {
		t.Fatal(err)
	}
	eventNames := cloudtrail.EventNames()
	if !reflect.DeepEqual(got, []string{"n-1"}) || rep.Requests != len(eventNames) {
		t.Fatalf("records %v, requests %d; want [n-1] and %d requests", got, rep.Requests, len(eventNames))
	}
	for i, r := range srv.seen {
		if r.body.LookupAttributes[0].AttributeKey != "EventName" || r.body.LookupAttributes[0].AttributeValue != eventNames[i] {
			t.Errorf("request %d attribute %+v, want EventName=%s", i, r.body.LookupAttributes, eventNames[i])
		}
		if int64(r.body.StartTime) != t0.AddDate(0, 0, -7).Unix() {
			t.Errorf("request %d start %v, want 7 days back", i, r.body.StartTime)
		}
	}
	// N requests at 2 a second with a burst of 1: (N-1)/2 seconds of waiting.
	if elapsed := clock.Now().Sub(t0); elapsed != time.Duration(len(eventNames)-1)*500*time.Millisecond {
		t.Errorf("fake time spent = %v, want %v", elapsed, time.Duration(len(eventNames)-1)*500*time.Millisecond)
	}
	// The monitoring path's events are looked up as well.
	for _, name := range []string{cloudtrail.EventStopLogging, cloudtrail.EventPutEventSelectors, cloudtrail.EventDeleteTrail,
		cloudtrail.EventDisableRule, cloudtrail.EventRemoveTargets, cloudtrail.EventDeleteSubscriptionFilter, cloudtrail.EventDeleteLogGroup,
		cloudtrail.EventDisableKey, cloudtrail.EventCreateFileSystem} {
		if !slices.Contains(eventNames, name) {
			t.Errorf("event name %s is not looked up", name)
		}
	}
	// Every event name of interest, each once.
	if want := cloudtrail.EventNames(); !slices.Equal(slices.Sorted(slices.Values(eventNames)), want) {
		t.Errorf("looked up %v, want %v", eventNames, want)
	}
}

// TestBackfillSourcesCoverNames holds the sources looked up by source to the
// names of interest: every name belongs to one of them, and every source has
// a name.
func TestBackfillSourcesCoverNames(t *testing.T) {
	used := map[string]bool{}
	for _, name := range cloudtrail.EventNames() {
		found := false
		for _, src := range eventSources {
			if cloudtrail.Interesting(src, name) {
				found, used[src] = true, true
			}
		}
		if !found {
			t.Errorf("event name %s belongs to no source looked up by ByEventSource", name)
		}
	}
	for _, src := range eventSources {
		if !used[src] {
			t.Errorf("source %s has no event name of interest", src)
		}
	}
	if !slices.IsSorted(eventSources) {
		t.Errorf("sources %v are not sorted", eventSources)
	}
}

// TestBackfillMonitoringRecords keeps a StopLogging and a DisableRule record
// found by source, and drops the monitoring path's reads.
func TestBackfillMonitoringRecords(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := &trailServer{clock: clock, fail: map[string]bool{}, pages: map[string]map[string]string{
		cloudtrail.SourceCloudTrail: {"": page("",
			event("c-1", cloudtrail.SourceCloudTrail, cloudtrail.EventStopLogging, t0.Add(-2*time.Hour), ""),
			event("c-2", cloudtrail.SourceCloudTrail, "DescribeTrails", t0.Add(-time.Hour), ""), // of no interest
		)},
		cloudtrail.SourceEvents: {"": page("",
			event("r-1", cloudtrail.SourceEvents, cloudtrail.EventDisableRule, t0.Add(-3*time.Hour), ""),
		)},
		cloudtrail.SourceLogs: {"": page("",
			event("l-1", cloudtrail.SourceLogs, "DescribeSubscriptionFilters", t0.Add(-time.Hour), ""), // of no interest
		)},
	}}
	var got []string
	rep, err := Backfill(context.Background(), trailSource(srv), BackfillOptions{
		Regions: []string{"us-east-1"}, By: ByEventSource, Clock: clock,
	}, func(r *cloudtrail.Record) error { got = append(got, r.EventSource+" "+r.EventName); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"events.amazonaws.com DisableRule", "cloudtrail.amazonaws.com StopLogging"}
	if !reflect.DeepEqual(got, want) || rep.Records != 2 || rep.Events != 4 || rep.Requests != 5 {
		t.Fatalf("records %v, report %+v; want %v from 4 events in 5 requests", got, rep, want)
	}
}

func TestBackfillResumes(t *testing.T) {
	clock := &fakeClock{t: t0}
	srv := newTrail(clock)
	srv.fail[cloudtrail.SourceKMS+"/p2"] = true
	path := filepath.Join(t.TempDir(), "backfill.json")
	opts := BackfillOptions{Regions: []string{"us-east-1"}, By: ByEventSource, Clock: clock, CheckpointPath: path}
	var got []string
	emit := func(r *cloudtrail.Record) error { got = append(got, r.EventID); return nil }

	if _, err := Backfill(context.Background(), trailSource(srv), opts, emit); err == nil || !strings.Contains(err.Error(), "cloudtrail:LookupEvents") {
		t.Fatalf("interrupted run error = %v, want the LookupEvents failure", err)
	}
	if len(got) != 0 {
		t.Fatalf("interrupted run emitted %v, want nothing before all lookups finish", got)
	}
	var cp Checkpoint
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &cp); err != nil {
		t.Fatal(err)
	}
	if cp.Stream != 3 || cp.NextToken != "p2" || len(cp.Pending) != 2 || cp.Done || !cp.End.Equal(t0) {
		t.Fatalf("checkpoint = stream %d token %q pending %d done %v end %v", cp.Stream, cp.NextToken, len(cp.Pending), cp.Done, cp.End)
	}

	// Later, the same backfill resumes with the saved token and window.
	clock.Add(time.Hour)
	delete(srv.fail, cloudtrail.SourceKMS+"/p2")
	srv.seen = nil
	rep, err := Backfill(context.Background(), trailSource(srv), opts, emit)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"e-kms-1", "e-efs-1", "e-kms-2", "e-kms-3"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("records = %v, want %v", got, want)
	}
	if !rep.Resumed || rep.Requests != 2 || srv.seen[0].body.NextToken != "p2" || int64(srv.seen[0].body.EndTime) != t0.Unix() {
		t.Fatalf("resumed run: report %+v, first request %+v; want one request for page p2 in the saved window", rep, srv.seen[0].body)
	}
	b, _ = os.ReadFile(path)
	if !bytes.Contains(b, []byte(`"done":true`)) {
		t.Fatalf("checkpoint after completion = %s, want done", b)
	}

	// A finished checkpoint starts a new window.
	srv.seen, got = nil, nil
	started := clock.Now()
	rep, err = Backfill(context.Background(), trailSource(srv), opts, emit)
	if err != nil || rep.Resumed || rep.Requests != 6 || !rep.End.Equal(started) {
		t.Fatalf("run after completion: %+v, %v", rep, err)
	}

	// A checkpoint of another run is not silently reused, nor one saved
	// with another list of lookups (its stream index would point elsewhere).
	for _, cp := range []string{
		`{"account":"` + testAccount + `","regions":["eu-west-1"],"by":"EventSource"}`,
		`{"account":"` + testAccount + `","regions":["us-east-1"],"by":"EventSource","stream":1,"next_token":"p2"}`,
	} {
		os.WriteFile(path, []byte(cp), 0o600)
		if _, err := Backfill(context.Background(), trailSource(srv), opts, emit); err == nil || !strings.Contains(err.Error(), "not this run's") {
			t.Fatalf("foreign checkpoint %s: error = %v", cp, err)
		}
	}
}

func TestTokenBucket(t *testing.T) {
	clock := &fakeClock{t: t0}
	b := NewTokenBucket(2, 1, clock)
	var at []time.Duration
	for range 5 {
		if err := b.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		at = append(at, clock.Now().Sub(t0))
	}
	want := []time.Duration{0, 500 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second}
	if !reflect.DeepEqual(at, want) {
		t.Fatalf("request times = %v, want %v", at, want)
	}
	// An idle second refills one token only (burst 1).
	clock.Add(3 * time.Second)
	b.Wait(context.Background())
	b.Wait(context.Background())
	if got := clock.Now().Sub(t0); got != 5*time.Second+500*time.Millisecond {
		t.Fatalf("after idle: %v, want 5.5s", got)
	}
}
