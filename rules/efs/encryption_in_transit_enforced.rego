# METADATA
# title: EFS file-system policy enforces encryption in transit
# description: >-
#   Data encrypted at rest on EFS is only as safe as the path to it. A client
#   that mounts without TLS is anonymous (IAM authorization of NFS clients
#   needs TLS), connects through a mount target and carries only the
#   condition keys EFS documents for NFS clients. The file-system policy must
#   let no such client mount, write or act as root, on the file system or
#   through any of its access points: an explicit Deny stops it, or no Allow
#   grants it. Without a file-system policy EFS grants every anonymous client
#   full access.
# related_resources:
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/encryption-in-transit.html
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html
#   - ref: https://docs.aws.amazon.com/efs/latest/ug/mounting-IAM-option.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-securetransport
# custom:
#   id: efs_encryption_in_transit_enforced
#   severity: MEDIUM
#   resource_type: AWS::EFS::FileSystem
#   settle_after: [CreateFileSystem]
#   remediation_action: require_secure_transport
#   remediation: >-
#     Attach a file-system policy (PutFileSystemPolicy) with a statement that
#     denies all actions to principal * when aws:SecureTransport is false (or
#     that allows client access only when aws:SecureTransport is true), and
#     mount with the EFS mount helper's tls option.
#   triggers:
#     - CreateFileSystem
#     - CreateReplicationConfiguration
#     - DeleteFileSystem
#     - DeleteFileSystemPolicy
#     - DeleteReplicationConfiguration
#     - PutFileSystemPolicy
#   controls:
#     - NIST 800-53 SC-8
package atrest.efs.encryption_in_transit_enforced

import data.atrest.lib.file_system
import data.atrest.lib.iam

# The rule reads the file system's fields through fs (input.file_system),
# never the object as a whole: see file_system.described.
import input.file_system as fs

# results holds this rule's one result for a file system.
results contains {"rule": "efs_encryption_in_transit_enforced", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::EFS::FileSystem" # a constant, so rule indexing skips other types
}

# The usual outcome is tried first; its body implies that no branch after it
# but the one giving the same verdict would apply.
verdict := compliant if {
	not fs.deleted == true
	has_policy
	access.complete
	count(access.let_in) == 0
	count(access.may_let_in) == 0
} else := {"status": "NOT_APPLICABLE", "reason": "file system is not known"} if {
	not file_system.described
} else := {"status": "NOT_APPLICABLE", "reason": "file system is deleted"} if {
	fs.deleted == true
} else := {"status": "NOT_APPLICABLE", "reason": "whether the file system has a file-system policy is unknown"} if {
	is_null(fs.policy)
	fs.policy_known == false
} else := {"status": "NON_COMPLIANT", "reason": "no file-system policy: EFS grants every anonymous client full access, with or without TLS"} if {
	not has_policy
} else := {"status": "NOT_APPLICABLE", "reason": "the input does not give the file-system policy relative to the file system (policy_relative)"} if {
	# Read whole, as access reads it.
	not is_object(fs.policy_relative)
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"file-system policy lets anonymous clients in without TLS: %s",
	[access.summaries.let_in],
)} if {
	count(access.let_in) > 0
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"file-system policy does not show that anonymous clients without TLS are stopped: %s",
	[access.summaries.may_let_in],
)}

# has_policy reads the policy's shape alone: a test negated in the
# verdict's body would read the whole policy.
has_policy if is_object(fs.policy)

compliant := {"status": "COMPLIANT", "reason": sprintf(
	"file-system policy stops anonymous clients without TLS: %s",
	[access.summaries.stopped],
)}

# access is what the file-system policy decides for plaintext clients. It
# reads the policy relative to the file system (policy_relative,
# iam.relative's pair, which the engine sets), never the file system's ARN
# or the policy's own text but for its shape: file systems whose policies
# were written from one template share the decisions, and one remembered
# verdict (rules/README.md, "What a rule reads, and the engine's memo").
access := stopping(fs.policy_relative.policy, fs.policy_relative.resource)

# client_actions are the actions EFS authorizes for NFS clients.
client_actions := ["ClientMount", "ClientWrite", "ClientRootAccess"]

# METADATA
# title: What a file-system policy decides for plaintext clients
# description: >-
#   The policy's decision on each client action of a client mounting
#   without TLS, directly or through an access point, on the file system
#   whose ARN is resource: [who, what] pairs under "let_in" (an Allow
#   applies), "may_let_in" (a statement may decide) and "stopped", and
#   "complete" when every request was decided. "summaries" gives each set
#   of pairs in words (iam.summarize), so that the verdict's reason is
#   remembered with them. It reads its arguments only, so the engine
#   remembers it by them.
# custom:
#   memoize: true
stopping(policy, resource) := {
	"complete": count(decisions) == (count(client_actions) * count(paths)),
	"let_in": let_in,
	"may_let_in": may_let_in,
	"stopped": stopped_by,
	"summaries": {
		"let_in": iam.summarize(let_in),
		"may_let_in": iam.summarize(may_let_in),
		"stopped": iam.summarize(stopped_by),
	},
} if {
	compiled := iam.compile(policy)
	paths := client_paths(compiled)
	decisions := {[action, path]: iam.decide_compiled(compiled, request(resource, action, extra)) |
		some action in client_actions
		some path, extra in paths
	}
	let_in := {[sprintf("%s allows", [d.statement]), concat("", [action, path])] |
		some [action, path], d in decisions
		d.decision == "allowed"
	}
	may_let_in := {[sprintf("%s may %s (%s)", [u.name, verb(u.effect), u.why]), concat("", [action, path])] |
		some [action, path], d in decisions
		d.decision == "unknown"
		some u in d.uncertain
	}
	stopped_by := stopped(decisions)
}

# client_paths are the ways a plaintext client reaches the file system:
# directly through a mount target, or through one of its access points
# (whose ARN the client carries, of a value the rule does not know). The
# second is asked only of a policy with a condition on that key: for any
# other the two requests are the same.
client_paths(compiled) := {
	"": {},
	" through an access point": {"elasticfilesystem:accesspointarn": "present"},
} if {
	iam.conditions_on(compiled, "elasticfilesystem:accesspointarn")
} else := {"": {}}

# request is what a client mounting without TLS asks for. It carries only
# the condition keys EFS documents for NFS clients: aws:SecureTransport
# (false), elasticfilesystem:AccessedViaMountTarget (true), aws:SourceIp
# (its address, not known here) and, through an access point,
# elasticfilesystem:AccessPointArn.
request(resource, action, extra) := {
	"action": concat(":", ["elasticfilesystem", action]),
	"resource": resource,
	"principal": {"anonymous": true},
	"context": object.union(
		{
			"aws:securetransport": ["false"],
			"elasticfilesystem:accessedviamounttarget": ["true"],
			"aws:sourceip": "present",
		},
		extra,
	),
	"other_keys": "absent",
}

verb("Allow") := "allow"

verb("Deny") := "deny"

verb(effect) := "apply to" if not effect in {"Allow", "Deny"}

# stopped pairs each deciding statement (or the absence of an Allow) with
# what it stops. Through an access point the outcome is named only where it
# differs from the direct one.
stopped(decisions) := {[who(d), action] |
	some [action, path], d in decisions
	path == ""
} | {[who(d), concat("", [action, path])] |
	some [action, path], d in decisions
	path != ""
	who(d) != who(decisions[[action, ""]])
}

who(d) := sprintf("%s denies", [d.statement]) if d.decision == "denied"

else := "no statement allows"
