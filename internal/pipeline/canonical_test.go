package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// decodedCanonical is the canonical form canonicalJSON must give: the value
// decoded by encoding/json (numbers kept as written) and encoded again.
func decodedCanonical(raw []byte) []byte {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return raw
	}
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

var canonicalSeeds = []string{
	`{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","keySpec":"SYMMETRIC_DEFAULT"}`,
	` { "b" : 1 , "a" : [ true , false , null , -0.5e+3 , "x" ] } `,
	`{"a":1,"a":2,"b":{"a":3,"a":{"z":1}}}`,
	`{"policy":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\"}]}"}`,
	`{"k":"a<b>&c \u2028 \/ \u00e9 é \ud83d\ude00"}`,
	`{"\u0062":1,"a":2}`,
	"{\"bad\":\"\xff\xfe\"}",
	`[]`, `{}`, `[[[]]]`, `"s"`, `12`, `-0`, `1E400`, `true`, `null`,
	`{"tags":[{"key":"k","value":"v"}],"n":0.1}`,
	// Strings written as they stand, and each that is rewritten, alone.
	`{"k":"\b\f\n\r\t\"\\ plain"}`, `{"k":"a<b"}`, `{"k":"a>b"}`, `{"k":"a&b"}`, `{"k":"a\/b"}`,
	`{"k":"\u00e9"}`, `{"k":"\u001f"}`, `{"k":"\u001F"}`, `{"k":"é"}`, "{\"k\":\"x\u2028\"}", `{"k":"\u0041"}`,
	`{"a":}`, `[1,]`, `{"a" 1}`, `01`, `1.`, `-`, `"\x"`, "\"a\tb\"", `{"a":1`, `tru`,
}

// TestCanonicalJSON compares canonicalJSON with encoding/json's round trip
// on record fragments, duplicate keys, escapes, invalid UTF-8 and numbers,
// and on malformed values (returned as they are).
func TestCanonicalJSON(t *testing.T) {
	for _, s := range canonicalSeeds {
		want := decodedCanonical([]byte(s))
		if got := canonicalJSON([]byte(s)); !bytes.Equal(got, want) {
			t.Errorf("canonicalJSON(%q) = %q, want %q", s, got, want)
		}
	}
	// Deep nesting within encoding/json's limit, and past it.
	for _, depth := range []int{100, 10001} {
		s := strings.Repeat("[", depth) + strings.Repeat("]", depth)
		if got, want := canonicalJSON([]byte(s)), decodedCanonical([]byte(s)); !bytes.Equal(got, want) {
			t.Errorf("depth %d: got %d bytes, want %d", depth, len(got), len(want))
		}
	}
}

// FuzzCanonicalJSON holds canonicalJSON to encoding/json's round trip on
// every valid JSON value (what a record's fields hold).
func FuzzCanonicalJSON(f *testing.F) {
	for _, s := range canonicalSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if !json.Valid(raw) {
			return
		}
		if got, want := canonicalJSON(raw), decodedCanonical(raw); !bytes.Equal(got, want) {
			t.Fatalf("canonicalJSON(%q) = %q, want %q", raw, got, want)
		}
	})
}

func BenchmarkCanonicalJSON(b *testing.B) {
	raw := []byte(`{"keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","description":"efs key","tags":[{"tagKey":"team","tagValue":"storage"}],"policy":"{\"Version\":\"2012-10-17\",\"Id\":\"key-default-1\",\"Statement\":[{\"Sid\":\"Enable IAM User Permissions\",\"Effect\":\"Allow\",\"Principal\":{\"AWS\":\"arn:aws:iam::111122223333:root\"},\"Action\":\"kms:*\",\"Resource\":\"*\"}]}","origin":"AWS_KMS","multiRegion":false}`)
	b.Run("bytes", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			canonicalJSON(raw)
		}
	})
	b.Run("decode_encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			decodedCanonical(raw)
		}
	})
}

// TestDigest holds digest to its definition, the fields and canonical
// members each followed by a zero byte, hashed as one stream, for records
// with members that do and do not decode, with the buffers it reuses
// passed from one record to the next and back.
func TestDigest(t *testing.T) {
	reference := func(rec *cloudtrail.Record) [sha256.Size]byte {
		h := sha256.New()
		for _, s := range []string{
			rec.EventSource, rec.EventName, rec.EventTime.UTC().Format(time.RFC3339Nano), rec.AWSRegion, rec.Account(),
			rec.EventType, rec.UserIdentity.Type, rec.UserIdentity.ARN, rec.UserIdentity.AccountID, rec.UserIdentity.InvokedBy,
			rec.ErrorCode, rec.ErrorMessage,
		} {
			h.Write([]byte(s))
			h.Write([]byte{0})
		}
		for _, raw := range []json.RawMessage{rec.RequestParameters, rec.ResponseElements, rec.AdditionalEventData} {
			h.Write(decodedCanonicalOrEmpty(raw))
			h.Write([]byte{0})
		}
		for _, r := range rec.Resources {
			h.Write([]byte(r.ARN + "\x00" + r.AccountID + "\x00" + r.Type + "\x00"))
		}
		var out [sha256.Size]byte
		h.Sum(out[:0])
		return out
	}
	base := cloudtrail.Record{
		EventSource: "kms.amazonaws.com", EventName: "CreateKey", AWSRegion: "us-east-1",
		EventTime: time.Date(2026, 12, 4, 10, 0, 0, 5, time.FixedZone("x", 3600)), EventType: "AwsApiCall",
		UserIdentity:      cloudtrail.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::111122223333:assumed-role/r/s", AccountID: "111122223333"},
		RequestParameters: json.RawMessage(` {"keyUsage":"ENCRYPT_DECRYPT","tags":[{"tagKey":"a","tagValue":"\u00e9"}],"description":"d"} `),
		ResponseElements:  json.RawMessage(`{"keyMetadata":{"keyId":"k","aWSAccountId":"111122223333","b":{"z":1,"a":2}}}`),
		Resources:         []cloudtrail.Resource{{ARN: "arn:aws:kms:us-east-1:111122223333:key/k", AccountID: "111122223333", Type: "AWS::KMS::Key"}},
	}
	bad := base
	bad.RequestParameters = json.RawMessage(`{"keyUsage":`) // kept as written
	bad.ResponseElements = nil
	bad.ErrorCode, bad.ErrorMessage = "AccessDenied", "no"
	for i, rec := range []*cloudtrail.Record{&base, &bad, &base, {}, &bad} {
		if got, want := digest(rec), reference(rec); got != want {
			t.Errorf("record %d: digest %x, want %x", i, got, want)
		}
	}
	reordered := base
	reordered.RequestParameters = json.RawMessage(`{"description":"d","tags":[{"tagValue":"é","tagKey":"a"}],"keyUsage":"ENCRYPT_DECRYPT"}`)
	if digest(&reordered) != digest(&base) {
		t.Error("a record whose members differ only in key order, spacing and escaping has another digest")
	}
}

// decodedCanonicalOrEmpty is decodedCanonical, and nothing for no value.
func decodedCanonicalOrEmpty(raw []byte) []byte {
	if len(raw) == 0 {
		return nil
	}
	return decodedCanonical(raw)
}
