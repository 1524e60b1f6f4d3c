package envelope

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
)

// RuleID is the id of the rule that judges a verification
// (rules/kms/key_verified.rego).
const RuleID = "efs_kms_key_verified"

// RuleMetadata reads a rule's METADATA; *policy.Engine satisfies it.
type RuleMetadata interface {
	Meta(id string) (policy.RuleMeta, bool)
}

var _ RuleMetadata = (*policy.Engine)(nil)

// Finding turns a result into the finding of rule efs_kms_key_verified, with
// the title, severity, remediation and controls of the rule's METADATA. The
// status follows the rule: COMPLIANT when the round trip succeeded,
// NON_COMPLIANT when it failed for a reason that concerns the key, and ERROR
// when the attempt itself failed (throttled, canceled, a network or KMS
// internal error), where the rule, which only sees performed
// verifications, says NOT_APPLICABLE.
func Finding(r Result, rules RuleMetadata, source string) (finding.Finding, error) {
	meta, ok := rules.Meta(RuleID)
	if !ok {
		return finding.Finding{}, fmt.Errorf("rule %s is not in the rule set", RuleID)
	}
	resource := r.KeyARN
	if resource == "" {
		resource = r.Key
	}
	f := finding.Finding{
		Rule:         RuleID,
		Resource:     resource,
		ResourceType: meta.ResourceType,
		Title:        meta.Title,
		Severity:     meta.Severity,
		Remediation:  meta.Remediation,
		Controls:     slices.Clone(meta.Controls),
		FileSystems:  slices.Clone(r.FileSystems),
		Source:       source,
		EventTime:    r.CheckedAt,
	}
	if f.Controls == nil {
		f.Controls = []string{}
	}
	if a, ok := arns.Parse(resource); ok {
		f.Account, f.Region = a.AccountID, a.Region
	}
	f.Status, f.Reason = StatusReason(r)
	f.ID = finding.StableID(f.Rule, f.Resource, "verify:"+r.CheckedAt.UTC().Format("2006-01-02T15:04:05.000000000Z"))
	return f, nil
}

// StatusReason is the status and reason the rule gives for a result.
func StatusReason(r Result) (finding.Status, string) {
	protects := ""
	if len(r.FileSystems) > 0 {
		protects = "; the key protects " + strings.Join(r.FileSystems, ", ")
	}
	switch {
	case r.OK:
		return finding.Compliant, fmt.Sprintf("envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite %s, Decrypt%s", r.AlgorithmSuite, protects)
	case r.Performed:
		return finding.NonCompliant, fmt.Sprintf("envelope round trip failed at step %s: %s (%s)%s", r.FailedStep, r.Reason, r.Detail, protects)
	default:
		return finding.Error, fmt.Sprintf("key verification could not be completed: %s (%s)", r.Reason, r.Detail)
	}
}

// KeyPolicyStatements are the key-policy statements that let principalARN
// verify a key and do nothing else with it: GenerateDataKey and Decrypt only
// with the verifier's encryption context, and DescribeKey. DescribeKey
// carries no encryption context, so it gets a statement of its own (an
// encryption-context condition would always deny it).
func KeyPolicyStatements(principalARN string) []map[string]any {
	principal := map[string]any{"AWS": principalARN}
	return []map[string]any{
		{
			"Sid":       "AtrestKeyVerificationRoundTrip",
			"Effect":    "Allow",
			"Principal": principal,
			"Action":    []string{"kms:GenerateDataKey", "kms:Decrypt"},
			"Resource":  "*",
			"Condition": map[string]any{
				"StringEquals": map[string]any{"kms:EncryptionContext:" + ContextPurposeKey: ContextPurpose},
			},
		},
		{
			"Sid":       "AtrestKeyVerificationDescribe",
			"Effect":    "Allow",
			"Principal": principal,
			"Action":    "kms:DescribeKey",
			"Resource":  "*",
		},
	}
}

// KeyPolicySnippet is KeyPolicyStatements as indented JSON, ready to paste
// into a key policy's Statement list.
func KeyPolicySnippet(principalARN string) string {
	b, err := json.MarshalIndent(KeyPolicyStatements(principalARN), "", "  ")
	if err != nil { // maps of strings always marshal
		return ""
	}
	return string(b)
}
