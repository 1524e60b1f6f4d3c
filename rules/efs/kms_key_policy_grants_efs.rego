# METADATA
# title: KMS key policy lets EFS use the key
# description: >-
#   EFS uses a customer managed key on behalf of the principal that created
#   the file system: it calls kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext,
#   kms:CreateGrant and kms:DescribeKey as that principal, with kms:ViaService
#   elasticfilesystem.<region>.amazonaws.com and kms:CallerAccount the file
#   system's account. The key policy is evaluated for those requests as IAM
#   evaluates it: a Deny that applies (through NotPrincipal, to the account,
#   or with a condition the requests meet) breaks the file systems the key
#   protects, and so does the absence of an Allow that surely applies. Where
#   the key policy allows the actions to the key's account as a whole (the
#   account root, as in the default key policy), IAM identity policies
#   decide: the key policy does not block EFS, and the rule says so.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html#EFSKMSPolicy
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-via-service
#   - ref: https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-caller-account
# custom:
#   id: efs_kms_key_policy_grants_efs
#   severity: HIGH
#   resource_type: AWS::KMS::Key
#   remediation: >-
#     Update the key policy (PutKeyPolicy) so that the principals that create
#     file systems are allowed kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext,
#     kms:CreateGrant and kms:DescribeKey through EFS (or the key's account is,
#     with IAM policies granting them), and no Deny statement applies to those
#     requests.
#   triggers:
#     - CreateAlias
#     - CreateFileSystem
#     - CreateKey
#     - CreateReplicationConfiguration
#     - DeleteAlias
#     - DeleteFileSystem
#     - DeleteKey
#     - DeleteReplicationConfiguration
#     - PutKeyPolicy
#     - ReplicateKey
#     - UpdateAlias
#     - UpdatePrimaryRegion
#   controls:
#     - NIST 800-53 SC-12
#     - NIST 800-53 SC-28
package atrest.efs.kms_key_policy_grants_efs

import data.atrest.lib.iam
import data.atrest.lib.key
import data.atrest.lib.report

# results holds this rule's one result for a key.
results contains report.result(rego.metadata.chain(), input.resource_type, verdict) if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
}

# required lists the actions EFS calls on the key.
required := ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"]

policy := input.key.policy

# The usual outcome is tried first. Its body holds exactly when no branch
# after it would, so those keep the scope-first order and need no default.
verdict := {"status": "COMPLIANT", "reason": summarize(input.file_systems, granted)} if {
	key.protects_file_systems
	not input.key.key_manager == "AWS"
	is_object(policy)
	count(decisions) == count(required) * count(input.file_systems)
	count(blocked) == 0
	count(not_granted) == 0
	count(undecided) == 0
} else := key.unused if {
	not key.protects_file_systems
} else := {"status": "COMPLIANT", "reason": "key is AWS managed: AWS maintains its key policy"} if {
	key.manager == "AWS"
} else := {"status": "NOT_APPLICABLE", "reason": "key policy is unknown"} if {
	not is_object(policy)
} else := {"status": "NON_COMPLIANT", "reason": sprintf("key policy blocks EFS: %s", [summarize(input.file_systems, blocked)])} if {
	count(blocked) > 0
} else := {"status": "NON_COMPLIANT", "reason": sprintf("key policy does not grant EFS: %s", [summarize(input.file_systems, not_granted)])} if {
	count(not_granted) > 0
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("whether the key policy lets EFS use the key is unknown: %s", [summarize(input.file_systems, undecided)])}

# requests are the calls EFS makes for each file system the key protects,
# keyed by [file system id, action]: what the calls for one file system
# share (callers), with each action and the condition keys it adds.
requests[[id, action]] := object.union(caller, {
	"action": action,
	"context": object.union(caller.context, grant_keys(action)),
}) if {
	some id, caller in callers
	some action in required
}

# callers are, for each file system the key protects, what its calls share:
# the resource, the principal that created the file system (with its
# levels, worked out once rather than for each call) and the condition keys.
callers[f.id] := {
	"resource": input.resource,
	"principal": principal,
	"levels": iam.levels(principal),
	"context": object.union(
		{
			"kms:viaservice": [sprintf("elasticfilesystem.%s.amazonaws.com", [region])],
			"kms:calleraccount": [account],
			"aws:principalaccount": [account],
		},
		principal_arn_key(principal.arn),
	),
	"other_keys": "unknown",
} if {
	some f in input.file_systems
	account := fallback(object.get(f, "account", ""), input.key.account)
	principal := {"arn": object.get(f, "creator", ""), "account": account}
	region := fallback(object.get(f, "region", ""), input.key.region)
}

# grant_keys: EFS's CreateGrant is made by a service integrated with KMS on
# the creator's behalf, so kms:GrantIsForAWSResource is true (the key policy
# the KMS console writes for key users allows CreateGrant only then).
# https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource
grant_keys("kms:CreateGrant") := {"kms:grantisforawsresource": ["true"]}

grant_keys(action) := {} if action != "kms:CreateGrant"

# principal_arn_key gives aws:PrincipalArn where the creator's ARN is it: an
# IAM user or the account root. For a role session aws:PrincipalArn is the
# role's ARN, whose path the session ARN does not show, so it stays unknown.
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
principal_arn_key(arn) := {"aws:principalarn": [arn]} if {
	regex.match(`^arn:aws[a-z-]*:iam::[0-9]{12}:(user/.+|root)$`, arn)
} else := {}

fallback(v, d) := v if v != ""

else := d

# compiled is the key policy, read once for all requests.
compiled := iam.compile(policy)

decisions[id] := iam.decide_compiled(compiled, r) if some id, r in requests

# summarize describes [file system id, who, action] triples, file system by
# file system.
summarize(file_systems, triples) := concat("; ", sort({sprintf("for %s: %s", [creator(file_systems, id), iam.summarize({[t[1], t[2]] | some t in triples; t[0] == id})]) |
	some id in {t[0] | some t in triples}
}))

creator(file_systems, id) := sprintf("%s (created by %s)", [id, c]) if {
	some f in file_systems
	f.id == id
	c := object.get(f, "creator", "")
	c != ""
} else := sprintf("%s (creator unknown)", [id])

creator_known(file_systems, id) if {
	some f in file_systems
	f.id == id
	object.get(f, "creator", "") != ""
}

# blocked: a Deny applies, or no statement may allow.
blocked contains [id, sprintf("%s denies", [d.statement]), action] if {
	some [id, action], d in decisions
	d.decision == "denied"
}

blocked contains [id, "no statement allows", action] if {
	some [id, action], d in decisions
	d.decision == "implicit"
}

# not_granted: an Allow only may apply; with a known creator, an Allow whose
# condition EFS's requests may not meet does not count as granting.
not_granted contains [id, sprintf("%s may not apply (%s) to", [u.name, u.why]), action] if {
	some [id, action], d in decisions
	d.decision == "unknown"
	creator_known(input.file_systems, id)
	count([u | some u in d.uncertain; u.effect == "Deny"]) == 0
	some u in d.uncertain
}

# undecided: a Deny may apply, or the creator is not known and the policy
# names principals.
undecided contains [id, sprintf("%s may %s (%s)", [u.name, verb(u.effect), u.why]), action] if {
	some [id, action], d in decisions
	d.decision == "unknown"
	some u in d.uncertain
	not_counted(input.file_systems, id, d)
}

not_counted(file_systems, id, _) if not creator_known(file_systems, id)

not_counted(_, _, d) if {
	some u in d.uncertain
	u.effect == "Deny"
}

verb("Allow") := "allow"

verb("Deny") := "deny"

verb(effect) := "apply to" if not effect in {"Allow", "Deny"}

granted contains [id, sprintf("%s allows EFS", [d.statement]), action] if {
	some [id, action], d in decisions
	d.decision == "allowed"
	not d.delegated
}

granted contains [
	id,
	sprintf(
		"%s allows account %s as a whole, so its IAM identity policies decide (the key policy does not block EFS):",
		[d.statement, requests[[id, action]].principal.account],
	),
	action,
] if {
	some [id, action], d in decisions
	d.decision == "allowed"
	d.delegated
}
