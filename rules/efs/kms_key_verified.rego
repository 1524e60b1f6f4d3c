# METADATA
# title: KMS key protecting EFS passes an envelope-encryption round trip
# description: >-
#   Proves that the key works, not only that its metadata looks right: the
#   verifier encrypts a random canary with the AWS Encryption SDK under an
#   AWS KMS keyring on the key (GenerateDataKey, AES-256-GCM with key
#   commitment), checks that the message holds exactly one data key wrapped
#   by exactly that key and the encryption context it asked for, decrypts it
#   (Decrypt) and compares the canary. A key that is disabled, scheduled for
#   deletion, unavailable, not a symmetric encryption key, or that the
#   verifier may not use, fails, with the KMS error that said so.
# related_resources:
#   - ref: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/use-kms-keyring.html
#   - ref: https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/supported-algorithms.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developer-guide/key-state.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developer-guide/conditions-kms.html#conditions-kms-encryption-context
# custom:
#   id: efs_kms_key_verified
#   severity: CRITICAL
#   resource_type: AWS::KMS::Key
#   requires: key_verification
#   remediation: >-
#     Act on the reason: enable a disabled key (EnableKey); cancel a scheduled
#     deletion (CancelKeyDeletion, then EnableKey); reconnect a custom key
#     store; give the verifier role the statements `atrest verify-key
#     --policy-snippet` prints when access was denied; replace a key that is
#     not a symmetric encryption key. A wrong key, a context mismatch or a
#     tampered message means the KMS answer cannot be trusted: investigate
#     the key's CloudTrail history.
#   controls:
#     - NIST 800-53 SC-12
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_verified

import data.atrest.lib.key

# results holds this rule's one result for a key.
results contains {"rule": "efs_kms_key_verified", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
}

# verification is the input's verification outcome, null when absent.
default verification := null

verification := input.verification

# field is a string field of verification, "" when absent.
default field(_, _) := ""

field(verification, name) := v if {
	v := verification[name]
	is_string(v)
}

# protects names the file systems for a reason, "" when there are none.
# Only the verdicts of a round trip that ran name them, and those need a
# verification outcome: the key's file systems are referred to only after
# one of its members, so a key with no outcome is remembered whatever file
# systems it protects (rules/README.md, "What a rule reads, and the
# engine's memo").
default protects := ""

protects := sprintf("; the key protects %s", [key.file_systems]) if {
	some _ in input.verification
	key.protects_file_systems
}

verdict := {"status": "NOT_APPLICABLE", "reason": "no envelope round trip was performed for the key"} if {
	not input.verification.performed == true
	field(verification, "reason") == ""
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("the envelope round trip could not be completed: %s (%s)", [field(verification, "reason"), field(verification, "detail")])} if {
	not input.verification.performed == true
} else := {"status": "COMPLIANT", "reason": sprintf(
	"envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite %s, Decrypt%s",
	[field(verification, "algorithm_suite"), protects],
)} if {
	input.verification.ok == true
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"envelope round trip failed at step %s: %s (%s)%s",
	[field(verification, "step"), field(verification, "reason"), field(verification, "detail"), protects],
)}
