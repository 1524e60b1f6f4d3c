# METADATA
# title: KMS key protecting EFS is a symmetric encryption key
# description: >-
#   EFS encrypts at rest only with symmetric encryption KMS keys (key spec
#   SYMMETRIC_DEFAULT, key usage ENCRYPT_DECRYPT). A file system whose key is
#   any other kind cannot read or write its data.
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
#   controls:
#     - NIST 800-53 SC-12
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_symmetric

import data.atrest.lib.key
import data.atrest.lib.report

# results holds this rule's one result for a key.
results contains report.result(meta.id, verdict) if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
	some link in rego.metadata.chain()
	meta := link.annotations.custom
	input.resource_type == meta.resource_type
}

spec := key.field("key_spec")

usage := key.field("key_usage")

verdict := key.unused if {
	not key.protects_file_systems
} else := report.not_applicable("key spec is unknown") if {
	spec == ""
} else := report.non_compliant(sprintf(
	"key spec is %s, not SYMMETRIC_DEFAULT, but the key protects %s",
	[spec, key.file_systems],
)) if {
	spec != "SYMMETRIC_DEFAULT"
} else := report.not_applicable("key spec is SYMMETRIC_DEFAULT but key usage is unknown") if {
	usage == ""
} else := report.non_compliant(sprintf(
	"key usage is %s, not ENCRYPT_DECRYPT, but the key protects %s",
	[usage, key.file_systems],
)) if {
	usage != "ENCRYPT_DECRYPT"
} else := report.compliant(sprintf(
	"key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT and protects %s",
	[key.file_systems],
))
