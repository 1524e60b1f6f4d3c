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

# results holds this rule's one result for a key.
results contains {"rule": "efs_kms_key_policy_grants_efs", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::KMS::Key" # a constant, so rule indexing skips other types
}

# required lists the actions EFS calls on the key.
required := ["kms:CreateGrant", "kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKeyWithoutPlaintext"]

# The usual outcome is tried first. Its body holds exactly when no branch
# after it would, so those keep the scope-first order; the last holds
# whenever it is reached.
#
# Every branch that reads the outcomes first asks
# is_object(input.key.policy): the engine then knows that the file systems
# are read only for a policy that can be evaluated, and remembers one
# verdict for every key whose policy is unknown, whichever file systems
# it protects (memo.go). The rule reads the policy by its input path
# throughout, as the engine's analysis needs it written.
verdict := {"status": "COMPLIANT", "reason": summarize("granted")} if {
	key.protects_file_systems
	not input.key.key_manager == "AWS"
	is_object(input.key.policy)
	decided == count(required) * count(input.file_systems)
	not found.blocked
	not found.not_granted
	not found.undecided
} else := key.unused if {
	not key.protects_file_systems
} else := {"status": "COMPLIANT", "reason": "key is AWS managed: AWS maintains its key policy"} if {
	key.manager == "AWS"
} else := {"status": "NOT_APPLICABLE", "reason": "key policy is unknown"} if {
	not is_object(input.key.policy)
} else := {"status": "NON_COMPLIANT", "reason": sprintf("key policy blocks EFS: %s", [summarize("blocked")])} if {
	is_object(input.key.policy)
	found.blocked
} else := {"status": "NON_COMPLIANT", "reason": sprintf("key policy does not grant EFS: %s", [summarize("not_granted")])} if {
	is_object(input.key.policy)
	found.not_granted
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("whether the key policy lets EFS use the key is unknown: %s", [summarize("undecided")])} if {
	is_object(input.key.policy)
}

# outcomes are, for each file system the key protects, what the key policy
# decides for the calls EFS makes on behalf of its creator. The creator is
# read relative to the policy, so that file systems created by sessions of
# one role share an outcome.
outcomes[f.id] := outcome(relative[0], relative[1], iam.relative_principal(input.key.policy, object.get(f, "creator", "")), account, region) if {
	some f in input.file_systems
	account := fallback(object.get(f, "account", ""), input.key.account)
	region := fallback(object.get(f, "region", ""), input.key.region)
}

# relative is the key policy and the key's ARN as the outcome reads them:
# without the ARN where the decisions do not depend on which key it is
# (iam.relative), so that keys with the same key policy share outcomes.
relative := iam.relative(input.key.policy, input.resource)

# decided counts the requests the key policy was evaluated for.
decided := sum([o.decided | some o in outcomes])

# found[kind] holds when some file system's outcome has a pair of that
# kind: only then is its summary of that kind not empty.
found[kind] if {
	some o in outcomes
	some kind, summary in o.summaries
	summary != ""
}

# METADATA
# title: What the key policy decides for one creator's file systems
# description: >-
#   The key policy's decision on each call EFS makes for file systems that
#   creator (an ARN, its role's stand-in where the policy does not tell its
#   session from the others (iam.relative_principal), or "" when unknown)
#   created in account and region, on
#   a key whose ARN is resource: under "summaries", the [who, action]
#   pairs of each kind described (iam.summarize; "" when there are none),
#   and the number of calls decided. blocked: a Deny applies, or no
#   statement may allow. not_granted: an Allow only may apply; with a known
#   creator, an Allow whose condition EFS's requests may not meet does not
#   count as granting. undecided: a Deny may apply, or the creator is not
#   known and the policy names principals. granted: an Allow applies. It
#   reads its arguments only, so the engine remembers it by them,
#   descriptions included.
# custom:
#   memoize: true
outcome(policy, resource, creator, account, region) := {
	"decided": count(decisions),
	"summaries": {kind: iam.summarize(p) | some kind, p in pairs},
} if {
	compiled := iam.compile(policy)
	principal := {"arn": creator, "account": account}
	caller := {
		"resource": resource,
		"principal": principal,
		"levels": iam.levels(principal),
		"other_keys": "unknown",
	}
	context := object.union(
		{
			"kms:viaservice": [sprintf("elasticfilesystem.%s.amazonaws.com", [region])],
			"kms:calleraccount": [account],
			"aws:principalaccount": [account],
		},
		principal_arn_key(creator),
	)
	decisions := {action: iam.decide_compiled(compiled, request) |
		some action in required
		request := object.union(caller, {"action": action, "context": object.union(context, grant_keys(action))})
	}
	pairs := {
		"blocked": ({[sprintf("%s denies", [d.statement]), action] | some action, d in decisions; d.decision == "denied"} | {["no statement allows", action] | some action, d in decisions; d.decision == "implicit"}),
		"not_granted": {[sprintf("%s may not apply (%s) to", [u.name, u.why]), action] |
			some action, d in decisions
			d.decision == "unknown"
			creator != ""
			count([u | some u in d.uncertain; u.effect == "Deny"]) == 0
			some u in d.uncertain
		},
		"undecided": {[sprintf("%s may %s (%s)", [u.name, verb(u.effect), u.why]), action] |
			some action, d in decisions
			d.decision == "unknown"
			some u in d.uncertain
			not_counted(creator, d)
		},
		"granted": {[grant_reason(d, account), action] | some action, d in decisions; d.decision == "allowed"},
	}
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

# not_counted: an uncertain decision is undecided rather than not granted
# when the creator is not known or a Deny may apply.
not_counted("", _)

not_counted(_, d) if {
	some u in d.uncertain
	u.effect == "Deny"
}

verb("Allow") := "allow"

verb("Deny") := "deny"

verb(effect) := "apply to" if not effect in {"Allow", "Deny"}

grant_reason(d, _) := sprintf("%s allows EFS", [d.statement]) if not d.delegated

grant_reason(d, account) := sprintf(
	"%s allows account %s as a whole, so its IAM identity policies decide (the key policy does not block EFS):",
	[d.statement, account],
) if d.delegated

# summarize describes the pairs of a kind, file system by file system.
summarize(kind) := concat("; ", sort({sprintf("for %s: %s", [named(f), outcomes[f.id].summaries[kind]]) |
	some f in input.file_systems
	outcomes[f.id].summaries[kind] != ""
}))

# named names a file system and its creator for a reason.
named(f) := sprintf("%s (created by %s)", [f.id, c]) if {
	c := object.get(f, "creator", "")
	c != ""
} else := sprintf("%s (creator unknown)", [f.id])
