package inventory

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

// docRecord reads one of the KMS developer guide's CloudTrail examples kept
// in internal/state/testdata (the pages are cited in
// internal/state/facts_test.go), with the example's account replaced by the
// fixture's.
func docRecord(t *testing.T, name string) *cloudtrail.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "state", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r := new(cloudtrail.Record)
	if err := json.Unmarshal([]byte(strings.ReplaceAll(string(b), "111122223333", testAccount)), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// mrkFixture adds a multi-Region primary key in us-east-1 with a replica in
// us-west-2, as DescribeKey reports them.
func mrkFixture(t *testing.T) (f *fixture, primary, replica string) {
	f = newFixture(t)
	primary = arns.KeyARN("us-east-1", testAccount, "1234abcd-12ab-34cd-56ef-1234567890ab")
	replica = arns.KeyARN("us-west-2", testAccount, "1234abcd-12ab-34cd-56ef-1234567890ab")
	conf := &kmstypes.MultiRegionConfiguration{
		PrimaryKey:  &kmstypes.MultiRegionKey{Arn: aws.String(primary), Region: aws.String("us-east-1")},
		ReplicaKeys: []kmstypes.MultiRegionKey{{Arn: aws.String(replica), Region: aws.String("us-west-2")}},
	}
	for arn, role := range map[string]kmstypes.MultiRegionKeyType{primary: kmstypes.MultiRegionKeyTypePrimary, replica: kmstypes.MultiRegionKeyTypeReplica} {
		c := *conf
		c.MultiRegionKeyType = role
		// No KeyUsage: moto's DescribeKey leaves it out.
		f.kms.keys[arn] = &fakeKey{
			md: kmstypes.KeyMetadata{
				Arn: aws.String(arn), KeyId: aws.String("1234abcd-12ab-34cd-56ef-1234567890ab"),
				KeySpec: kmstypes.KeySpecSymmetricDefault, Origin: kmstypes.OriginTypeAwsKms,
				KeyManager: kmstypes.KeyManagerTypeCustomer, KeyState: kmstypes.KeyStateEnabled,
				MultiRegion: aws.Bool(true), MultiRegionConfiguration: &c,
			},
			rotation: &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(365)},
			policy:   "{}",
		}
	}
	return f, primary, replica
}

func TestKeyMultiRegionAndImpliedUsage(t *testing.T) {
	f, primary, replica := mrkFixture(t)
	tests := []struct {
		name, arn, wantType string
	}{
		{"primary", primary, state.MultiRegionPrimary},
		{"replica", replica, state.MultiRegionReplica},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := f.live.Key(context.Background(), tc.arn)
			if err != nil {
				t.Fatal(err)
			}
			if k.MultiRegion == nil || !*k.MultiRegion || k.MultiRegionKeyType != tc.wantType || k.PrimaryKeyARN != primary {
				t.Errorf("multi-Region = %v %q %q, want true %q %q", k.MultiRegion, k.MultiRegionKeyType, k.PrimaryKeyARN, tc.wantType, primary)
			}
			if k.KeyUsage != state.UsageEncryptDecrypt {
				t.Errorf("key usage %q, want ENCRYPT_DECRYPT implied by SYMMETRIC_DEFAULT", k.KeyUsage)
			}
		})
	}
	t.Run("single-Region key", func(t *testing.T) {
		k, err := f.live.Key(context.Background(), keyA)
		if err != nil {
			t.Fatal(err)
		}
		if k.MultiRegion != nil || k.MultiRegionKeyType != "" || k.PrimaryKeyARN != "" {
			t.Errorf("multi-Region = %v %q %q, want unset", k.MultiRegion, k.MultiRegionKeyType, k.PrimaryKeyARN)
		}
	})
}

// TestApplyMultiRegion: the live store touches every key whose verdict a
// multi-Region record changes, and drops what it read of them.
func TestApplyMultiRegion(t *testing.T) {
	keyRef := func(arn string) state.ResourceRef { return state.ResourceRef{Type: state.TypeKey, ARN: arn} }
	tokyo := arns.KeyARN("ap-northeast-1", testAccount, "1234abcd-12ab-34cd-56ef-1234567890ab")
	tests := []struct {
		name        string
		rec         func(primary string) *cloudtrail.Record
		wantTouched func(primary, replica string) []state.ResourceRef
		wantErr     bool
	}{
		{"ReplicateKey touches the primary and the new replica",
			func(string) *cloudtrail.Record { return docRecord(t, "kms-replicatekey.json") },
			func(p, r string) []state.ResourceRef { return []state.ResourceRef{keyRef(p), keyRef(r)} }, false},
		{"DisableKeyRotation on the primary touches its replicas",
			func(p string) *cloudtrail.Record {
				r := docRecord(t, "kms-disablekeyrotation.json")
				r.AWSRegion, r.RequestParameters = "us-east-1", json.RawMessage(`{"keyId":"`+p+`"}`)
				r.Resources[0].ARN = p
				return r
			},
			func(p, r string) []state.ResourceRef { return []state.ResourceRef{keyRef(p), keyRef(r)} }, false},
		{"UpdatePrimaryRegion touches the related keys and the new primary",
			func(p string) *cloudtrail.Record {
				r := docRecord(t, "kms-updateprimaryregion-to-replica.json")
				r.AWSRegion, r.Resources[0].ARN = "us-east-1", p
				r.RequestParameters = json.RawMessage(`{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","primaryRegion":"ap-northeast-1"}`)
				return r
			},
			func(p, r string) []state.ResourceRef { return []state.ResourceRef{keyRef(p), keyRef(r), keyRef(tokyo)} }, false},
		{"UpdatePrimaryRegion without primaryRegion",
			func(p string) *cloudtrail.Record {
				r := docRecord(t, "kms-updateprimaryregion-to-replica.json")
				r.RequestParameters = json.RawMessage(`{"keyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}`)
				return r
			}, nil, true},
		{"RetireGrant with an untyped resource names its key",
			func(string) *cloudtrail.Record {
				r := docRecord(t, "kms-retiregrant.json")
				r.Resources[0].Type = ""
				return r
			},
			func(string, string) []state.ResourceRef {
				return []state.ResourceRef{keyRef(arns.KeyARN("us-west-2", testAccount, "1234abcd-12ab-34cd-56ef-1234567890ab"))}
			}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, primary, replica := mrkFixture(t)
			ctx := context.Background()
			for _, arn := range []string{primary, replica} {
				if _, err := f.live.Key(ctx, arn); err != nil {
					t.Fatal(err)
				}
			}
			before := f.kms.get("DescribeKey")
			ch, err := f.live.Apply(ctx, tc.rec(primary))
			if tc.wantErr {
				if err == nil {
					t.Fatalf("touched %v, want an error", ch.Touched)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := tc.wantTouched(primary, replica); !reflect.DeepEqual(ch.Touched, want) {
				t.Errorf("touched %v, want %v", ch.Touched, want)
			}
			if got := f.kms.get("DescribeKey") - before; got != 0 {
				t.Errorf("Apply made %d DescribeKey calls, want 0 (cached)", got)
			}
		})
	}
}
