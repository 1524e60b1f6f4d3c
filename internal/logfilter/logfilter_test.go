package logfilter

import (
	"errors"
	"testing"
)

// record is a CloudTrail record as a CloudWatch Logs subscription delivers
// it (the log event message is the record), a KMS CreateKey in the shape of
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html
const record = `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","accountId":"111122223333"},
"eventTime":"2026-11-22T09:00:00Z","eventSource":"kms.amazonaws.com","eventName":"CreateKey",
"awsRegion":"us-east-1","sourceIPAddress":"192.0.2.0","requestParameters":{"keySpec":"SYMMETRIC_DEFAULT"},
"responseElements":null,"readOnly":false,"managementEvent":true,"eventType":"AwsApiCall",
"resources":[{"ARN":"arn:aws:kms:us-east-1:111122223333:key/1","type":"AWS::KMS::Key"}],"n":5}`

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern string
		want          bool
	}{
		{"empty pattern passes everything", "", true},
		{"blank pattern passes everything", "  ", true},
		{"equals", `{ $.eventSource = "kms.amazonaws.com" }`, true},
		{"equals other", `{ $.eventSource = "ec2.amazonaws.com" }`, false},
		{"bare value", `{ $.eventName = CreateKey }`, true},
		{"not equals", `{ $.eventSource != "kms.amazonaws.com" }`, false},
		{"not equals other", `{ $.eventSource != "ec2.amazonaws.com" }`, true},
		{"missing field does not match =", `{ $.errorCode = "*" }`, false},
		{"missing field does not match !=", `{ $.errorCode != "AccessDenied" }`, false},
		{"wildcard", `{ $.eventSource = "kms.*" }`, true},
		{"wildcard in the middle", `{ $.eventName = "Cr*Key" }`, true},
		{"wildcard other", `{ $.eventName = "Delete*" }`, false},
		{"nested", `{ $.userIdentity.type = "IAMUser" }`, true},
		{"array index", `{ $.resources[0].type = "AWS::KMS::Key" }`, true},
		{"array index past the end", `{ $.resources[1].type = "AWS::KMS::Key" }`, false},
		{"or", `{ ($.eventSource = "kms.amazonaws.com") || ($.eventSource = "elasticfilesystem.amazonaws.com") }`, true},
		{"or neither", `{ $.eventSource = "a" || $.eventSource = "b" }`, false},
		{"and", `{ $.eventSource = "kms.amazonaws.com" && $.eventName = "Decrypt" }`, false},
		{"and binds tighter than or", `{ $.eventName = "Decrypt" && $.eventSource = "x" || $.eventName = "CreateKey" }`, true},
		{"parentheses", `{ $.eventName = "Decrypt" && ($.eventSource = "x" || $.eventName = "CreateKey") }`, false},
		{"is false", `{ $.readOnly IS FALSE }`, true},
		{"is true", `{ $.managementEvent IS TRUE }`, true},
		{"is true on false", `{ $.readOnly IS TRUE }`, false},
		{"is null", `{ $.responseElements IS NULL }`, true},
		{"exists", `{ $.requestParameters.keySpec EXISTS }`, true},
		{"not exists", `{ $.errorCode NOT EXISTS }`, true},
		{"not exists on a present field", `{ $.eventName NOT EXISTS }`, false},
		{"numeric", `{ $.n > 4 && $.n <= 5 }`, true},
		{"numeric other", `{ $.n = 6 }`, false},
		{"numeric against a string", `{ $.eventName > 1 }`, false},
		{"string value against a number", `{ $.n = "5" }`, false},
		// The examples of matching-terms-json-log-events.html.
		{"documented: eventType", `{ $.eventType = "UpdateTrail" }`, false},
		{"documented: bare wildcard value", `{ $.sourceIPAddress != 123.123.* }`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.MatchJSON([]byte(record)); got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNotJSONMessage(t *testing.T) {
	f, err := Parse(`{ $.a EXISTS }`)
	if err != nil {
		t.Fatal(err)
	}
	if f.MatchJSON([]byte("plain text")) {
		t.Fatal("a JSON pattern passed a message that is not JSON")
	}
}

func TestParseUnreadable(t *testing.T) {
	tests := []struct {
		name, pattern, want string
	}{
		{"term pattern", `"kms.amazonaws.com"`, "filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read"},
		{"space-delimited", `[ip, user, ...]`, "filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read"},
		{"regex", `{ $.eventName = %Create.*% }`, "filter pattern cannot be read: at offset 16: regular expressions are not read"},
		{"unclosed", `{ $.a = "b"`, `filter pattern cannot be read: at offset 11: "}" expected, the pattern ends`},
		{"unterminated string", `{ $.a = "b }`, "filter pattern cannot be read: at offset 8: unterminated string"},
		{"no operator", `{ $.a "b" }`, "filter pattern cannot be read: at offset 6: a comparison operator expected"},
		{"no selector", `{ a = "b" }`, "filter pattern cannot be read: at offset 2: a selector ($.field) expected"},
		{"star index", `{ $.a[*].b = "c" }`, `filter pattern cannot be read: at offset 5: array index "*" is not read`},
		{"is what", `{ $.a IS MAYBE }`, "filter pattern cannot be read: at offset 9: TRUE, FALSE or NULL expected after IS"},
		{"less than a string", `{ $.a < "b" }`, "filter pattern cannot be read: at offset 11: < needs a number"},
		{"text after", `{ $.a EXISTS } x`, "filter pattern cannot be read: at offset 15: text after the closing brace"},
		{"dangling or", `{ $.a EXISTS || }`, "filter pattern cannot be read: at offset 16: a selector ($.field) expected"},
		{"unclosed parenthesis", `{ ($.a EXISTS }`, `filter pattern cannot be read: at offset 14: ")" expected`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.pattern)
			if !errors.Is(err, ErrUnreadable) || err.Error() != tc.want {
				t.Fatalf("error = %v, want %q", err, tc.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", `{ $.a = "b" }`, `{ ($.a = 1) || $.b IS TRUE && $.c NOT EXISTS }`, `{ $.a[0].b != "x*" }`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		flt, err := Parse(pattern)
		if err != nil {
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("error %v is not ErrUnreadable", err)
			}
			return
		}
		flt.MatchJSON([]byte(record))
	})
}
