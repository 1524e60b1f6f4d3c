package envelope

import (
	"slices"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
)

type fakeRules map[string]policy.RuleMeta

func (f fakeRules) Meta(id string) (policy.RuleMeta, bool) { m, ok := f[id]; return m, ok }

func TestFinding(t *testing.T) {
	rules := fakeRules{RuleID: {
		ID: RuleID, Title: "T", Severity: "HIGH", ResourceType: "AWS::KMS::Key", Remediation: "R", Controls: []string{"C"},
	}}
	at := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	base := Result{Key: arnA, KeyARN: arnA, AlgorithmSuite: "0x0478", CheckedAt: at, FileSystems: []string{testFS}}
	ok := base
	ok.OK, ok.Performed = true, true
	failed := base
	failed.Performed, failed.Reason, failed.FailedStep, failed.Detail = true, ReasonDisabled, StepEncrypt, "DisabledException: x"
	throttled := base
	throttled.Reason, throttled.FailedStep, throttled.Detail = ReasonThrottled, StepEncrypt, "ThrottlingException: slow down"

	tests := []struct {
		name   string
		r      Result
		status finding.Status
		reason string
	}{
		{"compliant", ok, finding.Compliant, "envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite 0x0478, Decrypt; the key protects " + testFS},
		{"non-compliant", failed, finding.NonCompliant, "envelope round trip failed at step encrypt: disabled (DisabledException: x); the key protects " + testFS},
		{"inconclusive", throttled, finding.Error, "key verification could not be completed: throttled (ThrottlingException: slow down)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Finding(tt.r, rules, "verify")
			if err != nil {
				t.Fatal(err)
			}
			if f.Status != tt.status || f.Reason != tt.reason || f.Rule != RuleID || f.Resource != arnA ||
				f.Account != "111122223333" || f.Region != "us-east-1" || f.Title != "T" || f.Severity != "HIGH" ||
				f.Remediation != "R" || !slices.Equal(f.Controls, []string{"C"}) || f.ResourceType != "AWS::KMS::Key" ||
				!slices.Equal(f.FileSystems, []string{testFS}) || f.Source != "verify" || f.ID == "" {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
	if _, err := Finding(ok, fakeRules{}, "verify"); err == nil {
		t.Fatal("Finding without the rule's metadata: want an error")
	}
}

func TestKeyPolicySnippet(t *testing.T) {
	st := KeyPolicyStatements("arn:aws:iam::111122223333:role/verifier")
	cond := st[0]["Condition"].(map[string]any)["StringEquals"].(map[string]any)
	if len(st) != 2 || cond["kms:EncryptionContext:atrest-purpose"] != "key-verification" ||
		!slices.Equal(st[0]["Action"].([]string), []string{"kms:GenerateDataKey", "kms:Decrypt"}) ||
		st[1]["Action"] != "kms:DescribeKey" || st[1]["Condition"] != nil {
		t.Fatalf("statements = %v", st)
	}
	if s := KeyPolicySnippet("arn:aws:iam::111122223333:role/verifier"); len(s) < 100 || s[0] != '[' {
		t.Fatalf("snippet = %q", s)
	}
}
