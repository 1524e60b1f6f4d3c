# METADATA
# title: EFS file system is encrypted at rest with an acceptable KMS key
# description: >-
#   An EFS file system must be created encrypted: encryption at rest cannot be
#   turned on later. When the config requires customer managed keys, the AWS
#   managed key aws/elasticfilesystem is not acceptable; when the config lists
#   allowed key ARNs, the file system's key must be one of them. A fact such a
#   requirement needs (the key's manager, the key's ARN) that is unknown makes
#   the file system NOT_APPLICABLE, never COMPLIANT.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html
#   - ref: https://docs.aws.amazon.com/securityhub/latest/userguide/efs-controls.html#efs-1
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-mgmt
# custom:
#   id: efs_encrypted_at_rest
#   severity: HIGH
#   resource_type: AWS::EFS::FileSystem
#   remediation_action: tag_unencrypted_file_system
#   remediation: >-
#     Encryption at rest is fixed when a file system is created. Create a new
#     file system with encryption enabled and an allowed customer managed KMS
#     key, copy the data across (for example with AWS DataSync), switch clients
#     to it, and delete the old file system.
#   triggers:
#     - CreateFileSystem
#     - CreateReplicationConfiguration
#     - DeleteFileSystem
#     - DeleteReplicationConfiguration
#   controls:
#     - AWS Security Hub EFS.1
#     - CIS AWS Foundations Benchmark v3.0.0 2.4.1
#     - NIST 800-53 SC-28
package atrest.efs.encrypted_at_rest

import data.atrest.lib.file_system
import data.atrest.lib.report

# The rule reads the file system's fields through fs (input.file_system),
# never the object as a whole: see file_system.described.
import input.file_system as fs

# results holds this rule's one result for a file system.
results contains {"rule": "efs_encrypted_at_rest", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::EFS::FileSystem" # a constant, so rule indexing skips other types
}

# The usual outcome is tried first; its body implies that no branch after it
# other than the last would apply.
verdict := compliant if {
	not fs.deleted == true
	not fs.known == false
	fs.encrypted == true
	requirements_met
} else := {"status": "NOT_APPLICABLE", "reason": "file system is not known"} if {
	not file_system.described
} else := {"status": "NOT_APPLICABLE", "reason": "file system is deleted"} if {
	fs.deleted == true
} else := {"status": "NOT_APPLICABLE", "reason": "creation of the file system was not seen, so whether it is encrypted is unknown"} if {
	fs.known == false
} else := {"status": "NON_COMPLIANT", "reason": "created with encrypted=false"} if {
	fs.encrypted != true
} else := {"status": "NON_COMPLIANT", "reason": report.join(violations)} if {
	count(violations) > 0
} else := {"status": "NOT_APPLICABLE", "reason": report.join(unknowns)} if {
	count(unknowns) > 0
} else := compliant

compliant := {"status": "COMPLIANT", "reason": sprintf("encrypted with key %s", [key_ref])}

# key_ref names the file system's key as precisely as the input allows.
key_ref := fs.kms_key_arn if fs.kms_key_arn != ""

else := fs.kms_key_id if fs.kms_key_id != ""

else := default_alias

default_alias := "alias/aws/elasticfilesystem"

# aws_managed explains why the file system's key is AWS managed.
aws_managed contains sprintf("key %s has key_manager AWS", [key_ref]) if {
	input.key.key_manager == "AWS"
}

aws_managed contains sprintf("key reference %s is the AWS managed key", [ref]) if {
	some ref in {fs.kms_key_id, fs.kms_key_arn}
	names_default_alias(ref)
}

aws_managed contains sprintf("key %s has alias %s", [key_ref, default_alias]) if {
	some alias in input.key.aliases
	alias == default_alias
}

aws_managed contains sprintf("no key was given, so EFS used %s", [default_alias]) if {
	fs.kms_key_id == ""
	fs.kms_key_arn == ""
}

names_default_alias(ref) if ref == default_alias

names_default_alias(ref) if endswith(ref, concat("", [":", default_alias]))

violations contains sprintf(
	"require_customer_managed_keys is set but the file system uses an AWS managed key (%s)",
	[report.join(aws_managed)],
) if {
	input.config.require_customer_managed_keys == true
	count(aws_managed) > 0
}

allowed := {arn | some arn in input.config.allowed_kms_key_arns}

violations contains sprintf("key %s is not in allowed_kms_key_arns", [key_ref]) if {
	count(allowed) > 0
	fs.kms_key_arn != ""
	not fs.kms_key_arn in allowed
}

# requirements_met holds when the config requires nothing of the key, or
# no requirement it sets is violated or unknown. The first body spares
# evaluating violations and unknowns where nothing is configured.
requirements_met if {
	not input.config.require_customer_managed_keys == true
	count(input.config.allowed_kms_key_arns) == 0
}

requirements_met if {
	count(violations) == 0
	count(unknowns) == 0
}

# unknowns lists the facts a configured requirement needs that are not
# known. An unknown fact is never a pass: with no violation, the file system
# is NOT_APPLICABLE for as long as one remains.
unknowns contains sprintf(
	"require_customer_managed_keys is set but whether key %s is customer managed is unknown",
	[key_ref],
) if {
	input.config.require_customer_managed_keys == true
	count(aws_managed) == 0
	not input.key.key_manager == "CUSTOMER"
}

unknowns contains sprintf(
	"allowed_kms_key_arns is set but key %s is not resolved to a key ARN",
	[key_ref],
) if {
	count(allowed) > 0
	fs.kms_key_arn == ""
}
