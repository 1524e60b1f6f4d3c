package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

// pointAt makes the standard AWS configuration of this process read moto.
func pointAt(t *testing.T, url string) {
	t.Helper()
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

type liveFixture struct {
	keyARN                     string
	encryptedFS, unencryptedFS string
	secondFS                   string
}

// seed creates on moto a customer key (rotation off) protecting two file
// systems, and an unencrypted file system.
func seed(t *testing.T, url string) liveFixture {
	t.Helper()
	ctx := context.Background()
	awstest.Reset(t, url)
	cfg := awstest.Config(t, url)
	k := kms.NewFromConfig(cfg)
	e := efs.NewFromConfig(cfg)
	key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	var fx liveFixture
	fx.keyARN = aws.ToString(key.KeyMetadata.Arn)
	mk := func(token string, encrypted bool) string {
		in := &efs.CreateFileSystemInput{CreationToken: aws.String(token), Encrypted: aws.Bool(encrypted)}
		if encrypted {
			in.KmsKeyId = aws.String(fx.keyARN)
		}
		arn, err := awstest.CreateFileSystem(ctx, e, in)
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	fx.encryptedFS = mk("enc-1", true)
	fx.secondFS = mk("enc-2", true)
	fx.unencryptedFS = mk("plain", false)
	return fx
}

func byRuleResource(fs []finding.Finding) map[string]finding.Finding {
	m := map[string]finding.Finding{}
	for _, f := range fs {
		m[f.Rule+" "+f.Resource] = f
	}
	return m
}

func TestSweepOnMoto(t *testing.T) {
	url := awstest.Moto(t)
	fx := seed(t, url)
	pointAt(t, url)
	out, stderr, code := runCLI(t, "", "sweep", "--format", "json", "--regions", awstest.Region)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := byRuleResource(decodeFindings(t, out))
	want := map[string]finding.Status{
		"efs_encrypted_at_rest " + fx.encryptedFS:                finding.Compliant,
		"efs_encrypted_at_rest " + fx.unencryptedFS:              finding.NonCompliant,
		"efs_encryption_in_transit_enforced " + fx.encryptedFS:   finding.NonCompliant,
		"kms_key_rotation_enabled " + fx.keyARN:                  finding.NonCompliant,
		"efs_kms_key_available " + fx.keyARN:                     finding.Compliant,
		"efs_kms_key_symmetric " + fx.keyARN:                     finding.Compliant,
		"efs_kms_key_policy_grants_efs " + fx.keyARN:             finding.Compliant,
		"efs_encryption_in_transit_enforced " + fx.unencryptedFS: finding.NonCompliant,
		"efs_encrypted_at_rest " + fx.secondFS:                   finding.Compliant,
		"efs_encryption_in_transit_enforced " + fx.secondFS:      finding.NonCompliant,
	}
	for k, st := range want {
		f, ok := got[k]
		if !ok {
			t.Errorf("no finding %s", k)
			continue
		}
		if f.Status != st || f.Source != "sweep" || f.EventID != "" {
			t.Errorf("%s = %s (source %q), want %s: %s", k, f.Status, f.Source, st, f.Reason)
		}
	}
	if v := got["efs_kms_key_verified "+fx.keyARN]; v.Status != finding.NotApplicable {
		t.Errorf("without --verify-keys: %s %s", v.Status, v.Reason)
	}
	avail := got["efs_kms_key_available "+fx.keyARN]
	if !slices.Equal(avail.FileSystems, []string{fx.encryptedFS, fx.secondFS}) && !slices.Equal(avail.FileSystems, []string{fx.secondFS, fx.encryptedFS}) {
		t.Errorf("blast radius = %v, want both file systems", avail.FileSystems)
	}
}

// TestEvaluateLiveDisableKey disables the key on moto, then judges the
// DisableKey event with live reads: the finding lists every file system the
// key protects, which the event itself never names.
func TestEvaluateLiveDisableKey(t *testing.T) {
	url := awstest.Moto(t)
	fx := seed(t, url)
	ctx := context.Background()
	k := kms.NewFromConfig(awstest.Config(t, url))
	keyID := fx.keyARN[strings.LastIndexByte(fx.keyARN, '/')+1:]
	// moto's DisableKey takes the key id, not the ARN.
	if _, err := k.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	event := map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.kms", "account": awstest.Account, "time": "2026-11-27T10:00:00Z", "region": awstest.Region, "resources": []any{},
		"detail": map[string]any{
			"eventVersion": "1.08", "userIdentity": map[string]any{"type": "IAMUser", "accountId": awstest.Account},
			"eventTime": time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).Format(time.RFC3339), "eventSource": "kms.amazonaws.com",
			"eventName": "DisableKey", "awsRegion": awstest.Region, "requestParameters": map[string]any{"keyId": keyID},
			"responseElements": nil, "eventID": "0d6f0e4c-3a2b-4c5d-8e9f-0a1b2c3d4e5f", "eventType": "AwsApiCall",
			"recipientAccountId": awstest.Account,
			"resources":          []any{map[string]any{"accountId": awstest.Account, "type": "AWS::KMS::Key", "ARN": fx.keyARN}},
		},
	}
	b, _ := json.Marshal(event)
	pointAt(t, url)
	path := filepath.Join(t.TempDir(), "disable.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "", "evaluate", "--live", "--format", "json", path)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := byRuleResource(decodeFindings(t, out))
	f, ok := got["efs_kms_key_available "+fx.keyARN]
	if !ok {
		t.Fatalf("no availability finding: %s", out)
	}
	slices.Sort(f.FileSystems)
	want := []string{fx.encryptedFS, fx.secondFS}
	slices.Sort(want)
	if f.Status != finding.NonCompliant || !slices.Equal(f.FileSystems, want) || f.EventName != "DisableKey" {
		t.Errorf("finding = %s %v after %s (%s), want NON_COMPLIANT protecting %v", f.Status, f.FileSystems, f.EventName, f.Reason, want)
	}
	// Offline, the same event alone knows no file system: nothing to judge.
	out, _, _ = runCLI(t, "", "evaluate", "--format", "json", path)
	if off := byRuleResource(decodeFindings(t, out))["efs_kms_key_available "+fx.keyARN]; off.Status != finding.NotApplicable {
		t.Errorf("offline finding = %s, want NOT_APPLICABLE: %s", off.Status, off.Reason)
	}
}

// TestSweepVerifiesKeysOnMoto runs the envelope round trip through moto's
// KMS for the key that protects file systems.
func TestSweepVerifiesKeysOnMoto(t *testing.T) {
	url := awstest.Moto(t)
	fx := seed(t, url)
	pointAt(t, url)
	out, stderr, code := runCLI(t, "", "sweep", "--format", "json", "--regions", awstest.Region, "--verify-keys", "--metrics", "emf")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	v := byRuleResource(decodeFindings(t, out))["efs_kms_key_verified "+fx.keyARN]
	if v.Status != finding.Compliant || !strings.Contains(v.Reason, "envelope round trip succeeded") {
		t.Errorf("verification finding = %s %q", v.Status, v.Reason)
	}
	if !strings.Contains(stderr, `"KeyVerifications"`) || !strings.Contains(stderr, `"Outcome":"verified"`) {
		t.Errorf("no KeyVerifications metric in the EMF output:\n%s", stderr)
	}
}
