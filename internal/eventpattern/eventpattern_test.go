package eventpattern

import (
	"errors"
	"testing"
)

// event is an EventBridge "AWS API Call via CloudTrail" event in the shape
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
// documents, with a KMS CreateKey record as detail.
const event = `{
  "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
  "detail-type": "AWS API Call via CloudTrail", "source": "aws.kms",
  "account": "111122223333", "time": "2026-11-22T09:00:00Z", "region": "us-east-1", "resources": [],
  "detail": {
    "eventVersion": "1.09", "eventSource": "kms.amazonaws.com", "eventName": "CreateKey",
    "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.0", "readOnly": false, "n": 5,
    "tags": ["a", "b"], "resources": [{"ARN": "arn:aws:kms:us-east-1:111122223333:key/1", "type": "AWS::KMS::Key"}],
    "responseElements": null
  }
}`

func TestMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact", `{"source":["aws.kms"]}`, true},
		{"exact other", `{"source":["aws.ec2"]}`, false},
		{"nested alternatives", `{"detail":{"eventName":["Decrypt","CreateKey"]}}`, true},
		{"every key must match", `{"source":["aws.kms"],"detail":{"eventName":["Decrypt"]}}`, false},
		{"missing field", `{"detail":{"errorCode":["x"]}}`, false},
		{"array element", `{"detail":{"tags":["b"]}}`, true},
		{"number", `{"detail":{"n":[5.0]}}`, true},
		{"number is not a string", `{"detail":{"n":["5"]}}`, false},
		{"boolean", `{"detail":{"readOnly":[false]}}`, true},
		{"null", `{"detail":{"responseElements":[null]}}`, true},
		{"null against a value", `{"source":[null]}`, false},
		{"prefix", `{"source":[{"prefix":"aws."}]}`, true},
		{"prefix other", `{"source":[{"prefix":"atrest"}]}`, false},
		{"prefix ignoring case", `{"source":[{"prefix":{"equals-ignore-case":"AWS.K"}}]}`, true},
		{"suffix", `{"detail":{"eventSource":[{"suffix":".amazonaws.com"}]}}`, true},
		{"suffix other", `{"detail":{"eventSource":[{"suffix":".example.com"}]}}`, false},
		{"equals-ignore-case", `{"detail-type":[{"equals-ignore-case":"aws api call via cloudtrail"}]}`, true},
		{"wildcard", `{"detail":{"eventSource":[{"wildcard":"*.amazonaws.com"}]}}`, true},
		{"wildcard in the middle", `{"detail":{"eventName":[{"wildcard":"Cr*Key"}]}}`, true},
		{"wildcard other", `{"detail":{"eventName":[{"wildcard":"Delete*"}]}}`, false},
		{"anything-but value", `{"source":[{"anything-but":"aws.ec2"}]}`, true},
		{"anything-but list", `{"source":[{"anything-but":["aws.kms","aws.ec2"]}]}`, false},
		{"anything-but prefix", `{"source":[{"anything-but":{"prefix":"aws."}}]}`, false},
		{"anything-but suffix", `{"detail":{"eventName":[{"anything-but":{"suffix":"Key"}}]}}`, false},
		{"anything-but ignoring case", `{"detail":{"eventName":[{"anything-but":{"equals-ignore-case":["createkey"]}}]}}`, false},
		{"anything-but wildcard", `{"detail":{"eventName":[{"anything-but":{"wildcard":"Delete*"}}]}}`, true},
		{"anything-but missing field", `{"detail":{"errorCode":[{"anything-but":"x"}]}}`, false},
		{"exists", `{"detail":{"eventName":[{"exists":true}]}}`, true},
		{"not exists", `{"detail":{"errorCode":[{"exists":false}]}}`, true},
		{"exists missing", `{"detail":{"errorCode":[{"exists":true}]}}`, false},
		{"numeric range", `{"detail":{"n":[{"numeric":[">",0,"<=",5]}]}}`, true},
		{"numeric outside", `{"detail":{"n":[{"numeric":["<",5]}]}}`, false},
		{"cidr", `{"detail":{"sourceIPAddress":[{"cidr":"192.0.2.0/24"}]}}`, true},
		{"cidr other", `{"detail":{"sourceIPAddress":[{"cidr":"198.51.100.0/24"}]}}`, false},
		{"$or one branch", `{"$or":[{"source":["aws.ec2"]},{"detail":{"eventName":["CreateKey"]}}]}`, true},
		{"$or no branch", `{"$or":[{"source":["aws.ec2"]},{"detail":{"eventName":["Decrypt"]}}]}`, false},
		{"object inside an array of objects", `{"detail":{"resources":{"type":["AWS::KMS::Key"]}}}`, true},
		{"object against scalar", `{"source":{"x":["y"]}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.MatchJSON([]byte(event))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestParseUnreadable(t *testing.T) {
	tests := []struct {
		name, pattern, want string
	}{
		{"not JSON", `{"source":`, "event pattern cannot be read: not JSON: unexpected EOF"},
		{"not an object", `["aws.kms"]`, "event pattern cannot be read: not a JSON object"},
		{"trailing text", `{"source":["aws.kms"]} x`, "event pattern cannot be read: text after the pattern object"},
		{"scalar leaf", `{"source":"aws.kms"}`, `event pattern cannot be read: source: "aws.kms" is neither an object nor a list`},
		{"empty list", `{"source":[]}`, "event pattern cannot be read: source: empty list"},
		{"unknown operator", `{"detail":{"eventName":[{"regex":"^C"}]}}`, `event pattern cannot be read: detail.eventName: operator "regex" is not supported`},
		{"exists not boolean", `{"source":[{"exists":"yes"}]}`, "event pattern cannot be read: source: exists takes true or false"},
		{"two-key operator", `{"source":[{"prefix":"a","suffix":"b"}]}`, `event pattern cannot be read: source: operator object {"prefix":"a","suffix":"b"} must have one key`},
		{"bad numeric", `{"n":[{"numeric":["~",1]}]}`, `event pattern cannot be read: n: numeric: operator "~" is not supported`},
		{"bad cidr", `{"ip":[{"cidr":"x"}]}`, `event pattern cannot be read: ip: cidr "x": netip.ParsePrefix("x"): no '/'`},
		{"$or with one branch", `{"$or":[{"source":["a"]}]}`, "event pattern cannot be read: $or: $or takes a list of at least two patterns"},
		{"empty pattern", `{}`, "event pattern cannot be read: pattern: empty object"},
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

func TestWildcard(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"a*", "abc", true},
		{"*c", "abc", true},
		{"a*c", "ac", true},
		{"a*b*c", "abbc", true},
		{"a*b*c", "acb", false},
		{`a\*`, "a*", true},
		{`a\*`, "ab", false},
		{"abc", "abc", true},
		{"ab*ab", "ab", false},
	}
	for _, tc := range tests {
		if got := wildcard(tc.pattern, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"source":["aws.kms"]}`, `{"detail":{"eventName":[{"anything-but":{"prefix":"D"}}]}}`, `{"$or":[{"a":[1]},{"b":[{"numeric":[">",1]}]}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		p, err := Parse(pattern)
		if err != nil {
			if !errors.Is(err, ErrUnreadable) {
				t.Fatalf("error %v is not ErrUnreadable", err)
			}
			return
		}
		if _, err := p.MatchJSON([]byte(event)); err != nil {
			t.Fatal(err)
		}
	})
}
