package inventory

import (
	"context"
	"fmt"
	"testing"

	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// The live store cannot know who created a file system (DescribeFileSystems
// does not say), so the key policy rule must decide without the creator:
// only a policy that decides for every principal of the account gives a
// verdict; one that names principals is NOT_APPLICABLE, never a pass.
func TestLiveStoreUnknownCreatorNeverPasses(t *testing.T) {
	e, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const rule = "efs_kms_key_policy_grants_efs"
	// keyA protects fs-a and fs-b; the verdict is the same for both.
	both := func(what string) string {
		return fmt.Sprintf("for fs-a (creator unknown): %s; for fs-b (creator unknown): %s", what, what)
	}
	actions := "kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"
	tests := []struct {
		name   string
		policy string
		want   finding.Status
		reason string
	}{
		{"the default key policy leaves the decision to IAM",
			`{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"}]}`,
			finding.Compliant,
			both("statement Enable IAM User Permissions allows account " + testAccount + " as a whole, so its IAM identity policies decide (the key policy does not block EFS): " + actions)},
		{"a policy naming one role cannot be judged",
			`{"Statement":[{"Sid":"App","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:role/app"},"Action":"kms:*","Resource":"*"}]}`,
			finding.NotApplicable,
			"whether the key policy lets EFS use the key is unknown: " +
				both("statement App may allow (it names principals the requester may or may not be) "+actions)},
		{"a Deny to everyone blocks whoever created it",
			`{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + testAccount + `:root"},"Action":"kms:*","Resource":"*"},{"Sid":"NoDecrypt","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}`,
			finding.NonCompliant,
			"key policy blocks EFS: " + both("statement NoDecrypt denies kms:Decrypt")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.kms.keys[keyA].md.KeyState = kmstypes.KeyStateEnabled
			f.kms.keys[keyA].policy = tc.policy
			ctx := context.Background()
			in, _, err := pipeline.BuildInput(ctx, f.live, state.ResourceRef{Type: state.TypeKey, ARN: keyA}, nil, config.Default())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range in.FileSystems {
				if r.Creator != "" || r.Account != testAccount || r.Region != testRegion {
					t.Errorf("file system ref %+v: want no creator, account %s, region %s", r, testAccount, testRegion)
				}
			}
			results, err := e.Evaluate(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				if r.Rule != rule {
					continue
				}
				if r.Status != tc.want || r.Reason != tc.reason {
					t.Errorf("%s = %s %q\nwant %s %q", rule, r.Status, r.Reason, tc.want, tc.reason)
				}
				return
			}
			t.Fatalf("no %s result in %v", rule, results)
		})
	}
}
