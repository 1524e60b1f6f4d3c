package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
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
	"github.com/atrest/atrest/internal/state"
)

var (
	keyA    = arns.KeyARN(testRegion, testAccount, "aaaa1111-0000-4000-8000-000000000001")
	keyRSA  = arns.KeyARN(testRegion, testAccount, "2222aaaa-0000-4000-8000-000000000002")
	keyAWS  = arns.KeyARN(testRegion, testAccount, "aws-3333")
	fsA     = arns.FileSystemARN(testRegion, testAccount, "fs-a")
	fsB     = arns.FileSystemARN(testRegion, testAccount, "fs-b")
	fsPlain = arns.FileSystemARN(testRegion, testAccount, "fs-plain")
	t0      = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
)

const denyHTTP = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`

type fixture struct {
	kms   *fakeKMS
	efs   *fakeEFS
	clock *fakeClock
	live  *Live
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	deletion := t0.Add(7 * 24 * time.Hour)
	f := &fixture{
		kms: &fakeKMS{
			keys: map[string]*fakeKey{
				keyA: {
					md: kmstypes.KeyMetadata{
						Arn: aws.String(keyA), KeyId: aws.String("aaaa1111-0000-4000-8000-000000000001"),
						KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
						Origin: kmstypes.OriginTypeAwsKms, KeyManager: kmstypes.KeyManagerTypeCustomer,
						KeyState: kmstypes.KeyStatePendingDeletion, DeletionDate: &deletion,
					},
					rotation: &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(180)},
					policy:   `{"Version":"2012-10-17"}`,
					grants: []kmstypes.GrantListEntry{
						{GrantId: aws.String("g-efs"), GranteePrincipal: aws.String("arn:aws:iam::111111111111:role/x"),
							Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt},
							Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{state.EFSGrantContextKey: "fs-a"}}},
						{GrantId: aws.String("g-other"), GranteePrincipal: aws.String("arn:aws:iam::111111111111:role/app"),
							Operations: []kmstypes.GrantOperation{kmstypes.GrantOperationEncrypt}},
					},
				},
				keyRSA: {
					md: kmstypes.KeyMetadata{
						Arn: aws.String(keyRSA), KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify,
						Origin: kmstypes.OriginTypeAwsKms, KeyManager: kmstypes.KeyManagerTypeCustomer, KeyState: kmstypes.KeyStateEnabled,
					},
					policy: "{}",
				},
				keyAWS: {
					md: kmstypes.KeyMetadata{
						Arn: aws.String(keyAWS), KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt,
						Origin: kmstypes.OriginTypeAwsKms, KeyManager: kmstypes.KeyManagerTypeAws, KeyState: kmstypes.KeyStateEnabled,
					},
					rotation: &kms.GetKeyRotationStatusOutput{KeyRotationEnabled: true, RotationPeriodInDays: aws.Int32(365)},
					policy:   "{}",
				},
			},
			aliases: []kmstypes.AliasListEntry{
				{AliasName: aws.String("alias/team-b"), TargetKeyId: aws.String("aaaa1111-0000-4000-8000-000000000001")},
				{AliasName: aws.String("alias/team-a"), TargetKeyId: aws.String("aaaa1111-0000-4000-8000-000000000001")},
				{AliasName: aws.String(state.EFSDefaultKeyAlias), TargetKeyId: aws.String("aws-3333")},
				{AliasName: aws.String("alias/aws/rds")}, // AWS managed alias, key not created yet
			},
		},
		efs: &fakeEFS{
			fs: []efstypes.FileSystemDescription{
				{FileSystemId: aws.String("fs-a"), FileSystemArn: aws.String(fsA), Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyA), LifeCycleState: efstypes.LifeCycleStateAvailable},
				{FileSystemId: aws.String("fs-b"), FileSystemArn: aws.String(fsB), Encrypted: aws.Bool(true), KmsKeyId: aws.String("alias/team-a"), LifeCycleState: efstypes.LifeCycleStateAvailable},
				{FileSystemId: aws.String("fs-plain"), FileSystemArn: aws.String(fsPlain), Encrypted: aws.Bool(false), LifeCycleState: efstypes.LifeCycleStateAvailable},
				{FileSystemId: aws.String("fs-gone"), Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyA), LifeCycleState: efstypes.LifeCycleStateDeleting},
			},
			policies: map[string]string{"fs-a": denyHTTP},
		},
		clock: &fakeClock{t: t0},
	}
	f.live = NewLive(Options{
		Clients: &fakeSource{own: testAccount, clients: &Clients{KMS: f.kms, EFS: f.efs}},
		TTL:     time.Minute,
		Now:     f.clock.Now,
	})
	return f
}

func TestKeySnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	on := true
	tests := []struct {
		name string
		arn  string
		want *state.Key
	}{
		{
			name: "symmetric customer key pending deletion with rotation and grants",
			arn:  keyA,
			want: &state.Key{
				ARN: keyA, ID: "aaaa1111-0000-4000-8000-000000000001", Account: testAccount, Region: testRegion,
				Aliases: []string{"alias/team-a", "alias/team-b"},
				KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", KeyManager: "CUSTOMER",
				KeyState: "PendingDeletion", RotationEnabled: &on, RotationPeriodDays: 180,
				Policy: `{"Version":"2012-10-17"}`,
				Grants: []state.Grant{
					{ID: "g-efs", GranteePrincipal: "arn:aws:iam::111111111111:role/x", Operations: []string{"Decrypt"}, FileSystemID: "fs-a", EFS: true, State: "active"},
					{ID: "g-other", GranteePrincipal: "arn:aws:iam::111111111111:role/app", Operations: []string{"Encrypt"}, State: "active"},
				},
				DeletionDate: t0.Add(7 * 24 * time.Hour), Updated: t0,
			},
		},
		{
			name: "asymmetric key has no rotation status and no rotation call",
			arn:  keyRSA,
			want: &state.Key{
				ARN: keyRSA, ID: "2222aaaa-0000-4000-8000-000000000002", Account: testAccount, Region: testRegion, Aliases: []string{},
				KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY", Origin: "AWS_KMS", KeyManager: "CUSTOMER", KeyState: "Enabled",
				Policy: "{}", Grants: []state.Grant{}, Updated: t0,
			},
		},
		{
			name: "unknown key is nil",
			arn:  arns.KeyARN(testRegion, testAccount, "nope"),
			want: nil,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.live.Key(ctx, tc.arn)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				gj, _ := json.MarshalIndent(got, "", " ")
				wj, _ := json.MarshalIndent(tc.want, "", " ")
				t.Fatalf("Key(%s)\n got %s\nwant %s", tc.arn, gj, wj)
			}
		})
	}
	if n := f.kms.get("GetKeyRotationStatus"); n != 1 {
		t.Errorf("GetKeyRotationStatus calls = %d, want 1 (only the symmetric key)", n)
	}
	if n := f.kms.get("ListAliases"); n != 1 {
		t.Errorf("ListAliases calls = %d, want 1 (one index per region)", n)
	}
	if _, err := f.live.Key(ctx, fsA); !errors.Is(err, ErrBadARN) {
		t.Errorf("Key(file-system ARN) error = %v, want ErrBadARN", err)
	}
}

func TestFileSystemSnapshot(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tests := []struct {
		name string
		arn  string
		want *state.FileSystem
	}{
		{"customer key with policy", fsA, &state.FileSystem{ARN: fsA, ID: "fs-a", Account: testAccount, Region: testRegion,
			Encrypted: true, Known: true, KMSKeyID: keyA, KMSKeyARN: keyA, Policy: denyHTTP, PolicyKnown: true, Updated: t0}},
		{"key named by alias, no policy", fsB, &state.FileSystem{ARN: fsB, ID: "fs-b", Account: testAccount, Region: testRegion,
			Encrypted: true, Known: true, KMSKeyID: "alias/team-a", KMSKeyARN: keyA, PolicyKnown: true, Updated: t0}},
		{"unencrypted", fsPlain, &state.FileSystem{ARN: fsPlain, ID: "fs-plain", Account: testAccount, Region: testRegion,
			Known: true, PolicyKnown: true, Updated: t0}},
		{"unknown file system is deleted, nothing known", arns.FileSystemARN(testRegion, testAccount, "fs-x"),
			&state.FileSystem{ARN: arns.FileSystemARN(testRegion, testAccount, "fs-x"), ID: "fs-x", Account: testAccount, Region: testRegion,
				Deleted: true, Updated: t0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.live.FileSystem(ctx, tc.arn)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("FileSystem(%s)\n got %+v\nwant %+v", tc.arn, got, tc.want)
			}
		})
	}
}

func TestFileSystemsForKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Reading fs-a first caches its policy, which the list then carries.
	if _, err := f.live.FileSystem(ctx, fsA); err != nil {
		t.Fatal(err)
	}
	got, err := f.live.FileSystemsForKey(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	var arns []string
	for _, fs := range got {
		arns = append(arns, fs.ARN)
	}
	// fs-gone is deleting; fs-plain is unencrypted.
	if want := []string{fsA, fsB}; !reflect.DeepEqual(arns, want) {
		t.Fatalf("FileSystemsForKey = %v, want %v", arns, want)
	}
	if !got[0].PolicyKnown || got[0].Policy != denyHTTP || got[1].PolicyKnown {
		t.Errorf("policies: fs-a known=%v, fs-b known=%v; want the read one known only", got[0].PolicyKnown, got[1].PolicyKnown)
	}
	if _, err := f.live.FileSystemsForKey(ctx, keyRSA); err != nil {
		t.Fatal(err)
	}
	if n := f.efs.get("DescribeFileSystems"); n != 2 {
		t.Errorf("DescribeFileSystems calls = %d, want 2 (fs-a once, the list once)", n)
	}
}

func TestCacheTTL(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 3 {
		if _, err := f.live.Key(ctx, keyA); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.kms.get("DescribeKey"); n != 1 {
		t.Fatalf("DescribeKey calls within TTL = %d, want 1", n)
	}
	f.clock.Add(59 * time.Second)
	f.live.Key(ctx, keyA)
	if n := f.kms.get("DescribeKey"); n != 1 {
		t.Fatalf("DescribeKey calls at 59s = %d, want 1", n)
	}
	f.clock.Add(time.Second)
	k, err := f.live.Key(ctx, keyA)
	if err != nil {
		t.Fatal(err)
	}
	if n := f.kms.get("DescribeKey"); n != 2 {
		t.Fatalf("DescribeKey calls at 60s = %d, want 2 (expired)", n)
	}
	if want := t0.Add(60 * time.Second); !k.Updated.Equal(want) {
		t.Errorf("Updated = %v, want the second read's time %v", k.Updated, want)
	}
}

func rec(source, name string, req, resp string) *cloudtrail.Record {
	r := &cloudtrail.Record{
		EventSource: source, EventName: name, AWSRegion: testRegion, RecipientAccountID: testAccount,
		EventID: name + "-1", EventTime: t0,
	}
	if req != "" {
		r.RequestParameters = json.RawMessage(req)
	}
	if resp != "" {
		r.ResponseElements = json.RawMessage(resp)
	}
	return r
}

func TestApply(t *testing.T) {
	keyRef := func(arn string) state.ResourceRef { return state.ResourceRef{Type: state.TypeKey, ARN: arn} }
	fsRef := func(arn string) state.ResourceRef { return state.ResourceRef{Type: state.TypeFileSystem, ARN: arn} }
	failed := rec(cloudtrail.SourceKMS, cloudtrail.EventDisableKey, `{"keyId":"aaaa1111-0000-4000-8000-000000000001"}`, "")
	failed.ErrorCode = "AccessDeniedException"
	withResource := rec(cloudtrail.SourceKMS, cloudtrail.EventPutKeyPolicy, `{"keyId":"alias/team-a","policyName":"default","policy":"{}"}`, "")
	withResource.Resources = []cloudtrail.Resource{{ARN: keyA, Type: "AWS::KMS::Key"}}
	tests := []struct {
		name        string
		rec         *cloudtrail.Record
		wantTouched []state.ResourceRef
		wantIgnored bool
		// reread is the calls one more read of key A and fs-a makes after Apply.
		reread map[string]int
	}{
		{name: "DisableKey drops the key metadata", rec: rec(cloudtrail.SourceKMS, cloudtrail.EventDisableKey, `{"keyId":"aaaa1111-0000-4000-8000-000000000001"}`, ""),
			wantTouched: []state.ResourceRef{keyRef(keyA)}, reread: map[string]int{"DescribeKey": 1, "GetKeyRotationStatus": 1}},
		{name: "EnableKeyRotation drops the rotation status", rec: rec(cloudtrail.SourceKMS, cloudtrail.EventEnableKeyRotation, `{"keyId":"`+keyA+`","rotationPeriodInDays":90}`, ""),
			wantTouched: []state.ResourceRef{keyRef(keyA)}, reread: map[string]int{"GetKeyRotationStatus": 1}},
		{name: "PutKeyPolicy by alias, key from resources", rec: withResource,
			wantTouched: []state.ResourceRef{keyRef(keyA)}, reread: map[string]int{"GetKeyPolicy": 1}},
		{name: "CreateGrant drops the grants", rec: rec(cloudtrail.SourceKMS, cloudtrail.EventCreateGrant, `{"keyId":"aaaa1111-0000-4000-8000-000000000001","granteePrincipal":"efs"}`, `{"grantId":"g2"}`),
			wantTouched: []state.ResourceRef{keyRef(keyA)}, reread: map[string]int{"ListGrants": 1}},
		{name: "CreateFileSystem touches the file system and its key", rec: rec(cloudtrail.SourceEFS, cloudtrail.EventCreateFileSystem, `{"encrypted":true,"kmsKeyId":"alias/team-a"}`, `{"fileSystemId":"fs-a","encrypted":true}`),
			wantTouched: []state.ResourceRef{fsRef(fsA), keyRef(keyA)}, reread: map[string]int{"ListGrants": 1, "DescribeFileSystems": 1, "DescribeFileSystemPolicy": 1}},
		{name: "DeleteFileSystem touches the file system and its key", rec: rec(cloudtrail.SourceEFS, cloudtrail.EventDeleteFileSystem, `{"fileSystemId":"fs-a"}`, ""),
			wantTouched: []state.ResourceRef{fsRef(fsA), keyRef(keyA)}, reread: map[string]int{"ListGrants": 1, "DescribeFileSystems": 1, "DescribeFileSystemPolicy": 1}},
		{name: "PutFileSystemPolicy drops the policy only", rec: rec(cloudtrail.SourceEFS, cloudtrail.EventPutFileSystemPolicy, `{"fileSystemId":"fs-a","policy":"{}"}`, ""),
			wantTouched: []state.ResourceRef{fsRef(fsA)}, reread: map[string]int{"DescribeFileSystemPolicy": 1}},
		{name: "UpdateAlias touches the key it left and the key it joined", rec: rec(cloudtrail.SourceKMS, cloudtrail.EventUpdateAlias, `{"aliasName":"alias/team-a","targetKeyId":"2222aaaa-0000-4000-8000-000000000002"}`, ""),
			wantTouched: []state.ResourceRef{keyRef(keyA), keyRef(keyRSA)}, reread: map[string]int{"ListAliases": 1}},
		{name: "failed call changes nothing", rec: failed, wantIgnored: true, reread: map[string]int{}},
		{name: "event of no interest changes nothing", rec: rec(cloudtrail.SourceKMS, "Decrypt", `{"keyId":"aaaa1111-0000-4000-8000-000000000001"}`, ""), wantIgnored: true, reread: map[string]int{}},
	}
	ops := []string{"DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListGrants", "ListAliases", "DescribeFileSystems", "DescribeFileSystemPolicy"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			read := func() {
				t.Helper()
				if _, err := f.live.Key(ctx, keyA); err != nil {
					t.Fatal(err)
				}
				if _, err := f.live.FileSystem(ctx, fsA); err != nil {
					t.Fatal(err)
				}
			}
			read()
			before := map[string]int{}
			for _, op := range ops {
				before[op] = f.kms.get(op) + f.efs.get(op)
			}
			ch, err := f.live.Apply(ctx, tc.rec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ch.Touched, tc.wantTouched) {
				t.Errorf("Touched = %v, want %v", ch.Touched, tc.wantTouched)
			}
			if (ch.Ignored != "") != tc.wantIgnored {
				t.Errorf("Ignored = %q, want ignored %v", ch.Ignored, tc.wantIgnored)
			}
			read()
			for _, op := range ops {
				if got := f.kms.get(op) + f.efs.get(op) - before[op]; got != tc.reread[op] {
					t.Errorf("%s calls after Apply = %d, want %d", op, got, tc.reread[op])
				}
			}
		})
	}
}

func TestApplyBadRecord(t *testing.T) {
	f := newFixture(t)
	_, err := f.live.Apply(context.Background(), rec(cloudtrail.SourceKMS, cloudtrail.EventDisableKey, `{"keyId":"alias/unknown"}`, ""))
	if !errors.Is(err, state.ErrBadRecord) {
		t.Fatalf("Apply with an unknown alias: error = %v, want ErrBadRecord", err)
	}
}

func TestSingleFlight(t *testing.T) {
	f := newFixture(t)
	f.kms.block = make(chan struct{})
	const n = 32
	queued := waitForJoins(f.live.cache, keyMetaKey(keyA), n-1)
	var wg sync.WaitGroup
	keys := make([]*state.Key, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			keys[i], errs[i] = f.live.Key(context.Background(), keyA)
		}()
	}
	// Every other caller waits on the one read before it returns.
	awaitQueued(t, queued, f.kms.block)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || keys[i] == nil || keys[i].KeyState != "PendingDeletion" {
			t.Fatalf("caller %d: key %+v, error %v", i, keys[i], errs[i])
		}
	}
	for _, op := range []string{"DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListGrants", "ListAliases"} {
		if got := f.kms.get(op); got != 1 {
			t.Errorf("%s calls for %d concurrent lookups = %d, want 1", op, n, got)
		}
	}
	// Callers get their own copies.
	keys[0].Grants[0].ID = "changed"
	if keys[1].Grants[0].ID != "g-efs" {
		t.Errorf("callers share grant slices")
	}
}

// waitForJoins returns a channel closed once n callers have queued on the
// load of key in flight in c.
func waitForJoins(c *cache, key string, n int) <-chan struct{} {
	done := make(chan struct{})
	var mu sync.Mutex
	count := 0
	c.mu.Lock()
	c.joined = func(k string) {
		if k != key {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if count++; count == n {
			close(done)
		}
	}
	c.mu.Unlock()
	return done
}

// awaitQueued waits for queued; if the callers never queue (each made its
// own read), it releases block and fails.
func awaitQueued(t *testing.T, queued <-chan struct{}, block chan struct{}) {
	t.Helper()
	select {
	case <-queued:
		close(block)
	case <-time.After(10 * time.Second):
		close(block)
		t.Fatal("concurrent callers did not queue on the one read in flight")
	}
}

func TestInvalidateDuringRead(t *testing.T) {
	f := newFixture(t)
	f.kms.block = make(chan struct{})
	f.kms.entered = make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.live.Key(context.Background(), keyA)
	}()
	<-f.kms.entered // the read is in flight
	f.kms.entered = nil
	// The key is disabled while its old state is being read.
	f.live.Apply(context.Background(), rec(cloudtrail.SourceKMS, cloudtrail.EventDisableKey, `{"keyId":"aaaa1111-0000-4000-8000-000000000001"}`, ""))
	close(f.kms.block)
	<-done
	f.kms.block = nil
	f.live.Key(context.Background(), keyA)
	if n := f.kms.get("DescribeKey"); n != 2 {
		t.Fatalf("DescribeKey calls = %d, want 2: a read overtaken by an event must not be cached", n)
	}
}

func TestAccessDenied(t *testing.T) {
	tests := []struct {
		name     string
		kmsDeny  deny
		efsDeny  deny
		read     func(*Live) error
		wantText string
	}{
		{"rotation status", deny{"GetKeyRotationStatus": true}, nil,
			func(l *Live) error { _, err := l.Key(context.Background(), keyA); return err },
			"kms:GetKeyRotationStatus on " + keyA},
		{"key policy", deny{"GetKeyPolicy": true}, nil,
			func(l *Live) error { _, err := l.Key(context.Background(), keyA); return err },
			"kms:GetKeyPolicy on " + keyA},
		{"describe key", deny{"DescribeKey": true}, nil,
			func(l *Live) error { _, err := l.Key(context.Background(), keyA); return err },
			"kms:DescribeKey on " + keyA},
		{"file-system policy", nil, deny{"DescribeFileSystemPolicy": true},
			func(l *Live) error { _, err := l.FileSystem(context.Background(), fsA); return err },
			"elasticfilesystem:DescribeFileSystemPolicy on " + fsA},
		{"file-system list", nil, deny{"DescribeFileSystems": true},
			func(l *Live) error { _, err := l.FileSystemsForKey(context.Background(), keyA); return err },
			"elasticfilesystem:DescribeFileSystems on file systems of account " + testAccount},
		{"alias list while resolving a file system's key", deny{"ListAliases": true}, nil,
			func(l *Live) error { _, err := l.FileSystem(context.Background(), fsB); return err },
			"kms:ListAliases on aliases of account " + testAccount},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.kms.deny, f.efs.deny = tc.kmsDeny, tc.efsDeny
			err := tc.read(f.live)
			if !errors.Is(err, ErrAccessDenied) {
				t.Fatalf("error = %v, want ErrAccessDenied", err)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Fatalf("error %q does not name %q", err, tc.wantText)
			}
			var pe *PermissionError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PermissionError", err)
			}
		})
	}
}

func TestOtherAccountWithoutRole(t *testing.T) {
	f := newFixture(t)
	other := arns.KeyARN(testRegion, "999999999999", "k")
	_, err := f.live.Key(context.Background(), other)
	if !errors.Is(err, ErrAccountNotMonitored) {
		t.Fatalf("error = %v, want ErrAccountNotMonitored", err)
	}
}

// A key reference is resolved in the account and region it names: an alias
// ARN of another account is looked up there, never in the reading account's
// alias list (which has an alias of the same name).
// DescribeFileSystems' KmsKeyId takes any key reference:
// https://docs.aws.amazon.com/efs/latest/ug/API_FileSystemDescription.html
func TestFileSystemKeyReferenceForms(t *testing.T) {
	tests := []struct {
		name string
		ref  string
		want string
	}{
		{"key ARN", keyA, keyA},
		{"key id in the file system's account and region", "aaaa1111-0000-4000-8000-000000000001", keyA},
		{"alias name", "alias/team-a", keyA},
		{"alias ARN in the own account", arns.AliasARN(testRegion, testAccount, "alias/team-a"), keyA},
		{"alias ARN of an account not monitored", arns.AliasARN(testRegion, "999999999999", "alias/team-a"), ""},
		{"unknown alias", "alias/none", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.efs.fs[1].KmsKeyId = aws.String(tt.ref)
			fs, err := f.live.FileSystem(context.Background(), fsB)
			if err != nil {
				t.Fatalf("FileSystem: %v", err)
			}
			if fs.KMSKeyID != tt.ref || fs.KMSKeyARN != tt.want {
				t.Errorf("KMSKeyID, KMSKeyARN = %q, %q; want %q, %q", fs.KMSKeyID, fs.KMSKeyARN, tt.ref, tt.want)
			}
		})
	}
}
