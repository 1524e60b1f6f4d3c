package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
)

// TestSweep200OnMoto seeds 200 keys (rotation on for even ones) and 200
// file systems (every fourth unencrypted, the others each encrypted with
// their own key: 150 keys in use), sweeps them through the whole pipeline,
// and checks every one of the 1,400 findings and the number of KMS reads:
// metadata and rotation of every key, policy and grants of the 150 keys in
// use only.
func TestSweep200OnMoto(t *testing.T) {
	const n = 200
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	ctx := context.Background()
	seedCfg := awstest.Config(t, url)
	k, e := kms.NewFromConfig(seedCfg), efs.NewFromConfig(seedCfg)
	want := map[string]finding.Status{}
	start := time.Now()
	for i := range n {
		key, err := k.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
		if err != nil {
			t.Fatal(err)
		}
		keyARN := aws.ToString(key.KeyMetadata.Arn)
		rotation := finding.NonCompliant
		if i%2 == 0 {
			if _, err := k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: key.KeyMetadata.KeyId}); err != nil {
				t.Fatal(err)
			}
			rotation = finding.Compliant
		}
		want["kms_key_rotation_enabled "+keyARN] = rotation
		want["efs_kms_key_verified "+keyARN] = finding.NotApplicable
		in := &efs.CreateFileSystemInput{CreationToken: aws.String(fmt.Sprintf("fs-%d", i)), Encrypted: aws.Bool(i%4 != 0)}
		if i%4 != 0 {
			in.KmsKeyId = aws.String(keyARN)
		}
		fsARN, err := awstest.CreateFileSystem(ctx, e, in)
		if err != nil {
			t.Fatal(err)
		}
		want["efs_encryption_in_transit_enforced "+fsARN] = finding.NonCompliant // no policy
		keyRules := finding.NotApplicable                                        // protects nothing
		if i%4 == 0 {
			want["efs_encrypted_at_rest "+fsARN] = finding.NonCompliant
		} else {
			want["efs_encrypted_at_rest "+fsARN] = finding.Compliant
			keyRules = finding.Compliant
		}
		for _, rule := range []string{"efs_kms_key_available", "efs_kms_key_symmetric", "efs_kms_key_policy_grants_efs"} {
			want[rule+" "+keyARN] = keyRules
		}
	}
	t.Logf("seeded %d keys and %d file systems in %s", n, n, time.Since(start).Round(time.Millisecond))

	var calls awstest.Calls
	cfg := awstest.Config(t, url)
	calls.Install(&cfg)
	live := inventory.NewLive(inventory.Options{Clients: inventory.NewAccounts(inventory.AccountsOptions{Config: cfg})})
	engine, err := policy.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.Finding{}
	h, err := monitor.New(monitor.Options{
		Pipeline: pipeline.Options{Store: live, Engine: engine, Config: config.Default()},
		OnFinding: func(_ context.Context, f finding.Finding) error {
			got[f.Rule+" "+f.Resource] = f
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	res, err := h.Start(metrics.SourceSweep).Sweep(ctx, live, []string{awstest.Region})
	if err != nil || len(res.Errors) > 0 {
		t.Fatalf("sweep: %v %v", err, res.Errors)
	}
	t.Logf("sweep and evaluation of %d resources: %s; DescribeKey %d, GetKeyRotationStatus %d, GetKeyPolicy %d, ListGrants %d, DescribeFileSystems %d",
		len(res.Refs), time.Since(start).Round(time.Millisecond), calls.Get("DescribeKey"), calls.Get("GetKeyRotationStatus"),
		calls.Get("GetKeyPolicy"), calls.Get("ListGrants"), calls.Get("DescribeFileSystems"))
	wrong := 0
	for k, st := range want {
		if f, ok := got[k]; !ok || f.Status != st {
			if wrong++; wrong <= 10 {
				t.Errorf("%s = %s (%s), want %s", k, f.Status, f.Reason, st)
			}
		}
	}
	if len(want) != 7*n || len(got) != len(want) || wrong > 0 {
		t.Errorf("%d findings, %d expected, %d wrong", len(got), len(want), wrong)
	}
	inUse := n - n/4
	for op, want := range map[string]int{"DescribeKey": n, "GetKeyRotationStatus": n, "GetKeyPolicy": inUse, "ListGrants": inUse} {
		if c := calls.Get(op); c != want {
			t.Errorf("%s calls = %d, want %d", op, c, want)
		}
	}
}
