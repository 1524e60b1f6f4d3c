package cloudtrail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// rec returns a compact record of source and name.
func rec(source, name, id, eventTime string, extra string) string {
	return `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","accountId":"111122223333"},` +
		`"eventTime":"` + eventTime + `","eventSource":"` + source + `","eventName":"` + name + `",` +
		`"awsRegion":"us-east-1","eventID":"` + id + `"` + extra + `,"recipientAccountId":"111122223333"}`
}

func logFile(records ...string) string { return `{"Records":[` + strings.Join(records, ",") + `]}` }

var (
	kmsKey   = rec(SourceKMS, EventCreateKey, "id-key", "2024-05-01T12:00:01Z", "")
	efsFS    = rec(SourceEFS, EventCreateFileSystem, "id-fs", "2024-05-01T12:00:02Z", "")
	kmsNoise = rec(SourceKMS, "Decrypt", "id-noise", "2024-05-01T12:00:03Z", "")
)

func TestDecodeMalformed(t *testing.T) {
	huge := rec(SourceKMS, EventCreateKey, "id-huge", "2024-05-01T12:00:00Z",
		`,"requestParameters":{"description":"`+strings.Repeat("x", 10<<20)+`"}`)
	deep := strings.Repeat("[", 10000) + strings.Repeat("]", 10000)
	truncated := logFile(kmsKey, efsFS, kmsNoise)
	truncated = truncated[:len(truncated)-40]
	tests := []struct {
		name   string
		input  string
		limits Limits
		ids    []string
		shape  Shape
		stats  Stats
		errs   []wantErr
	}{
		{name: "truncated log file keeps the records before",
			input: truncated, ids: []string{"id-key", "id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 2, Relevant: 2, Errors: 1},
			errs:  []wantErr{{kind: ErrMalformed, loc: "Records[2]"}}},
		{name: "wrong types",
			input: logFile(
				rec(SourceKMS, EventCreateKey, "id-1", "2024-05-01T12:00:01Z", `,"errorCode":403`),
				strings.Replace(rec(SourceKMS, EventCreateKey, "id-2", "x", ""), `"eventTime":"x"`, `"eventTime":1714564801`, 1),
				rec(SourceKMS, EventCreateKey, "id-3", "yesterday", ""),
				strings.Replace(kmsKey, `"eventName":"CreateKey"`, `"eventName":42`, 1),
				`"not a record"`,
				efsFS),
			// The three CreateKey records are of interest though bad.
			ids: []string{"id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 5, Relevant: 4, Invalid: 3, Errors: 5},
			errs: []wantErr{
				{kind: ErrWrongType, loc: "Records[0]", eventID: "id-1"},
				{kind: ErrWrongType, loc: "Records[1]", eventID: "id-2"},
				{kind: ErrWrongFormat, loc: "Records[2]", eventID: "id-3"},
				{kind: ErrWrongType, loc: "Records[3]", eventID: "id-key"},
				{kind: ErrWrongType, loc: "Records[4]"},
			}},
		{name: "missing fields",
			input: logFile(
				strings.Replace(kmsKey, `"eventID":"id-key"`, `"requestID":"r"`, 1),
				strings.Replace(kmsKey, `"eventTime":"2024-05-01T12:00:01Z",`, ``, 1),
				strings.Replace(kmsKey, `"eventName":"CreateKey",`, ``, 1),
				strings.Replace(kmsKey, `"eventSource":"kms.amazonaws.com",`, ``, 1),
				efsFS),
			// Without its eventName a record is not known to be of interest.
			ids: []string{"id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 5, Relevant: 4, Invalid: 3, Errors: 4},
			errs: []wantErr{
				{kind: ErrMissingField, loc: "Records[0]"},
				{kind: ErrMissingField, loc: "Records[1]", eventID: "id-key"},
				{kind: ErrMissingField, loc: "Records[2]", eventID: "id-key"},
				{kind: ErrMissingField, loc: "Records[3]", eventID: "id-key"},
			}},
		{name: "10 MB record over the limit, the next decoded",
			input: logFile(kmsKey, huge, efsFS), ids: []string{"id-key", "id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 3, Relevant: 2, Errors: 1},
			errs:  []wantErr{{kind: ErrTooLarge, loc: "Records[1]"}}},
		{name: "duplicate eventIDs both emitted",
			input: logFile(kmsKey, kmsKey), ids: []string{"id-key", "id-key"}, shape: ShapeLogFile,
			stats: Stats{Records: 2, Relevant: 2}},
		{name: "out of order records emitted in input order",
			input: logFile(efsFS, kmsKey), ids: []string{"id-fs", "id-key"}, shape: ShapeLogFile,
			stats: Stats{Records: 2, Relevant: 2}},
		{name: "failed call emitted",
			input: logFile(rec(SourceKMS, EventScheduleKeyDeletion, "id-denied", "2024-05-01T12:00:01Z",
				`,"errorCode":"AccessDenied","errorMessage":"not authorized"`)),
			ids: []string{"id-denied"}, shape: ShapeLogFile, stats: Stats{Records: 1, Relevant: 1}},
		{name: "unrelated events skipped",
			input: logFile(kmsNoise, rec("ec2.amazonaws.com", "DescribeInstances", "id-ec2", "2024-05-01T12:00:00Z", ""),
				rec("s3.amazonaws.com", EventCreateKey, "id-odd", "2024-05-01T12:00:00Z", "")),
			stats: Stats{Records: 3, Skipped: 3}},
		{name: "escaped event name decoded in full",
			input: logFile(strings.Replace(kmsKey, `"CreateKey"`, `"Create\u004bey"`, 1)),
			ids:   []string{"id-key"}, shape: ShapeLogFile, stats: Stats{Records: 1, Relevant: 1}},
		{name: "10,000 levels of nesting at the top",
			input: deep, stats: Stats{Errors: 1},
			errs: []wantErr{{kind: ErrTooLarge, loc: "value[0]"}}},
		{name: "10,000 levels of nesting in a record",
			input: logFile(`{"eventName":"CreateKey","x":`+deep+`}`, efsFS), ids: []string{"id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 1, Relevant: 1, Errors: 1},
			errs:  []wantErr{{kind: ErrTooLarge, loc: "Records[0]"}}},
		{name: "10,000 unclosed levels",
			input: strings.Repeat(`{"a":`, 10000), stats: Stats{Errors: 1},
			errs: []wantErr{{kind: ErrMalformed, loc: "value[0]"}}},
		{name: "invalid UTF-8",
			input: logFile(strings.Replace(kmsKey, `"us-east-1"`, "\"us-\xff\xfe\"", 1), efsFS),
			ids:   []string{"id-fs"}, shape: ShapeLogFile, stats: Stats{Records: 2, Relevant: 2, Invalid: 1, Errors: 1},
			errs: []wantErr{{kind: ErrMalformed, loc: "Records[0]", eventID: "id-key"}}},
		{name: "JSON Lines with a broken line",
			input: kmsKey + "\n" + `{"eventName": tru` + "\n" + efsFS + "\n",
			ids:   []string{"id-key", "id-fs"}, shape: ShapeRecord, stats: Stats{Records: 2, Relevant: 2, Errors: 1},
			errs: []wantErr{{kind: ErrMalformed, loc: "value[1]"}}},
		{name: "concatenated values",
			input: kmsKey + kmsNoise + efsFS, ids: []string{"id-key", "id-fs"}, shape: ShapeRecord,
			stats: Stats{Records: 3, Relevant: 2, Skipped: 1}},
		{name: "top-level array of records",
			input: "[" + kmsKey + ",\n" + kmsNoise + ", " + efsFS + "]", ids: []string{"id-key", "id-fs"}, shape: ShapeRecord,
			stats: Stats{Records: 3, Relevant: 2, Skipped: 1}},
		{name: "not JSON", input: "hello world", stats: Stats{Errors: 2},
			errs: []wantErr{{kind: ErrUnknownShape, loc: "value[0]"}, {kind: ErrUnknownShape, loc: "value[1]"}}},
		{name: "unknown object", input: `{"foo":1}`, stats: Stats{Errors: 1},
			errs: []wantErr{{kind: ErrUnknownShape, loc: "value[0]"}}},
		{name: "empty input", input: ""},
		{name: "a log event before its messageType",
			input: `{"logEvents":[{"id":"1","timestamp":1,"message":` + quote(kmsKey) + `}],"messageType":"DATA_MESSAGE"}`,
			ids:   []string{"id-key"}, shape: ShapeCloudWatchLogs, stats: Stats{Records: 1, Relevant: 1}},
		{name: "duplicate eventName keys make a record ambiguous",
			input: logFile(
				strings.Replace(kmsNoise, `"eventName":"Decrypt"`, `"eventName":"Decrypt","eventName":"DisableKey"`, 1),
				strings.Replace(kmsKey, `"eventID":"id-key"`, `"eventID":"id-key","EVENTNAME":"Decrypt"`, 1),
				efsFS),
			ids: []string{"id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 3, Relevant: 1, Errors: 2},
			errs: []wantErr{
				{kind: ErrMalformed, loc: "Records[0]", eventID: "id-noise"},
				{kind: ErrMalformed, loc: "Records[1]", eventID: "id-key"},
			}},
		{name: "unknown eventVersion",
			input: logFile(strings.Replace(kmsKey, `"eventVersion":"1.08"`, `"eventVersion":"2.0"`, 1), efsFS),
			ids:   []string{"id-fs"}, shape: ShapeLogFile,
			stats: Stats{Records: 2, Relevant: 2, Invalid: 1, Errors: 1},
			errs:  []wantErr{{kind: ErrVersion, loc: "Records[0]", eventID: "id-key"}}},
		{name: "record over a small limit",
			input: kmsKey + "\n" + efsFS, limits: Limits{MaxRecordBytes: 200},
			stats: Stats{Errors: 2},
			errs:  []wantErr{{kind: ErrTooLarge, loc: "value[0]"}, {kind: ErrTooLarge, loc: "value[1]"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeBytes(t, &Decoder{Limits: tt.limits}, "test", []byte(tt.input))
			check(t, got, tt.ids, tt.shape, tt.stats, tt.errs)
		})
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDecodeGzipBomb(t *testing.T) {
	// 64 MiB of white space inside the Records array inflates past a 1 MiB
	// limit from a few dozen KB of gzip.
	var plain bytes.Buffer
	plain.WriteString(`{"Records":[` + kmsKey + ",")
	plain.Write(bytes.Repeat([]byte(" "), 64<<20))
	plain.WriteString(efsFS + "]}")
	data := gzipBytes(t, plain.Bytes())
	if len(data) > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", len(data))
	}
	got := decodeBytes(t, &Decoder{Limits: Limits{MaxInflatedBytes: 1 << 20}}, "bomb.json.gz", data)
	check(t, got, []string{"id-key"}, ShapeLogFile, Stats{Records: 1, Relevant: 1, Errors: 1},
		[]wantErr{{kind: ErrTooLarge, loc: "Records[1]"}})
}

func TestDecodeGzipMembersAndCorruption(t *testing.T) {
	tests := []struct {
		name  string
		data  func() []byte
		ids   []string
		stats Stats
		errs  []wantErr
	}{
		{name: "two gzip members",
			data: func() []byte {
				return append(gzipBytes(t, []byte(logFile(kmsKey))), gzipBytes(t, []byte(logFile(efsFS)))...)
			},
			ids: []string{"id-key", "id-fs"}, stats: Stats{Records: 2, Relevant: 2}},
		{name: "truncated gzip",
			data: func() []byte {
				z := gzipBytes(t, []byte(logFile(kmsKey, efsFS, strings.Repeat(" ", 200000)+kmsNoise)))
				return z[:len(z)-20]
			},
			ids: []string{"id-key", "id-fs"}, stats: Stats{Records: 2, Relevant: 2, Errors: 1},
			errs: []wantErr{{kind: ErrEncoding, loc: "Records[2]"}}},
		{name: "gzip header only",
			data:  func() []byte { return []byte{0x1f, 0x8b} },
			stats: Stats{Errors: 1}, errs: []wantErr{{kind: ErrEncoding, loc: "byte 0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeBytes(t, &Decoder{}, "test.json.gz", tt.data())
			check(t, got, tt.ids, ShapeLogFile, tt.stats, tt.errs)
		})
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	g := newLogGen(7, 0.5)
	var want []*Record
	var all []Record
	for range 200 {
		r, relevant := g.next()
		all = append(all, r.Record)
		if relevant {
			rr := r.Record
			want = append(want, &rr)
		}
	}
	failed := all[len(all)-1]
	failed.EventSource, failed.EventName, failed.ErrorCode, failed.ErrorMessage = SourceKMS, EventDisableKey, "AccessDeniedException", "denied"
	all = append(all, failed)
	want = append(want, &failed)
	data, err := json.Marshal(struct {
		Records []Record `json:"Records"`
	}{all})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data []byte
	}{
		{name: "plain", data: data},
		{name: "gzip", data: gzipBytes(t, data)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeBytes(t, &Decoder{}, "roundtrip", tt.data)
			if got.err != nil || len(got.errs) != 0 {
				t.Fatalf("err %v, decode errors %v", got.err, got.errs)
			}
			if !reflect.DeepEqual(got.recs, want) {
				t.Fatalf("decoded %d records, want %d; first differing:\n%s", len(got.recs), len(want), firstDiff(got.recs, want))
			}
			if got.stats != (Stats{Records: 201, Relevant: len(want), Skipped: 201 - len(want)}) {
				t.Errorf("stats %+v", got.stats)
			}
		})
	}
}

func firstDiff(got, want []*Record) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, _ := json.Marshal(got[i])
			w, _ := json.Marshal(want[i])
			return "got  " + string(g) + "\nwant " + string(w)
		}
	}
	return ""
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestDecodeReturnedErrors(t *testing.T) {
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		emitErr error
		want    error
		emitted int
	}{
		{name: "emit fails", ctx: context.Background(), r: strings.NewReader(logFile(kmsKey, efsFS)), emitErr: boom, want: boom, emitted: 1},
		{name: "context cancelled", ctx: cancelled, r: strings.NewReader(logFile(kmsKey)), want: context.Canceled},
		{name: "reader fails", ctx: context.Background(), r: &failingReader{data: []byte(logFile(kmsKey) + `{"Records":[`), err: boom}, want: boom, emitted: 1},
		{name: "gzip reader fails", ctx: context.Background(), r: &failingReader{data: gzipBytes(t, []byte(logFile(kmsKey)))[:30], err: boom}, want: boom},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emitted := 0
			_, err := (&Decoder{}).Decode(tt.ctx, "test", tt.r, func(*Record, Shape) error {
				emitted++
				return tt.emitErr
			}, nil)
			if !errors.Is(err, tt.want) || emitted != tt.emitted {
				t.Fatalf("err %v, emitted %d; want %v, %d", err, emitted, tt.want, tt.emitted)
			}
		})
	}
}

func TestDecodeNilOnErr(t *testing.T) {
	st, err := (&Decoder{}).Decode(context.Background(), "test", strings.NewReader(`{"Records":[1,{"eventName":5}`),
		func(*Record, Shape) error { return nil }, nil)
	if err != nil || st.Errors != 3 || st.Records != 1 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
}

func TestEventBridgeFillsAccount(t *testing.T) {
	got := decodeBytes(t, &Decoder{}, "eb", readFixture(t, "kms-createkey-eventbridge.json"))
	if len(got.recs) != 1 || got.recs[0].RecipientAccountID != testAccount ||
		!got.recs[0].EventTime.Equal(time.Date(2024, 5, 1, 12, 0, 1, 0, time.UTC)) {
		t.Fatalf("records %+v", got.recs)
	}
}
