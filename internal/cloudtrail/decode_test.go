package cloudtrail

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Event IDs of the records in testdata.
const (
	idCreateKey   = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	idCreateGrant = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
	idSchedule    = "5d6e7f80-91a2-4b3c-8d4e-5f6071829304"
	idCreateFS    = "9a8b7c6d-5e4f-4031-9283-746556473829"
	testAccount   = "111122223333"
)

// wantErr is one expected DecodeError.
type wantErr struct {
	kind    error
	loc     string
	eventID string
	input   string // checked when set
}

// decoded is what one Decode call produced.
type decoded struct {
	ids    []string
	shapes []Shape
	recs   []*Record
	errs   []*DecodeError
	stats  Stats
	err    error
}

func decodeBytes(t *testing.T, d *Decoder, input string, data []byte) decoded {
	t.Helper()
	var out decoded
	out.stats, out.err = d.Decode(context.Background(), input, bytes.NewReader(data),
		func(rec *Record, shape Shape) error {
			out.ids = append(out.ids, rec.EventID)
			out.shapes = append(out.shapes, shape)
			out.recs = append(out.recs, rec)
			return nil
		},
		func(e *DecodeError) { out.errs = append(out.errs, e) })
	return out
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	return gz(t, b, gzip.DefaultCompression, gzip.Header{})
}

// check compares a decode result with the expectation.
func check(t *testing.T, got decoded, ids []string, shape Shape, stats Stats, errs []wantErr) {
	t.Helper()
	if got.err != nil {
		t.Fatalf("Decode returned %v", got.err)
	}
	if !slices.Equal(got.ids, ids) {
		t.Errorf("emitted %q, want %q", got.ids, ids)
	}
	for i, s := range got.shapes {
		if s != shape {
			t.Errorf("record %d shape %q, want %q", i, s, shape)
		}
	}
	if got.stats != stats {
		t.Errorf("stats %+v, want %+v", got.stats, stats)
	}
	if len(got.errs) != len(errs) {
		t.Fatalf("errors %v, want %d: %+v", got.errs, len(errs), errs)
	}
	for i, w := range errs {
		e := got.errs[i]
		if !errors.Is(e, w.kind) || e.Location != w.loc || e.EventID != w.eventID {
			t.Errorf("error %d = %v (location %q, eventID %q), want kind %v at %q eventID %q", i, e, e.Location, e.EventID, w.kind, w.loc, w.eventID)
		}
		if w.input != "" && e.Input != w.input {
			t.Errorf("error %d input %q, want %q", i, e.Input, w.input)
		}
	}
}

func TestDecodeFixtures(t *testing.T) {
	dir := DirOpener{Root: filepath.Join("testdata", "bucket")}
	s3Records := []string{idCreateFS, idCreateGrant}
	s3Stats := Stats{Records: 3, Relevant: 2, Skipped: 1}
	logIDs := []string{idCreateKey, idCreateGrant, idCreateKey, idCreateFS, idSchedule}
	logStats := Stats{Records: 8, Relevant: 5, Skipped: 3}
	tests := []struct {
		name    string
		fixture string
		opener  Opener
		ids     []string
		shape   Shape
		stats   Stats
		errs    []wantErr
	}{
		{name: "single record", fixture: "efs-createfilesystem-record.json",
			ids: []string{idCreateFS}, shape: ShapeRecord, stats: Stats{Records: 1, Relevant: 1}},
		{name: "EventBridge", fixture: "kms-createkey-eventbridge.json",
			ids: []string{idCreateKey}, shape: ShapeEventBridge, stats: Stats{Records: 1, Relevant: 1}},
		{name: "EventBridge region mismatch", fixture: "kms-schedulekeydeletion-eventbridge-mismatch.json",
			ids: []string{idSchedule}, shape: ShapeEventBridge, stats: Stats{Records: 1, Relevant: 1, Errors: 1},
			errs: []wantErr{{kind: ErrMismatch, loc: "value[0]", eventID: idSchedule}}},
		{name: "EventBridge without detail", fixture: "kms-creategrant-eventbridge-nodetail.json",
			stats: Stats{Records: 1, Errors: 1},
			errs:  []wantErr{{kind: ErrMissingField, loc: "value[0]"}}},
		{name: "EventBridge other detail-type", fixture: "signin-consolelogin-eventbridge-other.json",
			stats: Stats{Errors: 1},
			errs:  []wantErr{{kind: ErrUnknownShape, loc: "value[0]"}}},
		{name: "log file plain", fixture: "kms-mixed-logfile.json",
			ids: logIDs, shape: ShapeLogFile, stats: logStats},
		{name: "log file gzip", fixture: "kms-mixed-logfile.json.gz",
			ids: logIDs, shape: ShapeLogFile, stats: logStats},
		{name: "log file empty Records", fixture: "cloudtrail-logfile-empty.json"},
		{name: "CloudWatch Logs with a bad log event", fixture: "kms-mixed-cloudwatchlogs.json",
			ids: []string{idCreateKey, idCreateGrant}, shape: ShapeCloudWatchLogs,
			stats: Stats{Records: 3, Relevant: 2, Skipped: 1, Errors: 1},
			errs:  []wantErr{{kind: ErrMalformed, loc: "value[0].awslogs.data.logEvents[1]"}}},
		{name: "CloudWatch Logs payload without awslogs", fixture: "efs-createfilesystem-cloudwatchlogs-bare.json",
			ids: []string{idCreateFS}, shape: ShapeCloudWatchLogs, stats: Stats{Records: 1, Relevant: 1}},
		{name: "CloudWatch Logs control message", fixture: "cloudwatchlogs-control-message.json",
			stats: Stats{Control: 1}},
		{name: "awslogs data not gzip", fixture: "cloudwatchlogs-data-notgzip.json",
			stats: Stats{Errors: 1}, errs: []wantErr{{kind: ErrEncoding, loc: "value[0].awslogs.data"}}},
		{name: "awslogs data bad base64", fixture: "cloudwatchlogs-data-badbase64.json",
			stats: Stats{Errors: 1}, errs: []wantErr{{kind: ErrEncoding, loc: "value[0].awslogs.data"}}},
		{name: "digest file", fixture: "cloudtrail-digest-file.json", stats: Stats{Digests: 1}},
		{name: "S3 notification", fixture: "s3-objectcreated-bare.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: s3Stats},
		{name: "S3 notification via SQS", fixture: "s3-objectcreated-sqs.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: s3Stats},
		{name: "S3 notification via SNS", fixture: "s3-objectcreated-sns.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: s3Stats},
		{name: "S3 notification via SNS via SQS", fixture: "s3-objectcreated-sqs-sns.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: s3Stats},
		{name: "S3 notification via Lambda SNS event", fixture: "s3-objectcreated-lambda-sns.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: s3Stats},
		{name: "S3 test event ignored", fixture: "s3-testevent-sqs.json", opener: dir},
		{name: "S3 digest key skipped", fixture: "s3-digest-sqs.json", opener: dir, stats: Stats{Digests: 1}},
		{name: "S3 object missing, next message decoded", fixture: "s3-objectcreated-sqs-missing.json", opener: dir,
			ids: s3Records, shape: ShapeS3Notification, stats: Stats{Records: 3, Relevant: 2, Skipped: 1, Errors: 1},
			errs: []wantErr{{kind: ErrObject, loc: "Records[0].body.Records[0]"}}},
		{name: "S3 notification without opener", fixture: "s3-objectcreated-sqs.json",
			stats: Stats{Errors: 1}, errs: []wantErr{{kind: ErrObject, loc: "Records[0].body.Records[0]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Decoder{Opener: tt.opener}
			got := decodeBytes(t, d, tt.fixture, readFixture(t, tt.fixture))
			check(t, got, tt.ids, tt.shape, tt.stats, tt.errs)
		})
	}
}
