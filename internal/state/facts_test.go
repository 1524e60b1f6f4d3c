package state

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// The records in testdata are the examples of the KMS developer guide's
// CloudTrail pages, verbatim unless a test edits them (and says how):
//
//	kms-enablekeyrotation.json   https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html
//	kms-disablekeyrotation.json  https://docs.aws.amazon.com/kms/latest/developerguide/ct-disable-key-rotation.html
//	kms-creategrant.json         https://docs.aws.amazon.com/kms/latest/developerguide/ct-creategrant.html
//	kms-retiregrant.json         https://docs.aws.amazon.com/kms/latest/developerguide/ct-retire-grant.html
//	kms-replicatekey.json        https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html
//	                             (the page's example has a comma after replicaPolicy, which no JSON
//	                             parser takes; the file leaves it out)
//	kms-updateprimaryregion-*.json https://docs.aws.amazon.com/kms/latest/developerguide/ct-update-primary-region.html

const (
	docAccount = "111122223333"
	docKeyARN  = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docFSID    = "fs-0123456789abcdef0"
	docGrantID = "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"
)

var docFSARN = arns.FileSystemARN("us-west-2", docAccount, docFSID)

// docRecord loads a documented record and applies edits to it.
func docRecord(t *testing.T, name string, edits ...func(*cloudtrail.Record)) *cloudtrail.Record {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	r := new(cloudtrail.Record)
	if err := json.Unmarshal(b, r); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, e := range edits {
		e(r)
	}
	return r
}

func at(ts string) func(*cloudtrail.Record) {
	return func(r *cloudtrail.Record) {
		t, err := time.Parse(time.RFC3339, ts)
		if err != nil {
			panic(err)
		}
		r.EventTime = t
	}
}

func withID(id string) func(*cloudtrail.Record) {
	return func(r *cloudtrail.Record) { r.EventID = id }
}

func failed(r *cloudtrail.Record) { r.ErrorCode = "KMSInvalidStateException" }

func params(req string) func(*cloudtrail.Record) {
	return func(r *cloudtrail.Record) { r.RequestParameters = json.RawMessage(req) }
}

// efsGrant is the documented CreateGrant as EFS makes it when a file system
// is created with the key (EFS user guide, encryption-at-rest.html: EFS
// creates a grant constrained to the file system's id): invokedBy EFS, the
// grant constrained to aws:elasticfilesystem:filesystem:id, in the key's
// Region, with the grant id the documented RetireGrant retires.
func efsGrant(r *cloudtrail.Record) {
	r.UserIdentity.InvokedBy = cloudtrail.SourceEFS
	r.AWSRegion = "us-west-2"
	r.ResponseElements = json.RawMessage(`{"grantId":"` + docGrantID + `"}`)
	r.RequestParameters = json.RawMessage(`{"keyId":"` + docKeyARN + `","constraints":{"encryptionContextSubset":{"aws:elasticfilesystem:filesystem:id":"` + docFSID + `"}},"operations":["Encrypt","Decrypt","GenerateDataKeyWithoutPlaintext","ReEncryptFrom","ReEncryptTo","CreateGrant","RetireGrant","DescribeKey"],"granteePrincipal":"EX_PRINCIPAL_ID"}`)
}

func apply(t *testing.T, m *Memory, recs ...*cloudtrail.Record) Change {
	t.Helper()
	var ch Change
	for _, r := range recs {
		var err error
		if ch, err = m.Apply(context.Background(), r); err != nil {
			t.Fatalf("apply %s %s: %v", r.EventName, r.EventID, err)
		}
	}
	return ch
}

// TestRotationCallsProveKeyKind: a successful EnableKeyRotation or
// DisableKeyRotation proves a customer managed symmetric encryption key with
// KMS key material, since KMS refuses both for any other key
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html).
func TestRotationCallsProveKeyKind(t *testing.T) {
	proven := Key{ARN: docKeyARN, ID: "1234abcd-12ab-34cd-56ef-1234567890ab", Account: docAccount, Region: "us-west-2",
		KeyManager: ManagerCustomer, KeySpec: SpecSymmetricDefault, KeyUsage: UsageEncryptDecrypt, Origin: OriginAWSKMS}
	tests := []struct {
		name string
		seed []Key
		recs []*cloudtrail.Record
		want *Key // nil: the key stays unknown
	}{
		{"DisableKeyRotation alone", nil,
			[]*cloudtrail.Record{docRecord(t, "kms-disablekeyrotation.json")},
			func() *Key { k := proven; k.RotationEnabled = boolp(false); return &k }()},
		{"EnableKeyRotation alone takes the default 365 days", nil,
			[]*cloudtrail.Record{docRecord(t, "kms-enablekeyrotation.json")},
			func() *Key { k := proven; k.RotationEnabled, k.RotationPeriodDays = boolp(true), 365; return &k }()},
		{"EnableKeyRotation with RotationPeriodInDays", nil,
			[]*cloudtrail.Record{docRecord(t, "kms-enablekeyrotation.json",
				params(`{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab","rotationPeriodInDays":730}`))},
			func() *Key { k := proven; k.RotationEnabled, k.RotationPeriodDays = boolp(true), 730; return &k }()},
		{"failed call proves nothing", nil,
			[]*cloudtrail.Record{docRecord(t, "kms-disablekeyrotation.json", failed)},
			nil},
		{"an older DisableKeyRotation fills facts but leaves the newer rotation", nil,
			[]*cloudtrail.Record{
				docRecord(t, "kms-enablekeyrotation.json", at("2022-09-02T00:00:00Z")),
				docRecord(t, "kms-disablekeyrotation.json"),
			},
			func() *Key { k := proven; k.RotationEnabled, k.RotationPeriodDays = boolp(true), 365; return &k }()},
		{"only unknown facts are filled", []Key{{ARN: docKeyARN, ID: proven.ID, Account: docAccount, Region: "us-west-2",
			KeyManager: ManagerCustomer, KeySpec: SpecSymmetricDefault, KeyState: KeyStateDisabled}},
			[]*cloudtrail.Record{docRecord(t, "kms-disablekeyrotation.json")},
			func() *Key { k := proven; k.KeyState = KeyStateDisabled; k.RotationEnabled = boolp(false); return &k }()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			m.Put(nil, tc.seed)
			apply(t, m, tc.recs...)
			got, _ := m.Key(context.Background(), docKeyARN)
			if tc.want == nil {
				if got != nil {
					t.Fatalf("key = %+v, want unknown", got)
				}
				return
			}
			if got == nil {
				t.Fatal("key unknown")
			}
			got.Updated, got.Aliases, got.Grants = time.Time{}, nil, nil
			if !reflect.DeepEqual(*got, *tc.want) {
				t.Errorf("key =\n%+v\nwant\n%+v", *got, *tc.want)
			}
		})
	}
}

// TestEFSGrantJoinsBlastRadius: a grant EFS creates, constrained to a file
// system id, proves that file system is protected by the key even when its
// CreateFileSystem was never seen.
func TestEFSGrantJoinsBlastRadius(t *testing.T) {
	deleteFS := &cloudtrail.Record{EventID: "del", EventTime: time.Date(2014, 11, 4, 0, 0, 0, 0, time.UTC),
		EventSource: cloudtrail.SourceEFS, EventName: cloudtrail.EventDeleteFileSystem, AWSRegion: "us-west-2",
		RecipientAccountID: docAccount, RequestParameters: json.RawMessage(`{"fileSystemId":"` + docFSID + `"}`)}
	tests := []struct {
		name string
		recs []*cloudtrail.Record
		want []string // file systems the key protects
	}{
		{"grant by EFS", []*cloudtrail.Record{docRecord(t, "kms-creategrant.json", efsGrant)}, []string{docFSARN}},
		{"grant by someone else", []*cloudtrail.Record{docRecord(t, "kms-creategrant.json", efsGrant,
			func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = "" })}, nil},
		{"grant without the file-system constraint", []*cloudtrail.Record{docRecord(t, "kms-creategrant.json",
			func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = cloudtrail.SourceEFS })}, nil},
		{"failed grant", []*cloudtrail.Record{docRecord(t, "kms-creategrant.json", efsGrant, failed)}, nil},
		{"deleted before the grant arrives: deletion is final",
			[]*cloudtrail.Record{deleteFS, docRecord(t, "kms-creategrant.json", efsGrant)}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			apply(t, m, tc.recs...)
			fss, err := m.FileSystemsForKey(context.Background(), docKeyARN)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, fs := range fss {
				got = append(got, fs.ARN)
				if fs.KMSKeyARN != docKeyARN || !fs.Encrypted || fs.Known {
					t.Errorf("file system %+v: want encrypted with %s, creation unknown", fs, docKeyARN)
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("protected = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRetireGrantAsLogged applies RetireGrant as CloudTrail writes it:
// requestParameters null, the grant id in additionalEventData.
func TestRetireGrantAsLogged(t *testing.T) {
	grant := docRecord(t, "kms-creategrant.json", efsGrant, at("2022-09-01T19:00:00Z"))
	deleteFS := &cloudtrail.Record{EventID: "del", EventTime: time.Date(2022, 9, 1, 19, 30, 0, 0, time.UTC),
		EventSource: cloudtrail.SourceEFS, EventName: cloudtrail.EventDeleteFileSystem, AWSRegion: "us-west-2",
		RecipientAccountID: docAccount, RequestParameters: json.RawMessage(`{"fileSystemId":"` + docFSID + `"}`)}
	tests := []struct {
		name        string
		recs        []*cloudtrail.Record
		wantState   string
		wantAfter   bool
		wantIgnored string
	}{
		{"retired while the file system lives", []*cloudtrail.Record{grant, docRecord(t, "kms-retiregrant.json")},
			GrantRetired, false, ""},
		{"retired after the file system's deletion", []*cloudtrail.Record{grant, deleteFS, docRecord(t, "kms-retiregrant.json")},
			GrantRetired, true, ""},
		{"retired by EFS", []*cloudtrail.Record{grant, docRecord(t, "kms-retiregrant.json",
			func(r *cloudtrail.Record) { r.UserIdentity.InvokedBy = cloudtrail.SourceEFS })},
			GrantRetired, true, ""},
		{"retired by grant token alone", []*cloudtrail.Record{grant, docRecord(t, "kms-retiregrant.json",
			func(r *cloudtrail.Record) { r.AdditionalEventData = nil })},
			GrantActive, false, "RetireGrant names no grant id (a grant token only), so which grant ended is unknown"},
		{"failed retire", []*cloudtrail.Record{grant, docRecord(t, "kms-retiregrant.json", failed)},
			GrantActive, false, "call failed with KMSInvalidStateException"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			ch := apply(t, m, tc.recs...)
			if ch.Ignored != tc.wantIgnored {
				t.Errorf("ignored = %q, want %q", ch.Ignored, tc.wantIgnored)
			}
			k, _ := m.Key(context.Background(), docKeyARN)
			if len(k.Grants) != 1 {
				t.Fatalf("grants = %+v, want one", k.Grants)
			}
			g := k.Grants[0]
			if g.ID != docGrantID || g.State != tc.wantState || g.RetiredAfterDelete != tc.wantAfter || !g.EFS || g.FileSystemID != docFSID {
				t.Errorf("grant = %+v, want %s state %s retired_after_delete %v", g, docGrantID, tc.wantState, tc.wantAfter)
			}
		})
	}
}

// TestUntypedResourceNamesKey: the documented CreateGrant lists its key in
// resources without a type; a RetireGrant whose resources entry has no type
// and whose requestParameters are null has nothing else naming the key.
func TestUntypedResourceNamesKey(t *testing.T) {
	untyped := func(r *cloudtrail.Record) {
		for i := range r.Resources {
			r.Resources[i].Type = ""
		}
	}
	tests := []struct {
		name    string
		rec     *cloudtrail.Record
		wantErr bool
	}{
		{"CreateGrant as documented", docRecord(t, "kms-creategrant.json"), false},
		{"RetireGrant with an untyped resource", docRecord(t, "kms-retiregrant.json", untyped), false},
		{"untyped resource that is an alias", docRecord(t, "kms-retiregrant.json", untyped, func(r *cloudtrail.Record) {
			r.Resources[0].ARN = "arn:aws:kms:us-west-2:111122223333:alias/data"
		}), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			ch, err := m.Apply(context.Background(), tc.rec)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("touched %v, want an error", ch.Touched)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := []ResourceRef{{TypeKey, docKeyARN}}; !reflect.DeepEqual(ch.Touched, want) {
				t.Errorf("touched %v, want %v", ch.Touched, want)
			}
		})
	}
}

// TestReplicateKey applies the documented ReplicateKey: the key named in
// resources is a multi-Region primary; the replica in the response is a
// replica of it with the primary's key spec, usage and origin, and the
// replica policy. The CreateKey KMS writes in the replica's Region has no
// documented example; it is built from the CreateKey API reference
// (https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html)
// with the replica's key metadata from the ReplicateKey example.
func TestReplicateKey(t *testing.T) {
	primaryARN := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	replicaARN := docKeyARN
	replicaCreateKey := docRecord(t, "kms-replicatekey.json", func(r *cloudtrail.Record) {
		r.EventName, r.AWSRegion, r.EventID = cloudtrail.EventCreateKey, "us-west-2", "replica-createkey"
		r.UserIdentity.InvokedBy = cloudtrail.SourceKMS
		var resp struct {
			Metadata json.RawMessage `json:"replicaKeyMetadata"`
		}
		if err := json.Unmarshal(r.ResponseElements, &resp); err != nil {
			t.Fatal(err)
		}
		r.RequestParameters = json.RawMessage(`{"multiRegion":true,"keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS"}`)
		r.ResponseElements = json.RawMessage(`{"keyMetadata":` + string(resp.Metadata) + `}`)
		r.Resources = []cloudtrail.Resource{{ARN: replicaARN, AccountID: docAccount, Type: "AWS::KMS::Key"}}
	})
	disableOnPrimary := docRecord(t, "kms-disablekeyrotation.json", at("2020-11-19T00:00:00Z"), func(r *cloudtrail.Record) {
		r.AWSRegion = "us-east-1"
		r.RequestParameters = json.RawMessage(`{"keyId":"` + primaryARN + `"}`)
		r.Resources[0].ARN = primaryARN
	})
	tests := []struct {
		name        string
		recs        []*cloudtrail.Record
		wantTouched []ResourceRef
		wantReplica bool // the replica is known as one
	}{
		{"ReplicateKey", []*cloudtrail.Record{docRecord(t, "kms-replicatekey.json")},
			[]ResourceRef{{TypeKey, primaryARN}, {TypeKey, replicaARN}}, true},
		{"CreateKey in the replica Region", []*cloudtrail.Record{replicaCreateKey},
			[]ResourceRef{{TypeKey, replicaARN}}, true},
		{"replica's CreateKey in the same second keeps the replica policy",
			[]*cloudtrail.Record{docRecord(t, "kms-replicatekey.json"), replicaCreateKey},
			[]ResourceRef{{TypeKey, replicaARN}}, true},
		{"rotation changed on the primary touches its replicas",
			[]*cloudtrail.Record{docRecord(t, "kms-replicatekey.json"), disableOnPrimary},
			[]ResourceRef{{TypeKey, primaryARN}, {TypeKey, replicaARN}}, true},
		{"failed ReplicateKey", []*cloudtrail.Record{docRecord(t, "kms-replicatekey.json", failed)}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			ch := apply(t, m, tc.recs...)
			if !reflect.DeepEqual(ch.Touched, tc.wantTouched) {
				t.Errorf("touched %v, want %v", ch.Touched, tc.wantTouched)
			}
			checkReplicaIndex(t, m)
			r, _ := m.Key(context.Background(), replicaARN)
			if !tc.wantReplica {
				if r != nil {
					t.Errorf("replica = %+v, want unknown", r)
				}
				return
			}
			if r == nil || !r.Replica() || r.PrimaryKeyARN != primaryARN || r.MultiRegion == nil || !*r.MultiRegion ||
				r.KeySpec != SpecSymmetricDefault || r.KeyUsage != UsageEncryptDecrypt || r.Origin != OriginAWSKMS ||
				r.KeyManager != ManagerCustomer || r.RotationEnabled != nil {
				t.Fatalf("replica = %+v, want a customer managed symmetric replica of %s, its own rotation unset", r, primaryARN)
			}
			if r.KeyState != KeyStateEnabled {
				t.Errorf("replica state %q, want Enabled (Creating lasts seconds)", r.KeyState)
			}
			if strings.Contains(tc.name, "ReplicateKey") || strings.Contains(tc.name, "same second") {
				p, _ := m.Key(context.Background(), primaryARN)
				if p.MultiRegionKeyType != MultiRegionPrimary || p.PrimaryKeyARN != primaryARN {
					t.Errorf("primary = %+v, want a multi-Region primary", p)
				}
				if !strings.Contains(r.Policy, "arn:aws:iam::012345678901:user/Charlie") {
					t.Errorf("replica policy %q, want the replicaPolicy", r.Policy)
				}
			}
		})
	}
}

// checkReplicaIndex fails unless the replicas of every key, as the index
// lists them, are the keys whose role and primary say so.
func checkReplicaIndex(t *testing.T, m *Memory) {
	t.Helper()
	for primary := range m.keys {
		var want []ResourceRef
		for _, arn := range slices.Sorted(maps.Keys(m.keys)) {
			if k := m.keys[arn]; k.Replica() && k.PrimaryKeyARN == primary && arn != primary {
				want = append(want, ResourceRef{TypeKey, arn})
			}
		}
		if got := m.replicasOf(primary); !reflect.DeepEqual(got, want) {
			t.Errorf("replicas of %s = %v, want %v", primary, got, want)
		}
	}
}

// TestUpdatePrimaryRegion applies the two documented UpdatePrimaryRegion
// records: the us-west-2 primary becomes a replica of the ap-northeast-1 key,
// which becomes the primary and keeps the shared rotation.
func TestUpdatePrimaryRegion(t *testing.T) {
	west := "arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
	tokyo := "arn:aws:kms:ap-northeast-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
	dublin := "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
	mrk := func(arn, role string, rotation *bool) Key {
		a, _ := arns.Parse(arn)
		return Key{ARN: arn, ID: arns.ResourceID(arn), Account: a.AccountID, Region: a.Region, KeyManager: ManagerCustomer,
			KeySpec: SpecSymmetricDefault, KeyUsage: UsageEncryptDecrypt, Origin: OriginAWSKMS,
			MultiRegion: boolp(true), MultiRegionKeyType: role, PrimaryKeyARN: west, RotationEnabled: rotation, RotationPeriodDays: 365}
	}
	seed := []Key{mrk(west, MultiRegionPrimary, boolp(true)), mrk(tokyo, MultiRegionReplica, nil), mrk(dublin, MultiRegionReplica, nil)}
	tests := []struct {
		name        string
		recs        []*cloudtrail.Record
		wantTouched []ResourceRef
		wantPrimary string
	}{
		{"record in the Region losing the primary",
			[]*cloudtrail.Record{docRecord(t, "kms-updateprimaryregion-to-replica.json")},
			[]ResourceRef{{TypeKey, west}, {TypeKey, tokyo}, {TypeKey, dublin}}, tokyo},
		{"record in the Region gaining the primary",
			[]*cloudtrail.Record{docRecord(t, "kms-updateprimaryregion-to-primary.json")},
			[]ResourceRef{{TypeKey, tokyo}, {TypeKey, dublin}, {TypeKey, west}}, tokyo},
		{"both records", []*cloudtrail.Record{docRecord(t, "kms-updateprimaryregion-to-replica.json"),
			docRecord(t, "kms-updateprimaryregion-to-primary.json")},
			[]ResourceRef{{TypeKey, tokyo}, {TypeKey, dublin}, {TypeKey, west}}, tokyo},
		{"failed call", []*cloudtrail.Record{docRecord(t, "kms-updateprimaryregion-to-replica.json", failed)}, nil, west},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			m.Put(nil, seed)
			ch := apply(t, m, tc.recs...)
			if !reflect.DeepEqual(ch.Touched, tc.wantTouched) {
				t.Errorf("touched %v, want %v", ch.Touched, tc.wantTouched)
			}
			for _, arn := range []string{west, tokyo, dublin} {
				k, _ := m.Key(context.Background(), arn)
				wantRole := MultiRegionReplica
				if arn == tc.wantPrimary {
					wantRole = MultiRegionPrimary
				}
				if k.MultiRegionKeyType != wantRole || k.PrimaryKeyARN != tc.wantPrimary {
					t.Errorf("%s: %s of %s, want %s of %s", arn, k.MultiRegionKeyType, k.PrimaryKeyARN, wantRole, tc.wantPrimary)
				}
			}
			p, _ := m.Key(context.Background(), tc.wantPrimary)
			if p.RotationEnabled == nil || !*p.RotationEnabled || p.RotationPeriodDays != 365 {
				t.Errorf("primary rotation %v/%d, want the shared rotation (on, 365 days)", p.RotationEnabled, p.RotationPeriodDays)
			}
			checkReplicaIndex(t, m)
			// Seeding a key again replaces what the index knew of it.
			m.Put(nil, []Key{mrk(dublin, MultiRegionPrimary, nil)})
			checkReplicaIndex(t, m)
		})
	}
	t.Run("primaryRegion missing", func(t *testing.T) {
		m := NewMemory()
		_, err := m.Apply(context.Background(), docRecord(t, "kms-updateprimaryregion-to-replica.json",
			params(`{"keyId":"mrk-1234abcd12ab34cd56ef1234567890ab"}`)))
		if err == nil || !errors.Is(err, ErrBadRecord) || !strings.Contains(err.Error(), "primaryRegion missing") {
			t.Errorf("err = %v, want a bad record naming primaryRegion", err)
		}
	})
}
