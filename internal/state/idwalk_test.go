package state

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/samples"
)

// requestParts are the requestParameters, responseElements and
// additionalEventData of every sample event: the shapes the walks meet in
// use.
func requestParts(t testing.TB) [][]byte {
	var parts [][]byte
	for _, v := range samples.Decoded(t, samples.Events) {
		samples.Objects(v, func(o map[string]any) bool {
			for _, k := range []string{"requestParameters", "responseElements", "additionalEventData"} {
				if m, ok := o[k]; ok {
					parts = append(parts, samples.JSON(t, m))
				}
			}
			return true
		})
	}
	return parts
}

// sameAsUnmarshal fails unless the walk, when it answers for raw, reads
// the ids json.Unmarshal reads from it, and refuses nothing it accepts.
func sameAsUnmarshal(t *testing.T, raw []byte) (walked bool) {
	t.Helper()
	got, ok := idFieldsOf(raw)
	if !ok {
		return false
	}
	if !json.Valid(raw) {
		// The walk assumes valid JSON: what it reads from text that is
		// not is trusted only when every id passes, as json.Unmarshal's
		// refusal would let the record through too.
		return true
	}
	var want idFields
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatalf("walk read %+v from %q, json.Unmarshal failed: %v", got, raw, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("walk read %+v from %q\njson.Unmarshal read %+v", got, raw, want)
	}
	return true
}

func TestIDFieldsOfAsUnmarshal(t *testing.T) {
	parts := requestParts(t)
	walked := 0
	for _, raw := range parts {
		if sameAsUnmarshal(t, raw) {
			walked++
		}
	}
	// Every sample is plain: the walk answers for all of them.
	if walked != len(parts) || walked < 20 {
		t.Fatalf("walk answered for %d of %d sample members", walked, len(parts))
	}
	for _, tc := range []struct {
		name string
		raw  string
		ok   bool
		want idFields
	}{
		{name: "key policy skipped", ok: true, raw: `{"policy":"{\"Statement\":[{\"Resource\":\"*\",\"keyId\":\"x\"}]}","keyId":"k1"}`,
			want: idFields{KeyID: "k1"}},
		{name: "keys in any case, the last one read", ok: true, raw: `{"KEYID":"a","keyid":"b","KmsKeyId":"c"}`,
			want: idFields{KeyID: "b", KMSKeyID: "c"}},
		{name: "null leaves an id as it was", ok: true, raw: `{"keyId":"a","keyId":null}`, want: idFields{KeyID: "a"}},
		{name: "nested ids are not read", ok: true, raw: `{"tags":[{"keyId":"x"}],"x":{"fileSystemId":"y"},"n":-1.5e3,"b":true}`},
		{name: "keyMetadata members", ok: true, raw: `{"keyMetadata":{"keyId":"k","arn":"a","keyState":"Enabled"}}`},
		{name: "a repeated keyMetadata is merged", ok: true, raw: `{"keyMetadata":{"keyId":"k"},"keyMetadata":{"arn":"a"}}`},
		{name: "keyMetadata null", ok: true, raw: `{"keyMetadata":{"keyId":"k"},"keyMetadata":null}`},
		{name: "escaped quotes and backslash runs", ok: true, raw: `{"d":"a\\\"}{\\\\","fileSystemId":"fs-1"}`,
			want: idFields{FileSystemID: "fs-1"}},
		{name: "empty object", ok: true, raw: ` { } `},
		{name: "an escape in a key", raw: `{"key\u0049d":"k"}`},
		{name: "an escape in an id", raw: `{"keyId":"k\n"}`},
		{name: "an id past ASCII", raw: `{"keyId":"é"}`},
		{name: "a number for an id", raw: `{"keyId":5}`},
		{name: "keyMetadata a string", raw: `{"keyMetadata":"k"}`},
		{name: "not an object", raw: `["keyId"]`},
		{name: "null", ok: true, raw: ` null `},
		{name: "text after the object", raw: `{"keyId":"k"} x`},
		{name: "unterminated", raw: `{"keyId":"k"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := idFieldsOf([]byte(tc.raw))
			if ok != tc.ok {
				t.Fatalf("ok %v, want %v", ok, tc.ok)
			}
			if ok {
				sameAsUnmarshal(t, []byte(tc.raw))
				if tc.want != (idFields{}) && !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("read %+v, want %+v", got, tc.want)
				}
			}
		})
	}
}

// A bad id in text that is not valid JSON is let through, as json.Unmarshal
// refuses the text and the ids are not read; the same id in valid JSON is
// refused.
func TestValidateIDsMalformedJSONAsBefore(t *testing.T) {
	const bad = `"keyId":"k\u001b[2K"`
	for _, tc := range []struct {
		raw string
		err bool
	}{
		{`{` + bad + `}`, true},
		{`{` + bad + `,"x":tru}`, false},
		{`{` + bad + `,"x":[}`, false},
		{`{` + bad + `} x`, false},
		{`{"keyId":"bad id","x":1}`, true},
		{`{"keyId":"bad id","x":1.2.3}`, false},
	} {
		rec := &cloudtrail.Record{EventSource: cloudtrail.SourceKMS, EventName: "DisableKey", RequestParameters: json.RawMessage(tc.raw)}
		if err := ValidateIDs(rec); (err != nil) != tc.err {
			t.Errorf("%s: error %v, want one: %v", tc.raw, err, tc.err)
		}
	}
}

// FuzzIDFieldsOf holds the walk to json.Unmarshal on any text.
func FuzzIDFieldsOf(f *testing.F) {
	for _, raw := range requestParts(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"keyMetadata":{"keyId":"k"},"keyMetadata":{"arn":"a"},"KEYID":"x","d":"\\\"{["}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		sameAsUnmarshal(t, raw)
	})
}
