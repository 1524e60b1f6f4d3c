package state

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
	k1     = "1234abcd-12ab-34cd-56ef-1234567890ab"
	fs1    = "fs-0123456789abcdef0"
)

var (
	k1ARN  = arns.KeyARN(region, acct, k1)
	fs1ARN = arns.FileSystemARN(region, acct, fs1)
	t0     = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
)

// rec builds a record of interest at t0+minutes.
func rec(id string, minutes int, source, name, req, resp string) *cloudtrail.Record {
	r := &cloudtrail.Record{
		EventID: id, EventTime: t0.Add(time.Duration(minutes) * time.Minute),
		EventSource: source, EventName: name, AWSRegion: region, RecipientAccountID: acct,
	}
	if req != "" {
		r.RequestParameters = json.RawMessage(req)
	}
	if resp != "" {
		r.ResponseElements = json.RawMessage(resp)
	}
	return r
}

func kms(id string, minutes int, name, req, resp string) *cloudtrail.Record {
	r := rec(id, minutes, cloudtrail.SourceKMS, name, req, resp)
	r.Resources = []cloudtrail.Resource{{ARN: k1ARN, AccountID: acct, Type: "AWS::KMS::Key"}}
	return r
}

func efs(id string, minutes int, name, req, resp string) *cloudtrail.Record {
	return rec(id, minutes, cloudtrail.SourceEFS, name, req, resp)
}

var (
	createKey = kms("ck", 0, "CreateKey", `{"keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT"}`,
		fmt.Sprintf(`{"keyMetadata":{"keyId":%q,"arn":%q,"keyUsage":"ENCRYPT_DECRYPT","keyState":"Enabled","origin":"AWS_KMS","keyManager":"CUSTOMER","keySpec":"SYMMETRIC_DEFAULT"}}`, k1, k1ARN))
	createFS = efs("cf", 1, "CreateFileSystem", fmt.Sprintf(`{"encrypted":true,"kmsKeyId":%q}`, k1),
		fmt.Sprintf(`{"fileSystemId":%q,"fileSystemArn":%q,"encrypted":true,"kmsKeyId":%q}`, fs1, fs1ARN, k1ARN))
)

func boolp(b bool) *bool { return &b }

func TestMemoryApplyKeys(t *testing.T) {
	defaultPolicy := DefaultKeyPolicy("aws", acct)
	base := Key{ARN: k1ARN, ID: k1, Account: acct, Region: region, KeySpec: SpecSymmetricDefault,
		KeyUsage: UsageEncryptDecrypt, Origin: OriginAWSKMS, KeyManager: ManagerCustomer, KeyState: KeyStateEnabled,
		RotationEnabled: boolp(false), MultiRegion: boolp(false), Policy: defaultPolicy}
	tests := []struct {
		name    string
		records []*cloudtrail.Record
		want    func(k Key) Key
	}{
		{"create key leaves rotation off and takes the default policy", []*cloudtrail.Record{createKey},
			func(k Key) Key { return k }},
		{"enable rotation with a period", []*cloudtrail.Record{createKey,
			kms("r", 5, "EnableKeyRotation", fmt.Sprintf(`{"keyId":%q,"rotationPeriodInDays":180}`, k1), "")},
			func(k Key) Key { k.RotationEnabled, k.RotationPeriodDays = boolp(true), 180; return k }},
		{"enable rotation without a period takes 365 days", []*cloudtrail.Record{createKey,
			kms("r", 5, "EnableKeyRotation", fmt.Sprintf(`{"keyId":%q}`, k1), "")},
			func(k Key) Key { k.RotationEnabled, k.RotationPeriodDays = boolp(true), 365; return k }},
		{"disable then an older enable arriving late keeps disabled", []*cloudtrail.Record{createKey,
			kms("d", 10, "DisableKey", fmt.Sprintf(`{"keyId":%q}`, k1), ""),
			kms("e", 5, "EnableKey", fmt.Sprintf(`{"keyId":%q}`, k1), "")},
			func(k Key) Key { k.KeyState = KeyStateDisabled; return k }},
		{"schedule deletion records the state and date", []*cloudtrail.Record{createKey,
			kms("s", 5, "ScheduleKeyDeletion", fmt.Sprintf(`{"keyId":%q,"pendingWindowInDays":7}`, k1),
				fmt.Sprintf(`{"keyId":%q,"deletionDate":"Nov 27, 2026, 9:05:00 AM","keyState":"PendingDeletion"}`, k1ARN))},
			func(k Key) Key {
				k.KeyState = KeyStatePendingDeletion
				k.DeletionDate = time.Date(2026, 11, 27, 9, 5, 0, 0, time.UTC)
				return k
			}},
		{"cancel deletion leaves the key disabled", []*cloudtrail.Record{createKey,
			kms("s", 5, "ScheduleKeyDeletion", fmt.Sprintf(`{"keyId":%q}`, k1), ""),
			kms("c", 6, "CancelKeyDeletion", fmt.Sprintf(`{"keyId":%q}`, k1), "")},
			func(k Key) Key { k.KeyState = KeyStateDisabled; return k }},
		{"deleting imported material makes the key pending import", []*cloudtrail.Record{createKey,
			kms("d", 5, "DeleteImportedKeyMaterial", fmt.Sprintf(`{"keyId":%q}`, k1), "")},
			func(k Key) Key { k.KeyState = KeyStatePendingImport; return k }},
		{"put key policy replaces the policy", []*cloudtrail.Record{createKey,
			kms("p", 5, "PutKeyPolicy", fmt.Sprintf(`{"keyId":%q,"policyName":"default","policy":"{\"Statement\":[]}"}`, k1), "")},
			func(k Key) Key { k.Policy = `{"Statement":[]}`; return k }},
		{"alias created, then moved away", []*cloudtrail.Record{createKey,
			rec("a1", 5, cloudtrail.SourceKMS, "CreateAlias", fmt.Sprintf(`{"aliasName":"alias/app","targetKeyId":%q}`, k1), ""),
			rec("a2", 6, cloudtrail.SourceKMS, "CreateAlias", fmt.Sprintf(`{"aliasName":"alias/data","targetKeyId":%q}`, k1), ""),
			rec("a3", 7, cloudtrail.SourceKMS, "DeleteAlias", `{"aliasName":"alias/app"}`, "")},
			func(k Key) Key { k.Aliases = []string{"alias/data"}; return k }},
		{"a failed call changes nothing", []*cloudtrail.Record{createKey,
			func() *cloudtrail.Record {
				r := kms("f", 5, "DisableKey", fmt.Sprintf(`{"keyId":%q}`, k1), "")
				r.ErrorCode = "AccessDeniedException"
				return r
			}()},
			func(k Key) Key { return k }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, r := range tc.records {
				if _, err := m.Apply(context.Background(), r); err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
			}
			got, err := m.Key(context.Background(), k1ARN)
			if err != nil || got == nil {
				t.Fatalf("Key = %v, %v", got, err)
			}
			got.Updated = time.Time{}
			want := tc.want(base)
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("key =\n%+v\nwant\n%+v", *got, want)
			}
		})
	}
}

func TestMemoryFileSystems(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	for _, r := range []*cloudtrail.Record{createKey, createFS} {
		if _, err := m.Apply(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	fs, _ := m.FileSystem(ctx, fs1ARN)
	want := FileSystem{ARN: fs1ARN, ID: fs1, Account: acct, Region: region, Encrypted: true, Known: true,
		KMSKeyID: k1, KMSKeyARN: k1ARN, Updated: createFS.EventTime}
	if fs == nil || !reflect.DeepEqual(*fs, want) {
		t.Fatalf("file system = %+v, want %+v", fs, want)
	}
	got, _ := m.FileSystemsForKey(ctx, k1ARN)
	if len(got) != 1 || got[0].ARN != fs1ARN {
		t.Fatalf("FileSystemsForKey = %v", got)
	}

	ch, err := m.Apply(ctx, efs("pol", 2, "PutFileSystemPolicy", fmt.Sprintf(`{"fileSystemId":%q,"policy":"{\"Statement\":[]}"}`, fs1), ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := []ResourceRef{{TypeFileSystem, fs1ARN}}; !reflect.DeepEqual(ch.Touched, want) {
		t.Errorf("touched = %v, want %v", ch.Touched, want)
	}
	fs, _ = m.FileSystem(ctx, fs1ARN)
	if fs.Policy != `{"Statement":[]}` || !fs.PolicyKnown {
		t.Errorf("policy = %q known=%v", fs.Policy, fs.PolicyKnown)
	}

	ch, err = m.Apply(ctx, efs("del", 3, "DeleteFileSystem", fmt.Sprintf(`{"fileSystemId":%q}`, fs1), ""))
	if err != nil {
		t.Fatal(err)
	}
	if want := []ResourceRef{{TypeFileSystem, fs1ARN}, {TypeKey, k1ARN}}; !reflect.DeepEqual(ch.Touched, want) {
		t.Errorf("touched = %v, want %v", ch.Touched, want)
	}
	if got, _ := m.FileSystemsForKey(ctx, k1ARN); len(got) != 0 {
		t.Errorf("a deleted file system is still protected: %v", got)
	}
}

func TestMemoryCreateFileSystemInfersKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		req     string
		resp    string
		wantKey Key
		touched int
	}{
		{"default AWS managed key", `{"encrypted":true}`,
			fmt.Sprintf(`{"fileSystemId":%q,"encrypted":true,"kmsKeyId":%q}`, fs1, k1ARN),
			Key{ARN: k1ARN, ID: k1, Account: acct, Region: region, Aliases: []string{EFSDefaultKeyAlias},
				KeySpec: SpecSymmetricDefault, KeyUsage: UsageEncryptDecrypt, Origin: OriginAWSKMS,
				KeyManager: ManagerAWS, KeyState: KeyStateEnabled}, 2},
		{"unseen customer key: only what EFS accepting it proves", fmt.Sprintf(`{"encrypted":true,"kmsKeyId":%q}`, k1),
			fmt.Sprintf(`{"fileSystemId":%q,"encrypted":true,"kmsKeyId":%q}`, fs1, k1ARN),
			Key{ARN: k1ARN, ID: k1, Account: acct, Region: region, KeySpec: SpecSymmetricDefault,
				KeyUsage: UsageEncryptDecrypt, KeyState: KeyStateEnabled}, 2},
		{"unencrypted touches only the file system", `{"encrypted":false}`,
			fmt.Sprintf(`{"fileSystemId":%q,"encrypted":false}`, fs1), Key{}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			ch, err := m.Apply(ctx, efs("cf", 0, "CreateFileSystem", tc.req, tc.resp))
			if err != nil {
				t.Fatal(err)
			}
			if len(ch.Touched) != tc.touched {
				t.Fatalf("touched %v, want %d resources", ch.Touched, tc.touched)
			}
			k, _ := m.Key(ctx, k1ARN)
			if tc.wantKey.ARN == "" {
				if k != nil {
					t.Fatalf("key %+v created for an unencrypted file system", k)
				}
				return
			}
			k.Updated = time.Time{}
			if !reflect.DeepEqual(*k, tc.wantKey) {
				t.Errorf("key =\n%+v\nwant\n%+v", *k, tc.wantKey)
			}
		})
	}
}

func TestMemoryGrants(t *testing.T) {
	ctx := context.Background()
	grant := func(id string, minutes int, fs, gid string) *cloudtrail.Record {
		r := kms(id, minutes, "CreateGrant", fmt.Sprintf(`{"keyId":%q,"granteePrincipal":"arn:aws:iam::%s:role/aws-service-role/elasticfilesystem.amazonaws.com/AWSServiceRoleForAmazonElasticFileSystem","operations":["Decrypt","CreateGrant"],"constraints":{"encryptionContextSubset":{"aws:elasticfilesystem:filesystem:id":%q}}}`, k1ARN, acct, fs),
			fmt.Sprintf(`{"grantId":%q,"keyId":%q}`, gid, k1ARN))
		return r
	}
	tests := []struct {
		name    string
		records []*cloudtrail.Record
		want    []Grant
	}{
		{"EFS grant created", []*cloudtrail.Record{createKey, createFS, grant("g", 2, fs1, "g1")},
			[]Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::" + acct + ":role/aws-service-role/elasticfilesystem.amazonaws.com/AWSServiceRoleForAmazonElasticFileSystem",
				Operations: []string{"Decrypt", "CreateGrant"}, FileSystemID: fs1, EFS: true, State: GrantActive}}},
		{"revoked", []*cloudtrail.Record{createKey, createFS, grant("g", 2, fs1, "g1"),
			kms("r", 3, "RevokeGrant", fmt.Sprintf(`{"keyId":%q,"grantId":"g1"}`, k1ARN), "")},
			[]Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::" + acct + ":role/aws-service-role/elasticfilesystem.amazonaws.com/AWSServiceRoleForAmazonElasticFileSystem",
				Operations: []string{"Decrypt", "CreateGrant"}, FileSystemID: fs1, EFS: true, State: GrantRevoked}}},
		{"retired after its file system was deleted", []*cloudtrail.Record{createKey, createFS, grant("g", 2, fs1, "g1"),
			efs("del", 3, "DeleteFileSystem", fmt.Sprintf(`{"fileSystemId":%q}`, fs1), ""),
			kms("r", 4, "RetireGrant", fmt.Sprintf(`{"keyId":%q,"grantId":"g1"}`, k1ARN), "")},
			[]Grant{{ID: "g1", GranteePrincipal: "arn:aws:iam::" + acct + ":role/aws-service-role/elasticfilesystem.amazonaws.com/AWSServiceRoleForAmazonElasticFileSystem",
				Operations: []string{"Decrypt", "CreateGrant"}, FileSystemID: fs1, EFS: true, State: GrantRetired, RetiredAfterDelete: true}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, r := range tc.records {
				if _, err := m.Apply(ctx, r); err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
			}
			k, _ := m.Key(ctx, k1ARN)
			if !reflect.DeepEqual(k.Grants, tc.want) {
				t.Errorf("grants =\n%+v\nwant\n%+v", k.Grants, tc.want)
			}
		})
	}
}

func TestMemoryBadRecords(t *testing.T) {
	tests := []struct {
		name string
		rec  *cloudtrail.Record
		want string
	}{
		{"encrypted as a string", efs("x", 0, "CreateFileSystem", `{"encrypted":"false"}`, fmt.Sprintf(`{"fileSystemId":%q}`, fs1)),
			"requestParameters.encrypted: want bool, got JSON string"},
		{"no file system id", efs("x", 0, "CreateFileSystem", `{"encrypted":true}`, `{}`),
			"responseElements.fileSystemId missing"},
		{"policy not JSON", efs("x", 0, "PutFileSystemPolicy", fmt.Sprintf(`{"fileSystemId":%q,"policy":"{not json"}`, fs1), ""),
			"requestParameters.policy is not a JSON document"},
		{"policy not a string", efs("x", 0, "PutFileSystemPolicy", fmt.Sprintf(`{"fileSystemId":%q,"policy":{"Statement":[]}}`, fs1), ""),
			"requestParameters.policy: want string, got JSON object"},
		{"key id unknown alias", rec("x", 0, cloudtrail.SourceKMS, "DisableKey", `{"keyId":"alias/nowhere"}`, ""),
			`cannot tell which key "alias/nowhere" names`},
		{"create key without metadata", rec("x", 0, cloudtrail.SourceKMS, "CreateKey", `{}`, `{}`),
			"responseElements.keyMetadata missing"},
		{"parameters not an object", rec("x", 0, cloudtrail.SourceKMS, "DisableKey", `"k"`, ""),
			"requestParameters is not an object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMemory().Apply(context.Background(), tc.rec)
			if !errors.Is(err, ErrBadRecord) {
				t.Fatalf("err = %v, want ErrBadRecord", err)
			}
			if got := err.Error(); !strings.Contains(got, tc.want) {
				t.Errorf("err = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// TestMemoryCreateFileSystemRecordsCreator checks that the principal that
// created a file system is kept: EFS calls KMS as that principal. The
// records follow the CloudTrail record shape of the EFS guide's logging
// page, which documents no CreateFileSystem entry
// (https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html),
// with requestParameters and responseElements from the API reference
// (https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html) and
// userIdentity as the CloudTrail guide documents it for an IAM user, an
// assumed role and the root user
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
func TestMemoryCreateFileSystemRecordsCreator(t *testing.T) {
	ctx := context.Background()
	record := func(identity, errorCode string) *cloudtrail.Record {
		doc := fmt.Sprintf(`{
			"eventVersion": "1.08",
			"userIdentity": %s,
			"eventTime": "2026-11-20T09:00:00Z",
			"eventSource": "elasticfilesystem.amazonaws.com",
			"eventName": "CreateFileSystem",
			"awsRegion": %q,
			"sourceIPAddress": "192.0.2.10",
			"userAgent": "aws-cli/2.17.0",
			"errorCode": %q,
			"requestParameters": {"creationToken": "console-d215fa78-1f83-4651-b026-facafd8a7da7", "performanceMode": "generalPurpose", "encrypted": true, "kmsKeyId": %q},
			"responseElements": {"ownerId": %q, "creationToken": "console-d215fa78-1f83-4651-b026-facafd8a7da7", "fileSystemId": %q, "fileSystemArn": %q, "lifeCycleState": "creating", "encrypted": true, "kmsKeyId": %q},
			"requestID": "d7c7d3d2-5d6e-4c5a-9c0f-0c7e1d5a7b01",
			"eventID": "5eed0000-0000-0000-0000-0000000000c1",
			"eventType": "AwsApiCall",
			"recipientAccountId": %q
		}`, identity, region, errorCode, k1ARN, acct, fs1, fs1ARN, k1ARN, acct)
		var r cloudtrail.Record
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatalf("fixture: %v", err)
		}
		return &r
	}
	tests := []struct {
		name      string
		identity  string
		errorCode string
		want      string
		wantFS    bool
	}{
		{"IAM user", `{"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "arn": "arn:aws:iam::111122223333:user/Alice", "accountId": "111122223333", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "userName": "Alice"}`,
			"", "arn:aws:iam::111122223333:user/Alice", true},
		{"assumed role: the session ARN", `{"type": "AssumedRole", "principalId": "AROAIDPPEZS35WEXAMPLE:AssumedRoleSessionName", "arn": "arn:aws:sts::111122223333:assumed-role/RoleToBeAssumed/MySessionName", "accountId": "111122223333", "accessKeyId": "ASIAIOSFODNN7EXAMPLE", "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAIDPPEZS35WEXAMPLE", "arn": "arn:aws:iam::111122223333:role/RoleToBeAssumed", "accountId": "111122223333", "userName": "RoleToBeAssumed"}, "attributes": {"mfaAuthenticated": "false", "creationDate": "2026-11-20T08:50:00Z"}}}`,
			"", "arn:aws:sts::111122223333:assumed-role/RoleToBeAssumed/MySessionName", true},
		{"root user", `{"type": "Root", "principalId": "111122223333", "arn": "arn:aws:iam::111122223333:root", "accountId": "111122223333", "accessKeyId": "AKIAIOSFODNN7EXAMPLE"}`,
			"", "arn:aws:iam::111122223333:root", true},
		{"no ARN in userIdentity: creator unknown", `{"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"}`,
			"", "", true},
		{"failed call records nothing", `{"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/Alice", "accountId": "111122223333"}`,
			"AccessDenied", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			if _, err := m.Apply(ctx, record(tc.identity, tc.errorCode)); err != nil {
				t.Fatal(err)
			}
			fs, err := m.FileSystem(ctx, fs1ARN)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantFS {
				if fs != nil {
					t.Fatalf("failed call created %+v", fs)
				}
				return
			}
			if fs == nil {
				t.Fatal("file system not created")
			}
			if fs.Creator != tc.want {
				t.Errorf("Creator = %q, want %q", fs.Creator, tc.want)
			}
		})
	}
}

// TestDefaultKeyPolicyAsMarshal holds DefaultKeyPolicy to the document it
// writes, as json.Marshal writes it, whatever the partition and account
// (a record's account is not checked before the policy is built).
func TestDefaultKeyPolicyAsMarshal(t *testing.T) {
	for _, c := range []struct{ partition, account string }{
		{"aws", "111122223333"}, {"aws-us-gov", "123456789012"}, {"aws-cn", ""},
		{"aws", `<&>"\` + "\u2028\x01\xff"}, {"", "é"},
	} {
		doc := map[string]any{
			"Version": "2012-10-17",
			"Id":      "key-default-1",
			"Statement": []any{map[string]any{
				"Sid":       "Enable IAM User Permissions",
				"Effect":    "Allow",
				"Principal": map[string]any{"AWS": arns.ARN{Partition: c.partition, Service: arns.ServiceIAM, AccountID: c.account, Resource: "root"}.String()},
				"Action":    "kms:*",
				"Resource":  "*",
			}},
		}
		want, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if got := DefaultKeyPolicy(c.partition, c.account); got != string(want) {
			t.Errorf("DefaultKeyPolicy(%q, %q) =\n%s\nwant\n%s", c.partition, c.account, got, want)
		}
	}
}
