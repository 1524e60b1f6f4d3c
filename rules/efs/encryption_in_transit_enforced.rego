# METADATA
# title: EFS file-system policy enforces encryption in transit
# description: >-
#   Data encrypted at rest on EFS is only as safe as the path to it. The
#   file-system policy must deny every request made without TLS, with a Deny
#   statement conditioned on aws:SecureTransport being false.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-in-transit.html
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
# custom:
#   id: efs_encryption_in_transit_enforced
#   severity: MEDIUM
#   resource_type: AWS::EFS::FileSystem
#   remediation: >-
#     Attach a file-system policy (PutFileSystemPolicy) with a statement that
#     denies all actions to principal * when aws:SecureTransport is false, and
#     mount with the EFS mount helper's tls option.
#   controls:
#     - NIST 800-53 SC-8
package atrest.efs.encryption_in_transit_enforced

import data.atrest.lib.iam
import data.atrest.lib.report

# results holds this rule's one result for a file system.
results contains {"rule": meta.id, "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::EFS::FileSystem" # a constant, so rule indexing skips other types
	some link in rego.metadata.chain()
	meta := link.annotations.custom
	input.resource_type == meta.resource_type
}

fs := input.file_system

# The usual outcome is tried first; its body implies that no branch after it
# but the one giving the same verdict would apply.
verdict := compliant if {
	not fs.deleted == true
	count(enforcing) > 0
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("file system %s is not known", [input.resource])} if {
	not is_object(fs)
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("file system %s is deleted", [fs.id])} if {
	fs.deleted == true
} else := {"status": "NOT_APPLICABLE", "reason": sprintf(
	"file system %s: whether it has a file-system policy is unknown",
	[fs.id],
)} if {
	fs.policy == null
	fs.policy_known == false
} else := {"status": "NON_COMPLIANT", "reason": sprintf("file system %s has no file-system policy", [fs.id])} if {
	fs.policy == null
} else := compliant if {
	count(enforcing) > 0
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"file-system policy of %s has no Deny statement with condition aws:SecureTransport false",
	[fs.id],
)}

compliant := {"status": "COMPLIANT", "reason": sprintf(
	"file-system policy of %s denies requests with aws:SecureTransport false (%s)",
	[fs.id, report.join(enforcing)],
)}

# enforcing names the statements that deny requests made without TLS.
enforcing contains name if {
	some i, statement in iam.statements(fs.policy)
	statement.Effect == "Deny"
	some operator in {"Bool", "BoolIfExists"}
	some key, value in object.get(statement, ["Condition", operator], {})
	lower(key) == "aws:securetransport"
	some v in iam.as_list(value)
	is_false(v)
	name := statement_name(statement, i)
}

is_false(v) if v == false

is_false(v) if {
	is_string(v)
	lower(v) == "false"
}

statement_name(statement, i) := sprintf("statement %s", [statement.Sid]) if {
	is_string(statement.Sid)
	statement.Sid != ""
} else := sprintf("statement %d", [i])
