package state

import (
	"encoding/json"
	"reflect"
	"testing"
)

// paramShapes are the types decodeParams reads a record's parameters into.
var paramShapes = []func() any{
	func() any { return new(createFileSystemRequest) }, func() any { return new(createFileSystemResponse) },
	func() any { return new(replicationRequest) }, func() any { return new(replicationResponse) },
	func() any { return new(fileSystemRequest) }, func() any { return new(createKeyRequest) },
	func() any { return new(createKeyResponse) }, func() any { return new(keyRequest) },
	func() any { return new(keyResponse) }, func() any { return new(keyEventData) },
	func() any { return new(trailParams) }, func() any { return new(eventRuleParams) },
	func() any { return new(subscriptionFilterParams) },
}

// paramsWalkedAsUnmarshal fails unless walkParams, for every shape that it
// reads raw into, reads what json.Unmarshal does, and leaves the value zero
// where it does not; it returns how many shapes it read raw into and how
// many json.Unmarshal decoded it into.
func paramsWalkedAsUnmarshal(t *testing.T, raw []byte) (walked, decoded int) {
	t.Helper()
	for _, shape := range paramShapes {
		want := shape()
		wantErr := json.Unmarshal(raw, want)
		if wantErr == nil {
			decoded++
		}
		got := shape()
		if !walkParams(raw, got) {
			if !reflect.ValueOf(got).Elem().IsZero() {
				t.Fatalf("%T: left %q to json.Unmarshal with %+v", got, raw, got)
			}
			continue
		}
		walked++
		if wantErr != nil {
			t.Fatalf("%T: walked %q, json.Unmarshal failed: %v", got, raw, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%T: walked %q\nto   %+v\nwant %+v", got, raw, got, want)
		}
	}
	return walked, decoded
}

func TestWalkParamsAsUnmarshal(t *testing.T) {
	// Every sample record's parameters that json.Unmarshal decodes into a
	// shape, the walk reads into it (decodeParams takes null and what is
	// not an object before the walk).
	n := 0
	for _, raw := range requestParts(t) {
		if raw[0] != '{' {
			continue
		}
		if walked, decoded := paramsWalkedAsUnmarshal(t, raw); walked != decoded {
			t.Errorf("walked %s into %d shapes, json.Unmarshal decoded it into %d", raw, walked, decoded)
		}
		n++
	}
	if n < 30 {
		t.Fatalf("%d sample parameters", n)
	}
	for _, tc := range []struct {
		name   string
		raw    string
		walked bool // into the CreateKey request
	}{
		{"keys in any case", `{"KEYSPEC":"SYMMETRIC_DEFAULT","Policy":"{\"a\":1}","multiregion":false}`, true},
		{"nulls", `{"keySpec":null,"policy":null,"multiRegion":null}`, true},
		{"escapes in values", `{"origin":"AWS\u005fKMS","policy":"\ud83d\ude00\"\\"}`, true},
		{"a member twice", `{"keySpec":"A","KeySpec":"B"}`, false},
		{"an escaped key", `{"key\u0053pec":"A"}`, false},
		{"a number for a string", `{"keySpec":5}`, false},
		{"a string for a bool", `{"multiRegion":"true"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			paramsWalkedAsUnmarshal(t, []byte(tc.raw))
			if got := walkParams([]byte(tc.raw), new(createKeyRequest)); got != tc.walked {
				t.Errorf("walked %v, want %v", got, tc.walked)
			}
		})
	}
	for _, raw := range []string{
		`{"rotationPeriodInDays":90,"pendingWindowInDays":-0,"operations":["Decrypt",null],"constraints":{"encryptionContextSubset":{"a":"b"}}}`,
		`{"rotationPeriodInDays":90.0}`, `{"rotationPeriodInDays":1e2}`, `{"rotationPeriodInDays":99999999999999999999}`,
		`{"operations":[]}`, `{"operations":null}`, `{"operations":[1]}`, `{"constraints":{"encryptionContextSubset":[]}}`,
		`{"destinations":[{"region":"us-west-2","kmsKeyId":null},null]}`, `{"keyMetadata":{"keyId":"k","multiRegion":true}}`,
	} {
		paramsWalkedAsUnmarshal(t, []byte(raw))
	}
}

// FuzzWalkParams holds walkParams to json.Unmarshal for every shape.
func FuzzWalkParams(f *testing.F) {
	f.Add([]byte(`{"keyId":"k","rotationPeriodInDays":90,"operations":["Decrypt"],"policy":"{\"a\":[1]}","constraints":{"encryptionContextEquals":{"a":"b"}}}`))
	f.Add([]byte(`{"KEYSPEC":null,"multiRegion":true,"eventSelectors":[{"readWriteType":"All","includeManagementEvents":true}]}`))
	f.Add([]byte(`{"targets":[{"id":"1","arn":"a"}],"failedEntries":null,"destinations":[{"region":"r"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		paramsWalkedAsUnmarshal(t, raw)
	})
}
