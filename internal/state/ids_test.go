package state

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// disableKey is the DisableKey record of
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-disablekey.html,
// with its key id, key ARN and resources replaced by the test's.
func disableKey(t *testing.T, keyID, responseKeyID, resourceARN string) *cloudtrail.Record {
	t.Helper()
	raw := `{"eventVersion":"1.02","userIdentity":{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"},"eventTime":"2014-11-04T00:52:43Z","eventSource":"kms.amazonaws.com","eventName":"DisableKey","awsRegion":"us-west-2","sourceIPAddress":"192.0.2.0","userAgent":"AWS Internal","requestParameters":{"keyId":KEYID},"responseElements":{"keyId":RESPKEYID},"requestID":"12345126-30d5-4b28-98b9-9153da559963","eventID":"abcde202-ba1a-467c-b4ba-f729d45ae521","readOnly":false,"resources":[{"ARN":RESOURCE,"accountId":"111122223333","type":"AWS::KMS::Key"}],"eventType":"AwsApiCall","recipientAccountId":"111122223333"}`
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	raw = strings.NewReplacer("KEYID", q(keyID), "RESPKEYID", q(responseKeyID), "RESOURCE", q(resourceARN)).Replace(raw)
	var rec cloudtrail.Record
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		t.Fatal(err)
	}
	return &rec
}

// createFileSystem is a CreateFileSystem record as
// https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html
// shows it, with the members atrest reads.
func createFileSystem(t *testing.T, fsID, kmsKeyID string) *cloudtrail.Record {
	t.Helper()
	req, _ := json.Marshal(map[string]any{"creationToken": "tok", "encrypted": true, "kmsKeyId": kmsKeyID})
	resp, _ := json.Marshal(map[string]any{"ownerId": "111122223333", "fileSystemId": fsID, "encrypted": true, "kmsKeyId": kmsKeyID})
	return &cloudtrail.Record{EventSource: cloudtrail.SourceEFS, EventName: cloudtrail.EventCreateFileSystem, EventID: "cfs-1",
		AWSRegion: "us-west-2", RecipientAccountID: "111122223333", RequestParameters: req, ResponseElements: resp}
}

func TestApplyValidatesIDs(t *testing.T) {
	const (
		keyID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
		keyARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	)
	tests := []struct {
		name string
		rec  func(t *testing.T) *cloudtrail.Record
		err  string // "" when the record applies
	}{
		{name: "documented DisableKey", rec: func(t *testing.T) *cloudtrail.Record { return disableKey(t, keyID, keyARN, keyARN) }},
		{name: "multi-Region key id", rec: func(t *testing.T) *cloudtrail.Record {
			return disableKey(t, "mrk-1234abcd12ab34cd56ef1234567890ab", "", "")
		}},
		{name: "alias name", rec: func(t *testing.T) *cloudtrail.Record { return disableKey(t, "alias/team-a", "", keyARN) }},
		{name: "key id with an escape sequence", rec: func(t *testing.T) *cloudtrail.Record { return disableKey(t, keyID+"\x1b[2K", keyARN, keyARN) },
			err: `apply DisableKey abcde202-ba1a-467c-b4ba-f729d45ae521: bad record: requestParameters.keyId "1234abcd-12ab-34cd-56ef-1234567890ab\x1b[2K" is not a key id (a UUID or mrk- and 32 hex digits)`},
		{name: "resource ARN with a newline", rec: func(t *testing.T) *cloudtrail.Record { return disableKey(t, keyID, keyARN, keyARN+"\nx") },
			err: `apply DisableKey abcde202-ba1a-467c-b4ba-f729d45ae521: bad record: resources[0].ARN "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\nx" is not an ARN`},
		{name: "resource that is not an ARN", rec: func(t *testing.T) *cloudtrail.Record { return disableKey(t, keyID, keyARN, "arn:aws:kms") },
			err: `apply DisableKey abcde202-ba1a-467c-b4ba-f729d45ae521: bad record: resources[0].ARN "arn:aws:kms" is not an ARN`},
		{name: "response key ARN of another resource type", rec: func(t *testing.T) *cloudtrail.Record {
			return disableKey(t, keyID, "arn:aws:kms:us-west-2:111122223333:grant/1234", keyARN)
		}, err: `apply DisableKey abcde202-ba1a-467c-b4ba-f729d45ae521: bad record: responseElements.keyId "arn:aws:kms:us-west-2:111122223333:grant/1234" is not a key or alias ARN`},
		{name: "documented CreateFileSystem", rec: func(t *testing.T) *cloudtrail.Record { return createFileSystem(t, "fs-0123456789abcdef0", keyARN) }},
		{name: "file system id with an erase-line sequence and a newline", rec: func(t *testing.T) *cloudtrail.Record {
			return createFileSystem(t, "fs-0123\x1b[2K\nCOMPLIANT", keyARN)
		}, err: `apply CreateFileSystem cfs-1: bad record: responseElements.fileSystemId "fs-0123\x1b[2K\nCOMPLIANT" is not a file system id (fs- and hex digits)`},
		{name: "file system id with upper case", rec: func(t *testing.T) *cloudtrail.Record { return createFileSystem(t, "fs-ABC", keyARN) },
			err: `apply CreateFileSystem cfs-1: bad record: responseElements.fileSystemId "fs-ABC" is not a file system id (fs- and hex digits)`},
		{name: "kmsKeyId with a bidi override", rec: func(t *testing.T) *cloudtrail.Record {
			return createFileSystem(t, "fs-0123456789abcdef0", "alias/a\u202eb")
		}, err: `apply CreateFileSystem cfs-1: bad record: requestParameters.kmsKeyId "alias/a\u202eb" is not an alias name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			ch, err := m.Apply(context.Background(), tt.rec(t))
			if tt.err == "" {
				if err != nil || len(ch.Touched) == 0 {
					t.Fatalf("change %+v err %v", ch, err)
				}
				return
			}
			if err == nil || err.Error() != tt.err || !errors.Is(err, ErrBadRecord) {
				t.Fatalf("error %v\nwant  %s", err, tt.err)
			}
			if len(m.Refs()) != 0 {
				t.Fatalf("a record with a bad id changed the model: %v", m.Refs())
			}
		})
	}
}

// The id checks are the regular expressions of the API references' id
// shapes, written out byte by byte: each must answer as its expression does.
var idShapes = []struct {
	name    string
	pattern *regexp.Regexp
	check   func(string) bool
}{
	{"file system id", regexp.MustCompile(`^fs-[0-9a-f]+$`), ValidFileSystemID},
	{"key id", regexp.MustCompile(`^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$`), ValidKeyID},
	{"alias name", regexp.MustCompile(`^alias/[a-zA-Z0-9/_-]+$`), validAliasName},
	{"ARN characters", regexp.MustCompile(`^[!-~]+$`), arnText},
}

var idSamples = []string{
	"", "fs-", "fs-0", "fs-0123456789abcdef0", "fs-0123ABC", "fs-01 ", "fs-01\n", "xfs-01", "fs-g",
	"1234abcd-12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890aB", "1234abcd-12ab-34cd-56ef-1234567890a",
	"1234abcd-12ab-34cd-56ef-1234567890abc", "1234abcd_12ab-34cd-56ef-1234567890ab", "1234abcd-12ab-34cd-56ef-1234567890a\n",
	"mrk-1234abcd12ab34cd56ef1234567890ab", "mrk-1234abcd12ab34cd56ef1234567890a", "mrk-1234abcd12ab34cd56ef1234567890abc",
	"mrk-1234ABCD12ab34cd56ef1234567890ab", "alias/", "alias/efs-data", "alias/aws/efs", "alias/a b", "alias/é", "Alias/x",
	"arn:aws:kms:eu-west-1:111122223333:key/k", "arn:aws:kms:eu-west-1:111122223333:key/k ", "~!", "\x7f", "a\x00b",
}

func TestIDShapesAsTheirExpressions(t *testing.T) {
	for _, shape := range idShapes {
		for _, s := range idSamples {
			if got, want := shape.check(s), shape.pattern.MatchString(s); got != want {
				t.Errorf("%s check of %q = %v, its expression %v", shape.name, s, got, want)
			}
		}
	}
}

func FuzzIDShapes(f *testing.F) {
	for _, s := range idSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, shape := range idShapes {
			if got, want := shape.check(s), shape.pattern.MatchString(s); got != want {
				t.Fatalf("%s check of %q = %v, its expression %v", shape.name, s, got, want)
			}
		}
	})
}
