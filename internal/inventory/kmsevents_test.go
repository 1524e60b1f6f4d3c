package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

// docRecord decodes a record in the shape the KMS developer guide prints
// (e.g. https://docs.aws.amazon.com/kms/latest/developerguide/ct-disconnect-keystore.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html),
// with this test's account and region. key names the key in resources.
func serviceRecord(t *testing.T, source, name, eventType, key, req, resp string) *cloudtrail.Record {
	t.Helper()
	resources := "null"
	if key != "" {
		resources = fmt.Sprintf(`[{"accountId":%q,"type":"AWS::KMS::Key","ARN":%q}]`, testAccount, key)
	}
	raw := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":{"accountId":%q,"invokedBy":"AWS Internal"},
		"eventTime":"2026-11-20T09:00:00Z","eventSource":%q,"eventName":%q,"awsRegion":%q,
		"sourceIPAddress":"AWS Internal","userAgent":"AWS Internal","requestParameters":%s,"responseElements":%s,
		"eventID":"b25f9cda-74e1-4458-847b-4972a0bf9668","readOnly":false,"resources":%s,
		"eventType":%q,"recipientAccountId":%q,"managementEvent":true,"eventCategory":"Management"}`,
		testAccount, source, name, testRegion, req, resp, resources, eventType, testAccount)
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

func TestApplyKeyEventsLive(t *testing.T) {
	const store = "cks-1234567890abcdef0"
	keyStore := arns.KeyARN(testRegion, testAccount, "cks-key-1")
	keyRef := func(arn string) state.ResourceRef { return state.ResourceRef{Type: state.TypeKey, ARN: arn} }
	fsRef := func(arn string) state.ResourceRef { return state.ResourceRef{Type: state.TypeFileSystem, ARN: arn} }
	// The EFS user guide prints no CloudTrail entry for replication; the
	// records take the members of
	// https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html.
	tests := []struct {
		name    string
		read    []string // keys read before the record
		rec     func(t *testing.T) *cloudtrail.Record
		touched []state.ResourceRef
		ignored string
		reread  map[string]int // calls made by reading the touched resources again
	}{
		{"disconnecting a custom key store touches the keys of it that were read", []string{keyA, keyStore},
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceKMS, "DisconnectCustomKeyStore", "AwsApiCall", "", fmt.Sprintf(`{"customKeyStoreId":%q}`, store), "null")
			}, []state.ResourceRef{keyRef(keyStore)}, "", map[string]int{"DescribeKey": 1}},
		{"connecting it again", []string{keyStore},
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceKMS, "ConnectCustomKeyStore", "AwsApiCall", "", fmt.Sprintf(`{"customKeyStoreId":%q}`, store), "null")
			}, []state.ResourceRef{keyRef(keyStore)}, "", map[string]int{"DescribeKey": 1}},
		{"a store none of whose keys was read touches nothing", []string{keyA},
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceKMS, "DisconnectCustomKeyStore", "AwsApiCall", "", fmt.Sprintf(`{"customKeyStoreId":%q}`, store), "null")
			}, nil, "no key of custom key store " + store + " was read", map[string]int{}},
		{"expired key material drops the key's metadata", []string{keyA},
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceKMS, "DeleteExpiredKeyMaterial", "AwsServiceEvent", keyA, "null", "null")
			}, []state.ResourceRef{keyRef(keyA)}, "", map[string]int{"DescribeKey": 1}},
		{"a new replica and its key", nil,
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceEFS, "CreateReplicationConfiguration", "AwsApiCall", "",
					fmt.Sprintf(`{"sourceFileSystemId":"fs-plain","destinations":[{"region":%q,"kmsKeyId":"alias/team-a"}]}`, testRegion),
					fmt.Sprintf(`{"sourceFileSystemId":"fs-plain","sourceFileSystemRegion":%q,"destinations":[{"status":"ENABLING","fileSystemId":"fs-b","region":%q}]}`, testRegion, testRegion))
			}, []state.ResourceRef{fsRef(fsB), keyRef(keyA)}, "", map[string]int{}},
		{"ending a replication re-reads the file system it names", nil,
			func(t *testing.T) *cloudtrail.Record {
				return serviceRecord(t, cloudtrail.SourceEFS, "DeleteReplicationConfiguration", "AwsApiCall", "", `{"sourceFileSystemId":"fs-a"}`, "null")
			}, []state.ResourceRef{fsRef(fsA)}, "", map[string]int{"DescribeFileSystems": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.kms.keys[keyStore] = &fakeKey{md: kmstypes.KeyMetadata{
				Arn: aws.String(keyStore), KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
				Origin: kmstypes.OriginTypeAwsCloudhsm, KeyManager: kmstypes.KeyManagerTypeCustomer, KeyState: kmstypes.KeyStateEnabled,
				CustomKeyStoreId: aws.String(store),
			}, policy: "{}"}
			ctx := context.Background()
			for _, k := range tc.read {
				if _, err := f.live.Key(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			for _, r := range tc.touched {
				if r.Type == state.TypeFileSystem {
					if _, err := f.live.FileSystem(ctx, r.ARN); err != nil {
						t.Fatal(err)
					}
				}
			}
			ch, err := f.live.Apply(ctx, tc.rec(t))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ch.Touched, tc.touched) || ch.Ignored != tc.ignored {
				t.Fatalf("change %+v, want touched %v ignored %q", ch, tc.touched, tc.ignored)
			}
			before := map[string]int{"DescribeKey": f.kms.get("DescribeKey"), "DescribeFileSystems": f.efs.get("DescribeFileSystems")}
			for _, r := range tc.touched {
				if r.Type == state.TypeKey {
					_, err = f.live.Key(ctx, r.ARN)
				} else {
					_, err = f.live.FileSystem(ctx, r.ARN)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			for op, want := range tc.reread {
				if got := f.kms.get(op) + f.efs.get(op) - before[op]; got != want {
					t.Errorf("%s calls after Apply = %d, want %d", op, got, want)
				}
			}
		})
	}
}

// TestApplyDeleteKeyLive: once KMS deletes a key (the DeleteKey service
// event, https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html)
// DescribeKey answers NotFound, and the live store reports the key deleted.
func TestApplyDeleteKeyLive(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.live.Key(ctx, keyA); err != nil {
		t.Fatal(err)
	}
	delete(f.kms.keys, keyA)
	ch, err := f.live.Apply(ctx, serviceRecord(t, cloudtrail.SourceKMS, "DeleteKey", "AwsServiceEvent", keyA, "null", "null"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []state.ResourceRef{{Type: state.TypeKey, ARN: keyA}}; !reflect.DeepEqual(ch.Touched, want) {
		t.Fatalf("touched %v, want %v", ch.Touched, want)
	}
	k, err := f.live.Key(ctx, keyA)
	if err != nil || k == nil || !k.Deleted || k.KeyState != "" {
		t.Fatalf("Key = %+v, %v; want a deleted key", k, err)
	}
	// A key no record said was deleted is simply unknown.
	if k, err := f.live.Key(ctx, arns.KeyARN(testRegion, testAccount, "never-seen")); err != nil || k != nil {
		t.Fatalf("unknown key = %+v, %v", k, err)
	}
}

func TestApplyLiveBadRecords(t *testing.T) {
	tests := []struct {
		name string
		rec  func(t *testing.T) *cloudtrail.Record
		want string
	}{
		{"custom key store without an id", func(t *testing.T) *cloudtrail.Record {
			return serviceRecord(t, cloudtrail.SourceKMS, "DisconnectCustomKeyStore", "AwsApiCall", "", `{}`, "null")
		}, "apply DisconnectCustomKeyStore b25f9cda-74e1-4458-847b-4972a0bf9668: bad record: requestParameters.customKeyStoreId missing"},
		{"replication without a destination", func(t *testing.T) *cloudtrail.Record {
			return serviceRecord(t, cloudtrail.SourceEFS, "CreateReplicationConfiguration", "AwsApiCall", "", `{"sourceFileSystemId":"fs-a"}`, `{"destinations":[]}`)
		}, "apply CreateReplicationConfiguration b25f9cda-74e1-4458-847b-4972a0bf9668: bad record: responseElements.destinations[0].fileSystemId missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newFixture(t).live.Apply(context.Background(), tc.rec(t))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
