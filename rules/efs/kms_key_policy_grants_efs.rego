# METADATA
# title: KMS key policy lets EFS use the key
# description: >-
#   EFS uses a customer managed key through the key policy: it needs
#   kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext, kms:CreateGrant and
#   kms:DescribeKey. A key policy whose Allow statements leave one of them out,
#   or that denies one to every principal without a condition, breaks the file
#   systems the key protects.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html#EFSKMSPolicy
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
# custom:
#   id: efs_kms_key_policy_grants_efs
#   severity: HIGH
#   resource_type: AWS::KMS::Key
#   remediation: >-
#     Update the key policy (PutKeyPolicy) so that the principals using EFS are
#     allowed kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext,
#     kms:CreateGrant and kms:DescribeKey, and remove any unconditional Deny of
#     these actions to principal *.
#   controls:
#     - NIST 800-53 SC-12
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_policy_grants_efs

import data.atrest.lib.iam
import data.atrest.lib.key
import data.atrest.lib.report

# results holds this rule's one result for a key.
results contains {"rule": meta.id, "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
	some link in rego.metadata.chain()
	meta := link.annotations.custom
	input.resource_type == meta.resource_type
}

# required maps each action EFS needs, in lower case, to its name.
required := {
	"kms:creategrant": "kms:CreateGrant",
	"kms:decrypt": "kms:Decrypt",
	"kms:describekey": "kms:DescribeKey",
	"kms:generatedatakeywithoutplaintext": "kms:GenerateDataKeyWithoutPlaintext",
}

required_names := {name | some name in required}

policy := input.key.policy

statements := iam.statements(policy)

# allowed names the required actions Allow statements allow. A statement
# allowing kms:* or * (the usual root statement) allows them all; otherwise
# each Allow statement's patterns are matched.
allowed := required_names if {
	some s in statements
	s.Effect == "Allow"
	is_string(s.Action)
	lower(s.Action) in {"kms:*", "*"}
} else := iam.covered([s | some s in statements; s.Effect == "Allow"], required)

not_allowed := required_names - allowed

denied := iam.covered(iam.denying_everyone(statements), required)

problems contains sprintf("key policy does not allow %s", [concat(", ", sort(not_allowed))]) if {
	count(not_allowed) > 0
}

problems contains sprintf("key policy denies %s to every principal", [concat(", ", sort(denied))]) if {
	count(denied) > 0
}

# The usual outcome is tried first. Its body holds exactly when no branch
# after it would, so those keep the scope-first order and need no default.
verdict := {"status": "COMPLIANT", "reason": sprintf("key policy allows %s", [concat(", ", sort(required_names))])} if {
	key.protects_file_systems
	not input.key.key_manager == "AWS"
	is_object(policy)
	count(not_allowed) == 0
	count(denied) == 0
} else := key.unused if {
	not key.protects_file_systems
} else := {"status": "COMPLIANT", "reason": "key is AWS managed: AWS maintains its key policy"} if {
	key.manager == "AWS"
} else := {"status": "NOT_APPLICABLE", "reason": "key policy is unknown"} if {
	not is_object(policy)
} else := {"status": "NON_COMPLIANT", "reason": sprintf("%s; the key protects %s", [report.join(problems), key.file_systems])} if {
	count(problems) > 0
}
