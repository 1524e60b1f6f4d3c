package finding

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// sameAsMarshal fails unless AppendJSON writes f as json.Marshal does, or
// both refuse it.
func sameAsMarshal(t *testing.T, f Finding) {
	t.Helper()
	want, wantErr := json.Marshal(f)
	got, err := f.AppendJSON([]byte("prefix"))
	if (err == nil) != (wantErr == nil) {
		t.Fatalf("AppendJSON error %v, json.Marshal error %v", err, wantErr)
	}
	if err == nil && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("AppendJSON\n%s\njson.Marshal\n%s", got[len("prefix"):], want)
	}
}

var jsonSamples = []Finding{
	{},
	{ID: "0123abcd", Rule: "efs_encrypted_at_rest", Status: NonCompliant, Resource: "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123",
		ResourceType: "AWS::EFS::FileSystem", Account: "111122223333", Region: "eu-west-1", EventID: "e-1", EventName: "CreateFileSystem",
		EventTime: time.Date(2026, 12, 3, 10, 0, 0, 123000000, time.UTC), Reason: "file system <fs-0123> & \"quoted\" \\ \t\n\r\b\f\x01\x7f é \u2028\u2029 \xff",
		Severity: "HIGH", Title: "t", Remediation: "r", Controls: []string{"NIST 800-53 SC-28", "<a>"}, FileSystems: []string{"fs-1"},
		Source: "cli", ResourceDeleted: true, PreviousStatus: Compliant},
	{Controls: []string{}, FileSystems: []string{}, EventTime: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
	{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
}

func TestAppendJSONAsMarshal(t *testing.T) {
	// The second sample sets every member, so a member added to Finding
	// and not to AppendJSON fails here.
	full := reflect.ValueOf(jsonSamples[1])
	for i := range full.NumField() {
		if full.Field(i).IsZero() {
			t.Fatalf("the full sample leaves %s unset", full.Type().Field(i).Name)
		}
	}
	for _, f := range jsonSamples {
		sameAsMarshal(t, f)
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("id", "reason <&> \u2028", "\xff\xfe", "control", int64(0), true, 2)
	f.Add("", "", "", "", int64(1764756000123456789), false, 0)
	f.Fuzz(func(t *testing.T, id, reason, title, control string, nanos int64, deleted bool, lists int) {
		fd := Finding{ID: id, Rule: reason, Status: Status(title), Resource: control, Reason: reason, Title: title,
			EventID: title, Source: id, ResourceDeleted: deleted, PreviousStatus: Status(control)}
		if nanos != 0 {
			fd.EventTime = time.Unix(0, nanos).UTC()
		}
		switch lists % 3 {
		case 1:
			fd.Controls, fd.FileSystems = []string{}, []string{}
		case 2:
			fd.Controls, fd.FileSystems = []string{control, id}, []string{reason}
		}
		sameAsMarshal(t, fd)
	})
}

// BenchmarkAppendJSON compares AppendJSON with json.Marshal on a finding
// as atrest evaluate writes it.
func BenchmarkAppendJSON(b *testing.B) {
	f := jsonSamples[1]
	f.Reason = "key policy blocks EFS: for fs-0123 (created by arn:aws:iam::111122223333:user/alice): statement 1 denies kms:CreateGrant"
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = f.AppendJSON(buf[:0])
		}
	})
	b.Run("json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
