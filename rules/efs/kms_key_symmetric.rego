# METADATA
# title: KMS key protecting EFS is a symmetric encryption key
# description: >-
#   EFS encrypts at rest only with symmetric encryption KMS keys (key spec
#   SYMMETRIC_DEFAULT, key usage ENCRYPT_DECRYPT). A file system whose key is
#   any other kind cannot read or write its data. A SYMMETRIC_DEFAULT key
#   whose usage is missing has ENCRYPT_DECRYPT usage: the spec allows no other.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
# custom:
#   id: efs_kms_key_symmetric
#   severity: HIGH
#   resource_type: AWS::KMS::Key
#   remediation: >-
#     Create a symmetric encryption KMS key (key spec SYMMETRIC_DEFAULT, key
#     usage ENCRYPT_DECRYPT) and create the file system with it; a file
#     system's key cannot be changed after creation, so migrate the data to a
#     new file system.
#   triggers:
#     - CreateFileSystem
#     - CreateKey
#     - CreateReplicationConfiguration
#     - DeleteFileSystem
#     - DeleteKey
#     - DeleteReplicationConfiguration
#     - ReplicateKey
#     - UpdatePrimaryRegion
#   controls:
#     - NIST 800-53 SC-12
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_symmetric

import data.atrest.lib.key

# results holds this rule's one result for a key.
results contains {"rule": "efs_kms_key_symmetric", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
}

# The usual outcome is tried first. Its body holds exactly when no branch
# after it would, so those keep the scope-first order and need no default.
verdict := {"status": "COMPLIANT", "reason": "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT"} if {
	key.protects_file_systems
	input.key.key_spec == "SYMMETRIC_DEFAULT"
	key.usage == "ENCRYPT_DECRYPT"
} else := key.unused if {
	not key.protects_file_systems
} else := {"status": "NOT_APPLICABLE", "reason": "key spec is unknown"} if {
	key.spec == ""
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"key spec is %s, not SYMMETRIC_DEFAULT",
	[key.spec],
)} if {
	key.spec != "SYMMETRIC_DEFAULT"
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"key usage is %s, not ENCRYPT_DECRYPT",
	[key.usage],
)} if {
	key.usage != "ENCRYPT_DECRYPT"
}
