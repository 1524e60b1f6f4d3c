package keyverify

import "encoding/json"

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
