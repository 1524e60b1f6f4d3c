package lambdafn_test

import (
	"bytes"
	"context"
	"regexp"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
)

// Credentials the functions run with under the emulator; no log line may
// hold them.
const (
	testSecretKey    = "atrest-test-secret-key-must-never-be-logged"
	testSessionToken = "atrest-test-session-token-must-never-be-logged"
)

// awsEnv points a function at moto: the SDK honours AWS_ENDPOINT_URL.
func awsEnv(endpoint string) map[string]string {
	return map[string]string{
		lambdafn.EnvStore: lambdafn.StoreLive, lambdafn.EnvMetrics: lambdafn.MetricsEMF,
		lambdafn.EnvRegion: awstest.Region, lambdafn.EnvAccount: awstest.Account,
		lambdafn.EnvFindingsBus: "atrest-findings",
		"AWS_ENDPOINT_URL":      endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": testSecretKey,
		"AWS_SESSION_TOKEN":  testSessionToken,
		"AWS_DEFAULT_REGION": awstest.Region, "AWS_MAX_ATTEMPTS": "2",
	}
}

// sweepRules are the rules whose sweep findings the test lists exactly.
var sweepRules = map[string]bool{
	"efs_encrypted_at_rest": true, "efs_encryption_in_transit_enforced": true,
	"efs_kms_key_available": true, "efs_kms_key_policy_grants_efs": true,
	"efs_kms_key_symmetric": true, "kms_key_rotation_enabled": true,
	"cloudtrail_monitoring_intact": true, "efs_kms_key_verified": true,
}

func TestSweepUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("atrest-findings")}); err != nil {
		t.Fatal(err)
	}
	key, err := kms.NewFromConfig(cfg).CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	keyARN := aws.ToString(key.KeyMetadata.Arn)
	fsc := efs.NewFromConfig(cfg)
	plain, err := fsc.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("atrest-plain"), Encrypted: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := fsc.CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("atrest-enc"), Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyARN)})
	if err != nil {
		t.Fatal(err)
	}
	plainARN, encARN := aws.ToString(plain.FileSystemArn), aws.ToString(enc.FileSystemArn)

	env := awsEnv(endpoint)
	env[lambdafn.EnvVerifyKeys] = "true"
	fn := startFunction(t, lambdafn.FunctionSweep, env)
	first := fn.invokeFile(t, "sweep-scheduled.json")
	second := fn.invokeFile(t, "sweep-scheduled.json")
	logTiming(t, lambdafn.FunctionSweep, []result{first, second})
	for i, r := range []result{first, second} {
		if string(r.Response) != "null" {
			t.Fatalf("sweep %d: response %s", i, r.Response)
		}
		var got []string
		for _, f := range r.Findings {
			if !sweepRules[f.Rule] {
				// A rule added since (the verifier's) has nothing to go
				// on in a sweep.
				if f.Status != finding.NotApplicable {
					t.Errorf("rule %s: %s for %s, want NOT_APPLICABLE", f.Rule, f.Status, f.Resource)
				}
				continue
			}
			got = append(got, f.Rule+" "+string(f.Status)+" "+f.Resource)
			if f.Source != "sweep" || f.EventID != "" {
				t.Errorf("sweep finding %s has source %q, event %q", f.ID, f.Source, f.EventID)
			}
		}
		sort.Strings(got)
		want := []string{
			"efs_encrypted_at_rest COMPLIANT " + encARN,
			"efs_encrypted_at_rest NON_COMPLIANT " + plainARN,
			"efs_encryption_in_transit_enforced NON_COMPLIANT " + plainARN,
			"efs_encryption_in_transit_enforced NON_COMPLIANT " + encARN,
			"efs_kms_key_available COMPLIANT " + keyARN,
			"efs_kms_key_policy_grants_efs COMPLIANT " + keyARN,
			"efs_kms_key_symmetric COMPLIANT " + keyARN,
			"efs_kms_key_verified COMPLIANT " + keyARN,
			"kms_key_rotation_enabled NON_COMPLIANT " + keyARN,
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("sweep %d findings\n got %q\nwant %q", i, got, want)
		}
		if s := status(r.Findings, "efs_encrypted_at_rest", plainARN); s != finding.NonCompliant {
			t.Errorf("unencrypted file system: %q, want NON_COMPLIANT", s)
		}
		if s := status(r.Findings, "efs_encrypted_at_rest", encARN); s != finding.Compliant {
			t.Errorf("encrypted file system: %q, want COMPLIANT", s)
		}
		if s := status(r.Findings, "kms_key_rotation_enabled", keyARN); s != finding.NonCompliant {
			t.Errorf("key with rotation off: %q, want NON_COMPLIANT", s)
		}
		if v, ok := emfValue(r.EMF, "NonCompliantResources", "Rule", "efs_encrypted_at_rest"); !ok || v != 1.0 {
			t.Errorf("NonCompliantResources{efs_encrypted_at_rest} = %v, want 1", v)
		}
		if v, ok := emfValue(r.EMF, "NonCompliantResources", "Rule", "efs_kms_key_symmetric"); !ok || v != 0.0 {
			t.Errorf("NonCompliantResources{efs_kms_key_symmetric} = %v, want 0", v)
		}
		if v, ok := emfValue(r.EMF, "KeyVerifications", "Outcome", "verified"); !ok || v != 1.0 {
			t.Errorf("KeyVerifications{verified} = %v, want 1", v)
		}
		if l := hasLog(r, "findings not delivered"); l != nil {
			t.Errorf("findings not delivered: %v", l)
		}
		// The first sweep's NON_COMPLIANT verdicts are news (the ledger's
		// transitions); the second restates them and publishes nothing.
		switch l := delivered(r, "event_bus"); {
		case i == 0 && (l == nil || l["delivered"] != 4.0):
			t.Errorf("first sweep: %v published, want the 4 NON_COMPLIANT findings", l)
		case i == 1 && l != nil:
			t.Errorf("second sweep published %v: restatements are never published", l)
		}
	}
}

// The key and file system the remediate sample events name; the test
// replaces them with the ids moto gives the resources it creates.
const (
	sampleKeyID        = "0a7e5700-0000-4000-8000-00000000a001"
	sampleFileSystemID = "fs-0remediate00000001"
)

func TestRemediateUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("atrest-findings")}); err != nil {
		t.Fatal(err)
	}
	kc := kms.NewFromConfig(cfg)
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	keyID := aws.ToString(key.KeyMetadata.KeyId)
	fs, err := efs.NewFromConfig(cfg).CreateFileSystem(ctx, &efs.CreateFileSystemInput{CreationToken: aws.String("atrest-remediate"), Encrypted: aws.Bool(false)})
	if err != nil {
		t.Fatal(err)
	}
	// The samples' events are made fresh: remediate refuses stale ones.
	eventTime := regexp.MustCompile(`"time": "[^"]*"`)
	sample := func(name string) []byte {
		b := readEvent(t, name)
		b = eventTime.ReplaceAll(b, []byte(`"time": "`+time.Now().UTC().Format(time.RFC3339)+`"`))
		b = bytes.ReplaceAll(b, []byte(sampleKeyID), []byte(keyID))
		return bytes.ReplaceAll(b, []byte(sampleFileSystemID), []byte(aws.ToString(fs.FileSystemId)))
	}
	rotation := func() bool {
		t.Helper()
		out, err := kc.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(keyID)})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyRotationEnabled
	}

	type outcome struct{ action, result string }
	remediationLog := func(r result) outcome {
		l := hasLog(r, "remediation")
		if l == nil {
			t.Fatalf("no remediation line: %v", r.Logs)
		}
		a, _ := l["action"].(string)
		res, _ := l["result"].(string)
		return outcome{a, res}
	}

	// A dry run: nothing opted in.
	dry := startFunction(t, lambdafn.FunctionRemediate, awsEnv(endpoint))
	var timings []result
	for _, tc := range []struct {
		event string
		want  outcome
	}{
		{"remediate-kms-rotation-off.json", outcome{"enable_key_rotation", "dry_run"}},
		{"remediate-efs-unencrypted.json", outcome{"tag_unencrypted_file_system", "dry_run"}},
		{"remediate-compliant-skipped.json", outcome{"enable_key_rotation", "skipped"}},
	} {
		r := dry.invoke(t, sample(tc.event))
		timings = append(timings, r)
		if string(r.Response) != "null" {
			t.Errorf("%s: response %s", tc.event, r.Response)
		}
		if got := remediationLog(r); got != tc.want {
			t.Errorf("%s: outcome %+v, want %+v", tc.event, got, tc.want)
		}
	}
	logTiming(t, lambdafn.FunctionRemediate, timings)
	if rotation() {
		t.Fatal("a dry run turned rotation on")
	}
	// An event that is not a finding is dropped, not retried.
	if r := dry.invokeFile(t, "01-eventbridge-kms-createkey-symmetric.json"); string(r.Response) != "null" || hasLog(r, "not a finding event, dropped") == nil {
		t.Errorf("CloudTrail event: response %s, logs %v", r.Response, r.Logs)
	}

	// Opted in: the key's rotation is turned on.
	env := awsEnv(endpoint)
	env[lambdafn.EnvRemediate] = "enable_key_rotation"
	live := startFunction(t, lambdafn.FunctionRemediate, env)
	r := live.invoke(t, sample("remediate-kms-rotation-off.json"))
	if got := remediationLog(r); got != (outcome{"enable_key_rotation", "applied"}) {
		t.Errorf("opted in: outcome %+v, want applied", got)
	}
	if !rotation() {
		t.Error("rotation still off after an applied remediation")
	}

	// Forged deliveries are refused by the deployed wiring: the same event
	// again, and one put in another account.
	if _, err := kc.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(keyID)}); err != nil {
		t.Fatal(err)
	}
	replayed := live.invoke(t, sample("remediate-kms-rotation-off.json"))
	otherAccount := bytes.Replace(sample("remediate-kms-rotation-off.json"), []byte(`"id": "7f0c2a4e`), []byte(`"id": "00000000`), 1)
	otherAccount = bytes.Replace(otherAccount, []byte("\n  \"account\": \"123456789012\""), []byte("\n  \"account\": \"999999999999\""), 1)
	forged := live.invoke(t, otherAccount)
	for _, tc := range []struct {
		name   string
		r      result
		reason string
	}{
		{"replayed", replayed, "event 7f0c2a4e-5b1d-4c8e-9a3f-000000000101 was handled already (a replay)"},
		{"other account", forged, `event put in account "999999999999", not the stack's account 123456789012`},
	} {
		l := hasLog(tc.r, "remediation")
		if l == nil || l["result"] != "refused" || l["reason"] != tc.reason {
			t.Errorf("%s: remediation line %v, want refused %q", tc.name, l, tc.reason)
		}
	}
	if rotation() {
		t.Error("a forged event turned rotation on")
	}
}
