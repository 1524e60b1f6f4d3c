package state

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// The KMS records below follow the CloudTrail log entries the KMS developer
// guide prints for each operation, with this test's account, region, key and
// times:
//
//	CreateKey (origin EXTERNAL)  https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html
//	ImportKeyMaterial            https://docs.aws.amazon.com/kms/latest/developerguide/ct-importkeymaterial.html
//	DeleteImportedKeyMaterial    https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteimportedkeymaterial.html
//	DeleteExpiredKeyMaterial     https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteexpiredkeymaterial.html
//	DisableKey                   https://docs.aws.amazon.com/kms/latest/developerguide/ct-disablekey.html
//	ScheduleKeyDeletion          https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html
//	DeleteKey                    https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
//	ConnectCustomKeyStore        https://docs.aws.amazon.com/kms/latest/developerguide/ct-connect-keystore.html
//	DisconnectCustomKeyStore     https://docs.aws.amazon.com/kms/latest/developerguide/ct-disconnect-keystore.html
//
// The guide has no CreateKey example in a custom key store; that record is
// the symmetric CreateKey example with the request parameters customKeyStoreId
// and origin AWS_CLOUDHSM of
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html and
// the KeyMetadata fields of
// https://docs.aws.amazon.com/kms/latest/APIReference/API_KeyMetadata.html.

const (
	userAlice = `{"type":"IAMUser","principalId":"EX_PRINCIPAL_ID","arn":"arn:aws:iam::111122223333:user/Alice","accountId":"111122223333","accessKeyId":"EXAMPLE_KEY_ID","userName":"Alice"}`
	awsKMS    = `{"accountId":"111122223333","invokedBy":"AWS Internal"}`
	keyStore1 = "cks-1234567890abcdef0"
)

// kmsDoc builds a KMS record in the documented shape: an API call by Alice,
// or (service) an AWS service event KMS records itself. key names the key in
// resources; "" leaves resources out, as the custom key store entries do.
func kmsDoc(t *testing.T, id string, minutes int, name string, service bool, key, req, resp string) *cloudtrail.Record {
	t.Helper()
	user, eventType, ip := userAlice, "AwsApiCall", "192.0.2.0"
	if service {
		user, eventType, ip = awsKMS, "AwsServiceEvent", "AWS Internal"
	}
	resources := ""
	if key != "" {
		resources = fmt.Sprintf(`"resources":[{"accountId":%q,"type":"AWS::KMS::Key","ARN":%q}],`, acct, key)
	}
	raw := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":%s,"eventTime":%q,"eventSource":"kms.amazonaws.com",
		"eventName":%q,"awsRegion":%q,"sourceIPAddress":%q,"userAgent":"AWS Internal",
		"requestParameters":%s,"responseElements":%s,"requestID":"dcf0e82f-dad0-4622-a378-a5b964ad42c1",
		"eventID":%q,"readOnly":false,%s"eventType":%q,"managementEvent":true,"recipientAccountId":%q,"eventCategory":"Management"}`,
		user, t0.Add(time.Duration(minutes)*time.Minute).Format(time.RFC3339), name, region, ip,
		req, resp, id, resources, eventType, acct)
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return &r
}

func createExternalKey(t *testing.T) *cloudtrail.Record {
	return kmsDoc(t, "ck", 0, "CreateKey", false, k1ARN,
		`{"description":"","origin":"EXTERNAL","bypassPolicyLockoutSafetyCheck":false,"customerMasterKeySpec":"SYMMETRIC_DEFAULT","keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}`,
		fmt.Sprintf(`{"keyMetadata":{"aWSAccountId":%q,"keyId":%q,"arn":%q,"creationDate":"Aug 10, 2022, 10:38:27 PM","enabled":false,"description":"","keyUsage":"ENCRYPT_DECRYPT","keyState":"PendingImport","origin":"EXTERNAL","keyManager":"CUSTOMER","customerMasterKeySpec":"SYMMETRIC_DEFAULT","keySpec":"SYMMETRIC_DEFAULT","encryptionAlgorithms":["SYMMETRIC_DEFAULT"],"multiRegion":false}}`, acct, k1, k1ARN))
}

func createStoreKey(t *testing.T, id, keyID string) *cloudtrail.Record {
	return createStoreKeyAt(t, id, keyID, 0)
}

func createStoreKeyAt(t *testing.T, id, keyID string, minutes int) *cloudtrail.Record {
	arn := arns.KeyARN(region, acct, keyID)
	return kmsDoc(t, id, minutes, "CreateKey", false, arn,
		fmt.Sprintf(`{"description":"","origin":"AWS_CLOUDHSM","customKeyStoreId":%q,"bypassPolicyLockoutSafetyCheck":false,"keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}`, keyStore1),
		fmt.Sprintf(`{"keyMetadata":{"aWSAccountId":%q,"keyId":%q,"arn":%q,"creationDate":"Aug 10, 2022, 10:38:27 PM","enabled":true,"description":"","keyUsage":"ENCRYPT_DECRYPT","keyState":"Enabled","origin":"AWS_CLOUDHSM","customKeyStoreId":%q,"cloudHsmClusterId":"cluster-1a23b4cdefg","keyManager":"CUSTOMER","customerMasterKeySpec":"SYMMETRIC_DEFAULT","keySpec":"SYMMETRIC_DEFAULT","encryptionAlgorithms":["SYMMETRIC_DEFAULT"],"multiRegion":false}}`, acct, keyID, arn, keyStore1))
}

func importMaterial(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return kmsDoc(t, id, minutes, "ImportKeyMaterial", false, k1ARN,
		fmt.Sprintf(`{"keyId":%q,"validTo":"May 21, 2027, 5:47:45 AM","expirationModel":"KEY_MATERIAL_EXPIRES","importType":"NEW_KEY_MATERIAL","keyMaterialDescription":"ExampleKeyMaterialA"}`, k1),
		fmt.Sprintf(`{"keyId":%q,"keyMaterialId":"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}`, k1ARN))
}

func deleteMaterial(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return kmsDoc(t, id, minutes, "DeleteImportedKeyMaterial", false, k1ARN,
		fmt.Sprintf(`{"keyId":%q,"keyMaterialId":"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}`, k1),
		fmt.Sprintf(`{"keyId":%q,"keyMaterialId":"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}`, k1ARN))
}

func expireMaterial(t *testing.T, id string, minutes int) *cloudtrail.Record {
	r := kmsDoc(t, id, minutes, "DeleteExpiredKeyMaterial", true, k1ARN, "null", "null")
	return r
}

func disableKeyDoc(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return kmsDoc(t, id, minutes, "DisableKey", false, k1ARN, fmt.Sprintf(`{"keyId":%q}`, k1), "null")
}

func scheduleDeletion(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return kmsDoc(t, id, minutes, "ScheduleKeyDeletion", false, k1ARN,
		fmt.Sprintf(`{"keyId":%q,"pendingWindowInDays":7}`, k1),
		fmt.Sprintf(`{"keyId":%q,"deletionDate":"Nov 27, 2026, 9:00:00 AM","keyState":"PendingDeletion","pendingWindowInDays":7}`, k1ARN))
}

func deleteKeyDoc(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return kmsDoc(t, id, minutes, "DeleteKey", true, k1ARN, "null", "null")
}

func keyStoreDoc(t *testing.T, id string, minutes int, name string) *cloudtrail.Record {
	r := kmsDoc(t, id, minutes, name, false, "", fmt.Sprintf(`{"customKeyStoreId":%q}`, keyStore1), "null")
	return r
}

func failedWith(r *cloudtrail.Record, code string) *cloudtrail.Record {
	r.ErrorCode = code
	return r
}

func TestMemoryKeyMaterial(t *testing.T) {
	tests := []struct {
		name    string
		records func(t *testing.T) []*cloudtrail.Record
		state   string
		origin  string
	}{
		{"an imported key waits for its material", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t)}
		}, KeyStatePendingImport, OriginExternal},
		{"importing material enables a key pending import", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1)}
		}, KeyStateEnabled, OriginExternal},
		{"deleting the material makes it pending import", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), deleteMaterial(t, "del", 2)}
		}, KeyStatePendingImport, OriginExternal},
		{"expired material (an AWS service event) makes it pending import", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), expireMaterial(t, "exp", 2)}
		}, KeyStatePendingImport, OriginExternal},
		{"importing again after expiry enables it again", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), expireMaterial(t, "exp", 2), importMaterial(t, "imp2", 3)}
		}, KeyStateEnabled, OriginExternal},
		{"importing never re-enables a disabled key", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), disableKeyDoc(t, "dis", 2), importMaterial(t, "imp2", 3)}
		}, KeyStateDisabled, OriginExternal},
		{"a key pending deletion stays pending deletion when its material goes", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), scheduleDeletion(t, "sch", 2), deleteMaterial(t, "del", 3)}
		}, KeyStatePendingDeletion, OriginExternal},
		{"an import older than the deletion of the material, arriving late, does not re-enable", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), deleteMaterial(t, "del", 5), importMaterial(t, "late", 3)}
		}, KeyStatePendingImport, OriginExternal},
		{"a deletion of material older than a re-import, arriving late, changes nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 5), deleteMaterial(t, "late", 3)}
		}, KeyStateEnabled, OriginExternal},
		{"the key's CreateKey arriving after the import of its material leaves it enabled", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{importMaterial(t, "imp", 1), createExternalKey(t)}
		}, KeyStateEnabled, OriginExternal},
		{"the key's CreateKey arriving after its material expired leaves it pending import", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{importMaterial(t, "imp", 1), expireMaterial(t, "exp", 2), createExternalKey(t)}
		}, KeyStatePendingImport, OriginExternal},
		{"the record proves the origin of a key never seen created", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{expireMaterial(t, "exp", 2)}
		}, KeyStatePendingImport, OriginExternal},
		{"an import into a key of unknown state leaves the state unknown", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{importMaterial(t, "imp", 2)}
		}, "", OriginExternal},
		{"a failed deletion of material changes nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), failedWith(deleteMaterial(t, "del", 2), "KMSInvalidStateException")}
		}, KeyStateEnabled, OriginExternal},
		{"a duplicate delivery of the import changes nothing more", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createExternalKey(t), importMaterial(t, "imp", 1), disableKeyDoc(t, "dis", 2), importMaterial(t, "imp", 1)}
		}, KeyStateDisabled, OriginExternal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := NewMemory()
			var last Change
			for _, r := range tc.records(t) {
				ch, err := m.Apply(ctx, r)
				if err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
				last = ch
			}
			k, _ := m.Key(ctx, k1ARN)
			if k == nil {
				t.Fatal("key unknown")
			}
			if k.KeyState != tc.state || k.Origin != tc.origin {
				t.Errorf("state %q origin %q, want %q %q", k.KeyState, k.Origin, tc.state, tc.origin)
			}
			if last.Ignored == "" && !reflect.DeepEqual(last.Touched, []ResourceRef{{TypeKey, k1ARN}}) {
				t.Errorf("last record touched %v", last.Touched)
			}
		})
	}
}

func TestMemoryDeleteKey(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		records func(t *testing.T) []*cloudtrail.Record
		state   string
		deleted bool
	}{
		{"scheduled deletion completes", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, scheduleDeletion(t, "sch", 2), deleteKeyDoc(t, "dk", 10)}
		}, KeyStatePendingDeletion, true},
		{"the deletion of a key never seen before proves it was pending deletion", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createFS, deleteKeyDoc(t, "dk", 10)}
		}, KeyStatePendingDeletion, true},
		{"an older cancellation arriving after the deletion does not bring the key back", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, scheduleDeletion(t, "sch", 2), deleteKeyDoc(t, "dk", 10),
				kmsDoc(t, "cancel", 5, "CancelKeyDeletion", false, k1ARN, fmt.Sprintf(`{"keyId":%q}`, k1), fmt.Sprintf(`{"keyId":%q}`, k1ARN))}
		}, KeyStatePendingDeletion, true},
		{"a failed DeleteKey record changes nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, scheduleDeletion(t, "sch", 2), failedWith(deleteKeyDoc(t, "dk", 10), "InternalError")}
		}, KeyStatePendingDeletion, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, r := range tc.records(t) {
				if _, err := m.Apply(ctx, r); err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
			}
			k, _ := m.Key(ctx, k1ARN)
			if k == nil || k.KeyState != tc.state || k.Deleted != tc.deleted {
				t.Fatalf("key = %+v, want state %q deleted %v", k, tc.state, tc.deleted)
			}
			// The file system is still there and its key gone: it stays
			// in the key's blast radius.
			if fss, _ := m.FileSystemsForKey(ctx, k1ARN); len(fss) != 1 || fss[0].ARN != fs1ARN {
				t.Errorf("FileSystemsForKey = %v", fss)
			}
		})
	}
}

func TestMemoryCustomKeyStore(t *testing.T) {
	ctx := context.Background()
	const k2 = "0987dcba-09fe-87dc-65ba-ab0987654321"
	k2ARN := arns.KeyARN(region, acct, k2)
	other := func(t *testing.T) *cloudtrail.Record { // a key in no custom key store
		return kmsDoc(t, "other", 0, "CreateKey", false, arns.KeyARN(region, acct, "5555aaaa-55aa-55aa-55aa-5555aaaa5555"),
			`{"keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}`,
			fmt.Sprintf(`{"keyMetadata":{"keyId":"5555aaaa-55aa-55aa-55aa-5555aaaa5555","arn":%q,"keyState":"Enabled","origin":"AWS_KMS","keyManager":"CUSTOMER","keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}}`, arns.KeyARN(region, acct, "5555aaaa-55aa-55aa-55aa-5555aaaa5555")))
	}
	tests := []struct {
		name    string
		records func(t *testing.T) []*cloudtrail.Record
		touched []ResourceRef // by the last record
		ignored string
		states  map[string]string // key ARN -> state
	}{
		{"disconnecting makes every key of the store unavailable", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c1", k1), createStoreKey(t, "c2", k2), other(t), keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore")}
		}, []ResourceRef{{TypeKey, k2ARN}, {TypeKey, k1ARN}}, "",
			map[string]string{k1ARN: KeyStateUnavailable, k2ARN: KeyStateUnavailable, arns.KeyARN(region, acct, "5555aaaa-55aa-55aa-55aa-5555aaaa5555"): KeyStateEnabled}},
		// ConnectCustomKeyStore only starts connecting the store, which may
		// fail: "this response does not indicate that the custom key store
		// is connected" (API_ConnectCustomKeyStore.html). A disabled key
		// stays Disabled; an enabled one's usability is unknown.
		{"reconnecting leaves an enabled key's state unknown and a disabled key disabled", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c1", k1), createStoreKey(t, "c2", k2), disableKeyDoc(t, "d1", 2),
				keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore"), keyStoreDoc(t, "con", 9, "ConnectCustomKeyStore")}
		}, []ResourceRef{{TypeKey, k2ARN}, {TypeKey, k1ARN}}, "",
			map[string]string{k1ARN: KeyStateDisabled, k2ARN: ""}},
		// KMS creates keys only in a connected store: a later CreateKey in
		// it proves the connection succeeded.
		{"a key created after reconnecting proves the store connected", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c2", k2), keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore"),
				keyStoreDoc(t, "con", 9, "ConnectCustomKeyStore"), createStoreKeyAt(t, "c3", "3333cccc-33cc-33cc-33cc-3333cccc3333", 30)}
		}, []ResourceRef{{TypeKey, arns.KeyARN(region, acct, "3333cccc-33cc-33cc-33cc-3333cccc3333")}}, "",
			map[string]string{k2ARN: KeyStateEnabled}},
		{"a key pending deletion shows that state while disconnected", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c1", k1), scheduleDeletion(t, "s1", 2), keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore")}
		}, []ResourceRef{{TypeKey, k1ARN}}, "",
			map[string]string{k1ARN: KeyStatePendingDeletion}},
		{"an older connect arriving after the disconnect changes nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c1", k1), keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore"), keyStoreDoc(t, "con", 3, "ConnectCustomKeyStore")}
		}, []ResourceRef{{TypeKey, k1ARN}}, "",
			map[string]string{k1ARN: KeyStateUnavailable}},
		{"a failed disconnect changes nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createStoreKey(t, "c1", k1), failedWith(keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore"), "CustomKeyStoreInvalidStateException")}
		}, nil, "call failed with CustomKeyStoreInvalidStateException",
			map[string]string{k1ARN: KeyStateEnabled}},
		{"a store with no known key touches nothing", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{other(t), keyStoreDoc(t, "dis", 5, "DisconnectCustomKeyStore")}
		}, nil, "no key of custom key store " + keyStore1 + " is known",
			map[string]string{arns.KeyARN(region, acct, "5555aaaa-55aa-55aa-55aa-5555aaaa5555"): KeyStateEnabled}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			var last Change
			for _, r := range tc.records(t) {
				ch, err := m.Apply(ctx, r)
				if err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
				last = ch
			}
			if !reflect.DeepEqual(last.Touched, tc.touched) || last.Ignored != tc.ignored {
				t.Errorf("last change %+v, want touched %v ignored %q", last, tc.touched, tc.ignored)
			}
			for arn, want := range tc.states {
				k, _ := m.Key(ctx, arn)
				if k == nil || k.KeyState != want {
					t.Errorf("key %s = %+v, want state %s", arn, k, want)
				}
			}
		})
	}
}

func TestMemoryKeyStoreBadRecord(t *testing.T) {
	r := kmsDoc(t, "dis", 5, "DisconnectCustomKeyStore", false, "", `{}`, "null")
	_, err := NewMemory().Apply(context.Background(), r)
	if err == nil || err.Error() != "apply DisconnectCustomKeyStore dis: bad record: requestParameters.customKeyStoreId missing" {
		t.Fatalf("err = %v", err)
	}
}
