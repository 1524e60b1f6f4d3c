package remediation

import (
	"maps"
	"slices"
	"testing"

	"github.com/atrest/atrest/internal/policy"
)

// TestDefaultRuleActions checks the rule -> action map read from the rules'
// custom.remediation_action: exactly the rules atrest remediates, each to an
// action Actions carries out.
func TestDefaultRuleActions(t *testing.T) {
	want := map[string]string{
		"efs_encrypted_at_rest":              ActionTagUnencrypted,
		"efs_encryption_in_transit_enforced": ActionRequireSecureTransport,
		"efs_kms_key_available":              ActionRestoreKey,
		"kms_key_rotation_enabled":           ActionEnableKeyRotation,
	}
	if got := DefaultRuleActions(); !maps.Equal(got, want) {
		t.Errorf("DefaultRuleActions() = %v, want %v", got, want)
	}
}

// TestRuleMetadataNamesKnownActions fails when a rule's METADATA names an
// action Actions does not carry out (DefaultRuleActions would drop it
// silently).
func TestRuleMetadataNamesKnownActions(t *testing.T) {
	metas, err := policy.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range metas {
		t.Run(m.ID, func(t *testing.T) {
			if m.RemediationAction != "" && !slices.Contains(actions, m.RemediationAction) {
				t.Errorf("custom.remediation_action %q is not one of %v", m.RemediationAction, actions)
			}
		})
	}
}
