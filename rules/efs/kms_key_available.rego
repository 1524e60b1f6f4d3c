# METADATA
# title: KMS key protecting EFS is usable by EFS
# description: >-
#   EFS needs its KMS key enabled, and an active grant, to read and write an
#   encrypted file system. A key that is disabled, scheduled for deletion,
#   waiting for imported key material (deleted or expired) or in a
#   disconnected custom key store, a key KMS deleted, or an EFS grant for a
#   live file system revoked or retired with no active one left, makes the
#   file system's data unreadable.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/grants.html
#   - ref: https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-3
# custom:
#   id: efs_kms_key_available
#   severity: CRITICAL
#   resource_type: AWS::KMS::Key
#   remediation_action: restore_key_availability
#   remediation: >-
#     Re-enable the key (EnableKey), cancel a scheduled deletion
#     (CancelKeyDeletion, then EnableKey), import the key material, or
#     reconnect the custom key store. A revoked or retired EFS grant cannot be
#     restored by hand, nor a deleted key: contact AWS Support or restore the
#     file system from a backup encrypted with a usable key.
#   triggers:
#     - CancelKeyDeletion
#     - ConnectCustomKeyStore
#     - CreateFileSystem
#     - CreateGrant
#     - CreateKey
#     - CreateReplicationConfiguration
#     - DeleteExpiredKeyMaterial
#     - DeleteFileSystem
#     - DeleteImportedKeyMaterial
#     - DeleteKey
#     - DeleteReplicationConfiguration
#     - DisableKey
#     - DisconnectCustomKeyStore
#     - EnableKey
#     - ImportKeyMaterial
#     - ReplicateKey
#     - RetireGrant
#     - RevokeGrant
#     - ScheduleKeyDeletion
#     - UpdatePrimaryRegion
#   controls:
#     - AWS Security Hub KMS.3
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_available

import data.atrest.lib.key
import data.atrest.lib.report

# results holds this rule's one result for a key.
results contains {"rule": "efs_kms_key_available", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
}

unusable_states := {
	"Disabled": "key state is Disabled",
	"PendingDeletion": "key state is PendingDeletion (deletion scheduled)",
	"PendingImport": "key state is PendingImport (no key material imported)",
	"Unavailable": "key state is Unavailable (custom key store disconnected)",
}

# problems lists each reason EFS cannot use the key.
problems contains unusable_states[key.state] if not deleted

problems contains "key was deleted (its scheduled deletion completed)" if deleted

# deleted holds once KMS deleted the key: nothing it protects can be
# decrypted again.
deleted if input.key.deleted == true

problems contains sprintf(
	"EFS grant %s for file system %s is %s and no active EFS grant remains",
	[grant.grant_id, grant.file_system_id, grant.state],
) if {
	some grant in input.key.grants
	grant.efs == true
	grant.file_system_id in key.file_system_ids
	grant.state in {"revoked", "retired"}
	not grant.retired_after_delete == true
	not grant.file_system_id in active_grants
}

# active_grants holds the file systems that still have an active EFS grant.
active_grants contains grant.file_system_id if {
	some grant in input.key.grants
	grant.efs == true
	grant.state == "active"
}

# The usual outcome is tried first. Its body holds exactly when no branch
# after it would, so those keep the scope-first order and need no default.
verdict := {"status": "COMPLIANT", "reason": sprintf("key state is %s and no EFS grant of its file systems is revoked or retired", [key.state])} if {
	key.protects_file_systems
	key.state != ""
	count(problems) == 0
} else := key.unused if {
	not key.protects_file_systems
} else := {"status": "NON_COMPLIANT", "reason": report.join(problems)} if {
	count(problems) > 0
} else := {"status": "NOT_APPLICABLE", "reason": "key state is unknown"} if {
	key.state == ""
}
