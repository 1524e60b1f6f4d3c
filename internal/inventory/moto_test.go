package inventory

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/state"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// motoEnv is a fresh moto account, clients to seed it, and a live store on
// it whose calls are counted.
type motoEnv struct {
	cfg   aws.Config
	kms   *kms.Client
	efs   *efs.Client
	calls *awstest.Calls
	acc   *Accounts
	live  *Live
	now   time.Time
}

func newMotoEnv(t *testing.T, roleName string) *motoEnv {
	t.Helper()
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	cfg := awstest.Config(t, url)
	e := &motoEnv{cfg: cfg, kms: kms.NewFromConfig(cfg), efs: efs.NewFromConfig(cfg), calls: &awstest.Calls{}, now: time.Now().UTC()}
	liveCfg := cfg.Copy()
	e.calls.Install(&liveCfg)
	e.acc = NewAccounts(AccountsOptions{Config: liveCfg, RoleName: roleName, ExternalID: "atrest-test"})
	e.live = NewLive(Options{Clients: e.acc, Now: func() time.Time { return e.now }})
	return e
}

// must returns v, or stops the test binary on a seeding error: moto tests
// fail loudly, they never skip.
func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func (e *motoEnv) createKey(t *testing.T, in *kms.CreateKeyInput) *kmstypes.KeyMetadata {
	t.Helper()
	return must(e.kms.CreateKey(context.Background(), in)).KeyMetadata
}

func (e *motoEnv) createFS(t *testing.T, token string, encrypted bool, keyRef string) string {
	t.Helper()
	in := &efs.CreateFileSystemInput{CreationToken: aws.String(token), Encrypted: aws.Bool(encrypted)}
	if keyRef != "" {
		in.KmsKeyId = aws.String(keyRef)
	}
	return must(awstest.CreateFileSystem(context.Background(), e.efs, in))
}

const allowPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"elasticfilesystem:ClientMount"}]}`

// TestMotoSnapshots checks the live store's snapshots field by field against
// what moto serves. Where moto departs from AWS the expectation says so.
func TestMotoSnapshots(t *testing.T) {
	ctx := context.Background()
	e := newMotoEnv(t, "")
	acct, region := awstest.Account, awstest.Region

	plain := e.createKey(t, &kms.CreateKeyInput{})
	rotating := e.createKey(t, &kms.CreateKeyInput{})
	must(e.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: rotating.KeyId, RotationPeriodInDays: aws.Int32(180)}))
	rsa := e.createKey(t, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	hmac := e.createKey(t, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac256, KeyUsage: kmstypes.KeyUsageTypeGenerateVerifyMac})
	disabled := e.createKey(t, &kms.CreateKeyInput{})
	must(e.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: disabled.KeyId}))
	pending := e.createKey(t, &kms.CreateKeyInput{})
	sched := must(e.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: pending.KeyId, PendingWindowInDays: aws.Int32(7)}))
	must(e.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/app"), TargetKeyId: plain.KeyId}))

	fsDefault := e.createFS(t, "default", true, "")
	fsCustomer := e.createFS(t, "customer", true, aws.ToString(rotating.KeyId))
	fsPlain := e.createFS(t, "plain", false, "")
	fsAlias := e.createFS(t, "alias", true, "alias/app")
	must(e.efs.PutFileSystemPolicy(ctx, &efs.PutFileSystemPolicyInput{FileSystemId: aws.String(arns.ResourceID(fsCustomer)), Policy: aws.String(denyHTTP)}))
	must(e.efs.PutFileSystemPolicy(ctx, &efs.PutFileSystemPolicyInput{FileSystemId: aws.String(arns.ResourceID(fsAlias)), Policy: aws.String(allowPolicy)}))
	grant := must(e.kms.CreateGrant(ctx, &kms.CreateGrantInput{
		KeyId: rotating.KeyId, GranteePrincipal: aws.String("arn:aws:iam::123456789012:role/efs-service"),
		Operations:  []kmstypes.GrantOperation{kmstypes.GrantOperationDecrypt, kmstypes.GrantOperationGenerateDataKeyWithoutPlaintext},
		Constraints: &kmstypes.GrantConstraints{EncryptionContextSubset: map[string]string{state.EFSGrantContextKey: arns.ResourceID(fsCustomer)}},
	}))

	// The AWS managed key EFS uses. moto gap: it lists every alias/aws/*
	// with a placeholder target that DescribeKey does not know, until the key
	// is described by alias name, which creates it (AWS creates it on first
	// use and lists the alias without a target before).
	must(e.kms.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(state.EFSDefaultKeyAlias)}))
	var awsKeyARN string
	for _, a := range must(e.kms.ListAliases(ctx, &kms.ListAliasesInput{})).Aliases {
		if aws.ToString(a.AliasName) == state.EFSDefaultKeyAlias {
			awsKeyARN = arns.KeyARN(region, acct, aws.ToString(a.TargetKeyId))
		}
	}
	if awsKeyARN == "" {
		t.Fatal("moto lists no alias/aws/elasticfilesystem")
	}

	off, on := false, true
	key := func(md *kmstypes.KeyMetadata) state.Key {
		// moto gap: DescribeKey has no KeyUsage for a key created without
		// one (AWS says ENCRYPT_DECRYPT); SYMMETRIC_DEFAULT implies it.
		return state.Key{ARN: aws.ToString(md.Arn), ID: aws.ToString(md.KeyId), Account: acct, Region: region,
			Aliases: []string{}, KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT", Origin: "AWS_KMS", KeyManager: "CUSTOMER",
			MultiRegion: md.MultiRegion,
			KeyState:    "Enabled", RotationEnabled: &off, Policy: state.DefaultKeyPolicy("aws", acct), Grants: []state.Grant{}, Updated: e.now}
	}
	wantPlain := key(plain)
	wantPlain.Aliases = []string{"alias/app"}
	wantRotating := key(rotating)
	wantRotating.RotationEnabled = &on
	// moto gap: GetKeyRotationStatus has no RotationPeriodInDays, so the
	// period is unknown (0). AWS answers 180 here.
	wantRotating.RotationPeriodDays = 0
	wantRotating.Grants = []state.Grant{{ID: aws.ToString(grant.GrantId), GranteePrincipal: "arn:aws:iam::123456789012:role/efs-service",
		Operations: []string{"Decrypt", "GenerateDataKeyWithoutPlaintext"}, FileSystemID: arns.ResourceID(fsCustomer), EFS: true, State: "active"}}
	wantRSA := key(rsa)
	wantRSA.KeySpec, wantRSA.KeyUsage, wantRSA.RotationEnabled = "RSA_2048", "SIGN_VERIFY", nil
	wantHMAC := key(hmac)
	wantHMAC.KeySpec, wantHMAC.KeyUsage, wantHMAC.RotationEnabled = "HMAC_256", "GENERATE_VERIFY_MAC", nil
	wantDisabled := key(disabled)
	wantDisabled.KeyState = "Disabled"
	wantPending := key(pending)
	wantPending.KeyState = "PendingDeletion"
	wantPending.DeletionDate = sched.DeletionDate.UTC()

	for _, tc := range []struct {
		name string
		want state.Key
	}{
		{"symmetric, rotation off, aliased", wantPlain},
		{"symmetric, rotation on", wantRotating},
		{"RSA_2048 SIGN_VERIFY: rotation not asked", wantRSA},
		{"HMAC_256: rotation not asked", wantHMAC},
		{"disabled", wantDisabled},
		{"pending deletion", wantPending},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := must(e.live.Key(ctx, tc.want.ARN))
			if got == nil {
				t.Fatal("nil")
			}
			// moto writes the default key policy with other spacing.
			var gotPolicy, wantPolicy any
			if err := json.Unmarshal([]byte(got.Policy), &gotPolicy); err != nil {
				t.Fatal(err)
			}
			json.Unmarshal([]byte(tc.want.Policy), &wantPolicy)
			assertJSONEqual(t, gotPolicy, wantPolicy)
			got.Policy = tc.want.Policy
			assertJSONEqual(t, got, &tc.want)
		})
	}

	t.Run("AWS managed key of EFS", func(t *testing.T) {
		got := must(e.live.Key(ctx, awsKeyARN))
		if got == nil {
			t.Fatal("nil")
		}
		// moto gap: the AWS managed key reports KeyManager CUSTOMER (AWS: AWS).
		if got.KeyManager != "CUSTOMER" || got.KeySpec != "SYMMETRIC_DEFAULT" || got.KeyState != "Enabled" ||
			len(got.Aliases) != 1 || got.Aliases[0] != state.EFSDefaultKeyAlias {
			t.Fatalf("got %+v", got)
		}
	})

	fsWant := func(arn string) state.FileSystem {
		return state.FileSystem{ARN: arn, ID: arns.ResourceID(arn), Account: acct, Region: region, Known: true, PolicyKnown: true, Updated: e.now}
	}
	wantDefault := fsWant(fsDefault)
	// moto gap: no KmsKeyId for a file system encrypted with the AWS managed
	// key (AWS reports the key ARN); the store falls back to EFS's default alias.
	wantDefault.Encrypted, wantDefault.KMSKeyID, wantDefault.KMSKeyARN = true, state.EFSDefaultKeyAlias, awsKeyARN
	wantCustomer := fsWant(fsCustomer)
	// moto keeps KmsKeyId as given (a key id); AWS reports the key ARN.
	wantCustomer.Encrypted, wantCustomer.KMSKeyID, wantCustomer.KMSKeyARN, wantCustomer.Policy = true, aws.ToString(rotating.KeyId), aws.ToString(rotating.Arn), denyHTTP
	wantPlainFS := fsWant(fsPlain)
	wantAlias := fsWant(fsAlias)
	wantAlias.Encrypted, wantAlias.KMSKeyID, wantAlias.KMSKeyARN, wantAlias.Policy = true, "alias/app", aws.ToString(plain.Arn), allowPolicy
	for _, tc := range []struct {
		name string
		want state.FileSystem
	}{
		{"encrypted with the AWS managed key", wantDefault},
		{"encrypted with a customer key, SecureTransport deny policy", wantCustomer},
		{"unencrypted, no policy", wantPlainFS},
		{"encrypted with a key named by alias, policy without deny", wantAlias},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := must(e.live.FileSystem(ctx, tc.want.ARN))
			assertJSONEqual(t, got, &tc.want)
		})
	}

	for _, tc := range []struct {
		key  string
		want []string
	}{
		{aws.ToString(rotating.Arn), []string{fsCustomer}},
		{aws.ToString(plain.Arn), []string{fsAlias}},
		{awsKeyARN, []string{fsDefault}},
		{aws.ToString(rsa.Arn), nil},
	} {
		got := must(e.live.FileSystemsForKey(ctx, tc.key))
		var arns []string
		for _, fs := range got {
			arns = append(arns, fs.ARN)
		}
		if len(arns) != len(tc.want) || (len(arns) > 0 && arns[0] != tc.want[0]) {
			t.Errorf("FileSystemsForKey(%s) = %v, want %v", tc.key, arns, tc.want)
		}
	}

	// After the file system is deleted (and the event applied), it reads as
	// deleted and leaves its key's list.
	must(e.efs.DeleteFileSystem(ctx, &efs.DeleteFileSystemInput{FileSystemId: aws.String(arns.ResourceID(fsAlias))}))
	del := rec("elasticfilesystem.amazonaws.com", "DeleteFileSystem", `{"fileSystemId":"`+arns.ResourceID(fsAlias)+`"}`, "")
	del.AWSRegion, del.RecipientAccountID = region, acct
	ch := must(e.live.Apply(ctx, del))
	wantTouched := []state.ResourceRef{{Type: state.TypeFileSystem, ARN: fsAlias}, {Type: state.TypeKey, ARN: aws.ToString(plain.Arn)}}
	assertJSONEqual(t, ch.Touched, wantTouched)
	gone := must(e.live.FileSystem(ctx, fsAlias))
	if !gone.Deleted || gone.Known {
		t.Errorf("deleted file system = %+v, want Deleted and not Known", gone)
	}
	if got := must(e.live.FileSystemsForKey(ctx, aws.ToString(plain.Arn))); len(got) != 0 {
		t.Errorf("FileSystemsForKey after delete = %d file systems, want 0", len(got))
	}
}

// TestMotoOtherAccount reads a key in another account of the organization
// through a role assumed there (moto maps assumed-role credentials to the
// role's account).
func TestMotoOtherAccount(t *testing.T) {
	ctx := context.Background()
	e := newMotoEnv(t, "atrest-reader")
	const other = "222233334444"
	// Seed the other account with credentials of the same role.
	stsc := sts.NewFromConfig(e.cfg)
	out := must(stsc.AssumeRole(ctx, &sts.AssumeRoleInput{
		RoleArn: aws.String("arn:aws:iam::" + other + ":role/atrest-reader"), RoleSessionName: aws.String("seed"),
	}))
	seedCfg := e.cfg.Copy()
	seedCfg.Credentials = aws.NewCredentialsCache(staticCreds(out))
	md := must(kms.NewFromConfig(seedCfg).CreateKey(ctx, &kms.CreateKeyInput{})).KeyMetadata
	if acct := aws.ToString(md.AWSAccountId); acct != other {
		t.Fatalf("moto created the seed key in account %s, want %s", acct, other)
	}
	got := must(e.live.Key(ctx, aws.ToString(md.Arn)))
	if got == nil || got.Account != other || got.KeyState != "Enabled" {
		t.Fatalf("key in the other account = %+v", got)
	}
	if n := e.calls.Get("AssumeRole"); n != 1 {
		t.Errorf("AssumeRole calls = %d, want 1", n)
	}
	// The monitor's own account is read with its own credentials: the key
	// is not there.
	own := must(e.live.Key(ctx, arns.KeyARN(awstest.Region, awstest.Account, aws.ToString(md.KeyId))))
	if own != nil {
		t.Errorf("own account sees the other account's key: %+v", own)
	}
}
