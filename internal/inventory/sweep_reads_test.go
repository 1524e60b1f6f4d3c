package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// Key policies of the fixtures. rootPolicy is the default key policy
// (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html):
// the key policy leaves EFS to IAM (COMPLIANT); denyDecryptPolicy adds a
// Deny of kms:Decrypt to everyone (NON_COMPLIANT); rolePolicy allows one
// role only, so with the file systems' creators unknown whether EFS may
// use the key is unknown (NOT_APPLICABLE).
var (
	rootPolicy        = state.DefaultKeyPolicy("aws", testAccount)
	denyDecryptPolicy = `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},` +
		`{"Sid":"DenyDecrypt","Effect":"Deny","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}`
	rolePolicy = `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"KeyUsers","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:role/app"},` +
		`"Action":["kms:Decrypt","kms:GenerateDataKeyWithoutPlaintext","kms:CreateGrant","kms:DescribeKey"],"Resource":"*"}]}`
)

// keyReads counts GetKeyPolicy and ListGrants by key ARN.
type keyReads struct {
	*fakeKMS
	mu     sync.Mutex
	policy map[string]int
	grants map[string]int
}

func (k *keyReads) GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, opts ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	k.mu.Lock()
	k.policy[aws.ToString(in.KeyId)]++
	k.mu.Unlock()
	return k.fakeKMS.GetKeyPolicy(ctx, in, opts...)
}

func (k *keyReads) ListGrants(ctx context.Context, in *kms.ListGrantsInput, opts ...func(*kms.Options)) (*kms.ListGrantsOutput, error) {
	k.mu.Lock()
	k.grants[aws.ToString(in.KeyId)]++
	k.mu.Unlock()
	return k.fakeKMS.ListGrants(ctx, in, opts...)
}

func (k *keyReads) reads(arn string) (policy, grants int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.policy[arn], k.grants[arn]
}

// twoAccounts serves the clients of the own account and of one more.
type twoAccounts struct {
	own     string
	clients map[string]*Clients // by account
}

func (s *twoAccounts) OwnAccount(context.Context) (string, error) { return s.own, nil }

func (s *twoAccounts) Clients(_ context.Context, account, _ string) (*Clients, error) {
	if c, ok := s.clients[account]; ok {
		return c, nil
	}
	return nil, ErrAccountNotMonitored
}

// sweepKey is a customer managed symmetric key of the fixtures, rotating
// when rotate is set, with one EFS grant for fsID (a grant left behind when
// the key protects nothing).
func sweepKey(account, id string, rotate bool, policy, fsID string) *fakeKey {
	arn := arns.KeyARN(testRegion, account, id)
	return &fakeKey{
		md: kmstypes.KeyMetadata{
			Arn: aws.String(arn), KeyId: aws.String(id),
			KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
			Origin: kmstypes.OriginTypeAwsKms, KeyManager: kmstypes.KeyManagerTypeCustomer, KeyState: kmstypes.KeyStateEnabled,
		},
		rotation: &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: rotate, RotationPeriodInDays: rotationDays(rotate)},
		policy:   policy,
		grants: []kmstypes.GrantListEntry{{
			GrantId: aws.String("g-" + fsID), GranteePrincipal: aws.String("arn:aws:iam::" + account + ":role/efs-creator"),
			Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKeyWithoutPlaintext},
			Constraints: &kmstypes.GrantConstraints{EncryptionContextEquals: map[string]string{state.EFSGrantContextKey: fsID}},
		}},
	}
}

func rotationDays(rotate bool) *int32 {
	if rotate {
		return aws.Int32(365)
	}
	return nil
}

func sweepFS(id, keyARN string) efstypes.FileSystemDescription {
	return efstypes.FileSystemDescription{
		FileSystemId: aws.String(id), FileSystemArn: aws.String(arns.FileSystemARN(testRegion, testAccount, id)),
		Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyARN), LifeCycleState: efstypes.LifeCycleStateAvailable,
	}
}

// sweepStore is a live store over fakes, and the pipeline judging through it.
type sweepStore struct {
	kms  *keyReads
	efs  *fakeEFS
	live *Live
	pipe *pipeline.Pipeline
}

// newSweepStore builds a live store over these keys (own account, and
// others) and file systems, with no trail, rule or filter.
func newSweepStore(t *testing.T, engine *policy.Engine, keys map[string]*fakeKey, fss []efstypes.FileSystemDescription, readAll bool) *sweepStore {
	t.Helper()
	byAccount := map[string]*keyReads{}
	for arn, k := range keys {
		a, _ := arns.Parse(arn)
		if byAccount[a.AccountID] == nil {
			byAccount[a.AccountID] = &keyReads{fakeKMS: &fakeKMS{keys: map[string]*fakeKey{}}, policy: map[string]int{}, grants: map[string]int{}}
		}
		byAccount[a.AccountID].keys[arn] = k
	}
	src := &twoAccounts{own: testAccount, clients: map[string]*Clients{}}
	var own *fakeEFS
	for account, k := range byAccount {
		e := &fakeEFS{policies: map[string]string{}}
		if account == testAccount {
			e.fs, own = fss, e
		}
		src.clients[account] = &Clients{KMS: k, EFS: e, Trails: &fakeTrails{region: testRegion, trails: map[string]*fakeTrail{}},
			EventRules: &fakeRules{}, Logs: &fakeLogs{}}
	}
	clock := &fakeClock{t: t0}
	live := NewLive(Options{Clients: src, Now: clock.Now})
	live.readAllKeyFacts = readAll
	p, err := pipeline.New(pipeline.Options{Store: live, Engine: engine, Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return &sweepStore{kms: byAccount[testAccount], efs: own, live: live, pipe: p}
}

// sweep sweeps the own account and judges every ref as a sweep does,
// returning the findings by rule and resource.
func (s *sweepStore) sweep(t *testing.T) (*SweepResult, map[string]finding.Finding) {
	t.Helper()
	ctx := context.Background()
	res, err := s.live.Sweep(ctx, []string{testRegion})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("Sweep: %v %v", err, res.Errors)
	}
	got := map[string]finding.Finding{}
	for _, ref := range res.Refs {
		fs, err := s.pipe.EvaluateResource(ctx, ref, "sweep")
		if err != nil {
			t.Fatalf("evaluate %s: %v", ref.ARN, err)
		}
		for _, f := range fs {
			got[f.Rule+" "+f.Resource] = f
		}
	}
	return res, got
}

// scaleKeyID and scaleFSID name the i-th key and file system of the scale
// fixture.
func scaleKeyID(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }
func scaleFSID(i int) string  { return fmt.Sprintf("fs-%017x", i) }

// TestSweepReadsPolicyAndGrantsOfKeysInUse: 200 keys and 200 file systems,
// 128 keys in use (file systems 0-127 use keys 0-127, 128-199 share keys
// 0-71; keys 128-199 protect nothing). The sweep and the judgement of every
// ref read each key's metadata and rotation, and the policy and grants of
// the 128 keys in use only; every finding equals the one of a store that
// reads every key's policy and grants.
func TestSweepReadsPolicyAndGrantsOfKeysInUse(t *testing.T) {
	const n, inUse = 200, 128
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	fixture := func() (map[string]*fakeKey, []efstypes.FileSystemDescription) {
		keys := map[string]*fakeKey{}
		var fss []efstypes.FileSystemDescription
		for i := range n {
			pol := []string{rootPolicy, denyDecryptPolicy, rolePolicy}[i%3]
			k := sweepKey(testAccount, scaleKeyID(i), i%2 == 0, pol, scaleFSID(i))
			keys[aws.ToString(k.md.Arn)] = k
			fss = append(fss, sweepFS(scaleFSID(i), arns.KeyARN(testRegion, testAccount, scaleKeyID(i%inUse))))
		}
		return keys, fss
	}
	tests := []struct {
		name    string
		readAll bool
		want    map[string]int // calls of the sweep and the judgement
	}{
		{name: "policy and grants of the keys in use", want: map[string]int{
			"ListKeys": 1, "DescribeKey": n, "GetKeyRotationStatus": n, "GetKeyPolicy": inUse, "ListGrants": inUse, "ListAliases": 1}},
		{name: "policy and grants of every key (the comparison)", readAll: true, want: map[string]int{
			"ListKeys": 1, "DescribeKey": n, "GetKeyRotationStatus": n, "GetKeyPolicy": n, "ListGrants": n, "ListAliases": 1}},
	}
	findings := make([]map[string]finding.Finding, len(tests))
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, fss := fixture()
			s := newSweepStore(t, engine, keys, fss, tc.readAll)
			res, got := s.sweep(t)
			if res.Keys != n || res.FileSystems != n {
				t.Fatalf("swept %d keys and %d file systems, want %d and %d", res.Keys, res.FileSystems, n, n)
			}
			for op, want := range tc.want {
				if c := s.kms.get(op); c != want {
					t.Errorf("%s calls = %d, want %d", op, c, want)
				}
			}
			for i := range n {
				arn := arns.KeyARN(testRegion, testAccount, scaleKeyID(i))
				pol, grants := s.kms.reads(arn)
				want := 1
				if i >= inUse && !tc.readAll {
					want = 0
				}
				if pol != want || grants != want {
					t.Errorf("key %d: GetKeyPolicy %d, ListGrants %d calls, want %d each", i, pol, grants, want)
				}
			}
			if c := s.efs.get("DescribeFileSystems"); c != 1 {
				t.Errorf("DescribeFileSystems calls = %d, want 1 (the list)", c)
			}
			findings[i] = got
		})
	}
	filtered, full := findings[0], findings[1]
	if len(filtered) == 0 || len(filtered) != len(full) {
		t.Fatalf("%d findings, %d from the store that reads everything", len(filtered), len(full))
	}
	for _, k := range slices.Sorted(maps.Keys(full)) {
		if f, ok := filtered[k]; !ok || !reflect.DeepEqual(f, full[k]) {
			t.Errorf("%s:\n got %+v\nwant %+v", k, f, full[k])
		}
	}
	// The comparison covers every verdict the skipped reads could have
	// changed: each status of the policy rule for keys in use, and the
	// unused verdict of the 72 others.
	counts := map[finding.Status]int{}
	unused := 0
	for i := range n {
		f := filtered["efs_kms_key_policy_grants_efs "+arns.KeyARN(testRegion, testAccount, scaleKeyID(i))]
		if i >= inUse {
			if f.Status != finding.NotApplicable || !strings.HasSuffix(f.Reason, "protects no live file system") {
				t.Errorf("unused key %d: %s %q, want NOT_APPLICABLE: protects no live file system", i, f.Status, f.Reason)
			}
			unused++
			continue
		}
		counts[f.Status]++
	}
	if want := map[finding.Status]int{finding.Compliant: 43, finding.NonCompliant: 43, finding.NotApplicable: 42}; !reflect.DeepEqual(counts, want) || unused != n-inUse {
		t.Errorf("policy verdicts of keys in use = %v, want %v; unused keys %d, want %d", counts, want, unused, n-inUse)
	}
}

// createFileSystemRecord is a CreateFileSystem record: the envelope of the
// EFS guide's CloudTrail page
// (https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html,
// which shows no CreateFileSystem entry), the request and response of
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html.
func createFileSystemRecord(t *testing.T, eventID, fsID, keyARN, errorCode string) *cloudtrail.Record {
	t.Helper()
	fsARN := arns.FileSystemARN(testRegion, testAccount, fsID)
	rec := map[string]any{
		"eventVersion": "1.08",
		"userIdentity": map[string]any{"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice",
			"arn": "arn:aws:sts::" + testAccount + ":assumed-role/PlatformAdmin/alice", "accountId": testAccount},
		"eventTime": t0.Add(time.Minute).Format(time.RFC3339), "eventSource": "elasticfilesystem.amazonaws.com",
		"eventName": "CreateFileSystem", "awsRegion": testRegion, "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0",
		"requestParameters": map[string]any{"creationToken": "token-" + fsID, "performanceMode": "generalPurpose",
			"encrypted": true, "kmsKeyId": keyARN},
		"responseElements": map[string]any{"ownerId": testAccount, "creationToken": "token-" + fsID, "fileSystemId": fsID,
			"fileSystemArn": fsARN, "creationTime": "May 1, 2026, 12:01:00 PM", "lifeCycleState": "creating",
			"numberOfMountTargets": 0, "performanceMode": "generalPurpose", "encrypted": true, "kmsKeyId": keyARN,
			"throughputMode": "bursting"},
		"requestID": "d4e5f6a7-" + eventID, "eventID": eventID, "readOnly": false, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": testAccount, "eventCategory": "Management",
	}
	if errorCode != "" {
		rec["errorCode"], rec["errorMessage"], rec["responseElements"] = errorCode, "User is not authorized to perform kms:CreateGrant", nil
	}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var r cloudtrail.Record
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return &r
}

// TestUnreadKeyCompletedWhenItStartsProtecting: a key the sweep found
// protecting nothing is read without its policy and grants; when a
// CreateFileSystem record makes it protect a file system, both are read
// before the rules judge it, and the policy rule gives the verdict of its
// real policy (a Deny of kms:Decrypt), not "key policy is unknown".
func TestUnreadKeyCompletedWhenItStartsProtecting(t *testing.T) {
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	used, unused := arns.KeyARN(testRegion, testAccount, scaleKeyID(1)), arns.KeyARN(testRegion, testAccount, scaleKeyID(2))
	policyRule := "efs_kms_key_policy_grants_efs "
	delegated := func(fsID string) string {
		return "for " + fsID + " (creator unknown): statement Enable IAM User Permissions allows account " + testAccount +
			" as a whole, so its IAM identity policies decide (the key policy does not block EFS): kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"
	}
	tests := []struct {
		name string
		// newFS is the file system EFS lists after the record ("": none).
		newFS, newKey string
		recs          []*cloudtrail.Record
		// want is the policy rule's verdicts of the record's findings by key.
		want map[string]string
		// wantUnusedReads is GetKeyPolicy and ListGrants calls for the unused key after the records.
		wantUnusedReads int
	}{
		{name: "CreateFileSystem with the unread key", newFS: "fs-00000000000000002", newKey: unused,
			recs:            []*cloudtrail.Record{createFileSystemRecord(t, "ev-1", "fs-00000000000000002", unused, "")},
			want:            map[string]string{unused: "NON_COMPLIANT: key policy blocks EFS: for fs-00000000000000002 (creator unknown): statement DenyDecrypt denies kms:Decrypt"},
			wantUnusedReads: 1},
		{name: "duplicate delivery reads nothing more", newFS: "fs-00000000000000002", newKey: unused,
			recs: []*cloudtrail.Record{createFileSystemRecord(t, "ev-1", "fs-00000000000000002", unused, ""),
				createFileSystemRecord(t, "ev-1", "fs-00000000000000002", unused, "")},
			want:            map[string]string{unused: "NON_COMPLIANT: key policy blocks EFS: for fs-00000000000000002 (creator unknown): statement DenyDecrypt denies kms:Decrypt"},
			wantUnusedReads: 1},
		{name: "failed CreateFileSystem leaves the key unread",
			recs: []*cloudtrail.Record{createFileSystemRecord(t, "ev-2", "fs-00000000000000002", unused, "AccessDeniedException")},
			want: map[string]string{}, wantUnusedReads: 0},
		{name: "CreateFileSystem with another key leaves it unread", newFS: "fs-00000000000000003", newKey: used,
			recs:            []*cloudtrail.Record{createFileSystemRecord(t, "ev-3", "fs-00000000000000003", used, "")},
			want:            map[string]string{used: "COMPLIANT: " + delegated("fs-00000000000000001") + "; " + delegated("fs-00000000000000003")},
			wantUnusedReads: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := map[string]*fakeKey{
				used:   sweepKey(testAccount, scaleKeyID(1), true, rootPolicy, "fs-00000000000000001"),
				unused: sweepKey(testAccount, scaleKeyID(2), true, denyDecryptPolicy, "fs-00000000000000002"),
			}
			fss := []efstypes.FileSystemDescription{sweepFS("fs-00000000000000001", used)}
			s := newSweepStore(t, engine, keys, fss, false)
			_, before := s.sweep(t)
			if f := before[policyRule+unused]; f.Status != finding.NotApplicable || !strings.HasSuffix(f.Reason, "protects no live file system") {
				t.Fatalf("before: %s %q, want the unused verdict", f.Status, f.Reason)
			}
			if pol, grants := s.kms.reads(unused); pol != 0 || grants != 0 {
				t.Fatalf("sweep read the unused key's policy %d and grants %d times, want 0", pol, grants)
			}
			if tc.newFS != "" {
				s.efs.fs = append(slices.Clone(s.efs.fs), sweepFS(tc.newFS, tc.newKey))
			}
			got := map[string]string{}
			emit := func(f finding.Finding) error {
				if f.Rule+" " == policyRule {
					got[f.Resource] = string(f.Status) + ": " + f.Reason
				}
				return nil
			}
			if _, err := s.pipe.ProcessRecords(context.Background(), tc.recs, "eventbridge", emit); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("policy verdicts:\n got %v\nwant %v", got, tc.want)
			}
			if pol, grants := s.kms.reads(unused); pol != tc.wantUnusedReads || grants != tc.wantUnusedReads {
				t.Errorf("unused key: GetKeyPolicy %d, ListGrants %d calls, want %d each", pol, grants, tc.wantUnusedReads)
			}
		})
	}
}

// TestSweepReadsOtherAccountKeyAsBefore: a file system encrypted with
// another account's key (not among the keys ListKeys lists): judging it reads
// that key whole, policy and grants included, whether or not the store
// reads every key's facts.
func TestSweepReadsOtherAccountKeyAsBefore(t *testing.T) {
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const other = "222222222222"
	own := arns.KeyARN(testRegion, testAccount, scaleKeyID(1))
	foreign := arns.KeyARN(testRegion, other, scaleKeyID(9))
	tests := []struct {
		name    string
		readAll bool
	}{
		{name: "keys in use only"},
		{name: "every key", readAll: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := map[string]*fakeKey{
				own:     sweepKey(testAccount, scaleKeyID(1), true, rootPolicy, "fs-00000000000000001"),
				foreign: sweepKey(other, scaleKeyID(9), true, rootPolicy, "fs-00000000000000009"),
			}
			fss := []efstypes.FileSystemDescription{sweepFS("fs-00000000000000001", own), sweepFS("fs-00000000000000009", foreign)}
			s := newSweepStore(t, engine, keys, fss, tc.readAll)
			res, got := s.sweep(t)
			if res.Keys != 1 {
				t.Fatalf("swept %d keys, want 1 (the own account's)", res.Keys)
			}
			otherKMS := s.live.src.(*twoAccounts).clients[other].KMS.(*keyReads)
			if pol, grants := otherKMS.reads(foreign); pol != 1 || grants != 1 {
				t.Errorf("other account's key: GetKeyPolicy %d, ListGrants %d calls, want 1 each", pol, grants)
			}
			f := got["efs_encrypted_at_rest "+arns.FileSystemARN(testRegion, testAccount, "fs-00000000000000009")]
			if f.Status != finding.Compliant {
				t.Errorf("file system with the other account's key: %s %q, want COMPLIANT", f.Status, f.Reason)
			}
		})
	}
}
