package atrest.efs.encryption_in_transit_enforced_test

import data.atrest.efs.encryption_in_transit_enforced as rule
import data.atrest.lib.iam

fs_arn := "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123"

# mk_input is an input as the engine gives it: with the policy relative to
# the file system (iam.relative; internal/policy's TestRelativeFollowsRego
# holds the engine's to it), null where there is no policy.
mk_input(policy, overrides) := {
	"resource_type": "AWS::EFS::FileSystem",
	"resource": fs_arn,
	"file_system": object.union(
		{
			"arn": fs_arn, "id": "fs-0123", "encrypted": true, "known": true, "policy_known": true,
			"policy": policy, "policy_relative": relative_policy(policy), "deleted": false,
		},
		overrides,
	),
	"key": null,
	"file_systems": null,
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

# The statement the EFS console's "Enforce in-transit encryption for all
# clients" option adds, as in the EFS user guide:
# https://docs.aws.amazon.com/efs/latest/ug/create-file-system-policy.html
deny_insecure(condition) := {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Condition": condition}

deny_http := object.union(deny_insecure({"Bool": {"aws:SecureTransport": "false"}}), {"Sid": "DenyHTTP"})

# Allow to every client through a mount target: the console's preconfigured
# statement, https://docs.aws.amazon.com/efs/latest/ug/create-file-system-policy.html
allow_all := {
	"Sid": "AllowAll",
	"Effect": "Allow",
	"Principal": {"AWS": "*"},
	"Action": ["elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientMount"],
	"Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}},
}

relative_policy(null) := null

relative_policy(policy) := {"policy": r[0], "resource": r[1]} if {
	policy != null
	r := iam.relative(policy, fs_arn)
}

want(status, reason) := {{"rule": "efs_encryption_in_transit_enforced", "status": status, "reason": reason}}

stopped_by(name) := sprintf("file-system policy stops anonymous clients without TLS: %s denies ClientMount, ClientRootAccess, ClientWrite", [name])

let_in(what) := concat("", ["file-system policy lets anonymous clients in without TLS: ", what])

test_compliant_bool_string_false if {
	rule.results == want("COMPLIANT", stopped_by("statement DenyHTTP")) with input as mk_input({"Statement": [allow_all, deny_http]}, {})
}

test_compliant_bool_if_exists_boolean_single_statement if {
	rule.results == want("COMPLIANT", stopped_by("statement 0"))
		with input as mk_input({"Statement": deny_insecure({"BoolIfExists": {"AWS:SecureTransport": false}})}, {})
}

test_compliant_value_list if {
	rule.results == want("COMPLIANT", stopped_by("statement 1"))
		with input as mk_input({"Statement": [allow_all, deny_insecure({"Bool": {"aws:securetransport": ["FALSE"]}})]}, {})
}

# The DataSync guide's EFS policy allows access only with TLS and through
# one access point:
# https://docs.aws.amazon.com/datasync/latest/userguide/create-efs-location.html
test_compliant_allow_only_with_secure_transport if {
	rule.results == want("COMPLIANT", "file-system policy stops anonymous clients without TLS: no statement allows ClientMount, ClientRootAccess, ClientWrite")
		with input as mk_input(
			{"Version": "2012-10-17", "Statement": [{
				"Sid": "AccessEFSFileSystem",
				"Effect": "Allow",
				"Principal": {"AWS": "*"},
				"Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
				"Resource": fs_arn,
				"Condition": {"Bool": {"aws:SecureTransport": "true"}},
			}]},
			{},
		)
}

# The EFS guide's read-only example grants one role: a plaintext client is
# anonymous, so no statement grants it anything.
# https://docs.aws.amazon.com/efs/latest/ug/security_iam_resource-based-policy-examples.html
test_compliant_allow_to_a_role_only if {
	rule.results == want("COMPLIANT", "file-system policy stops anonymous clients without TLS: no statement allows ClientMount, ClientRootAccess, ClientWrite")
		with input as mk_input(
			{"Id": "read-only-example-policy02", "Statement": [{
				"Sid": "efs-statement-example02",
				"Effect": "Allow",
				"Principal": {"AWS": "arn:aws:iam::111122223333:role/EfsReadOnly"},
				"Action": ["elasticfilesystem:ClientMount"],
				"Resource": fs_arn,
			}]},
			{},
		)
}

test_compliant_deny_with_not_principal_exemption if {
	rule.results == want("COMPLIANT", stopped_by("statement DenyAllButAdmin"))
		with input as mk_input(
			{"Statement": [
				allow_all,
				{
					"Sid": "DenyAllButAdmin",
					"Effect": "Deny",
					"NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:root"]},
					"Action": "elasticfilesystem:*",
					"Resource": fs_arn,
				},
			]},
			{},
		)
}

test_compliant_deny_and_not_equals_on_a_key_clients_do_not_carry if {
	# A StringNotEquals on a key the request does not carry holds.
	rule.results == want("COMPLIANT", stopped_by("statement 1"))
		with input as mk_input(
			{"Statement": [allow_all, deny_insecure({
				"Bool": {"aws:SecureTransport": "false"},
				"StringNotEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"},
			})]},
			{},
		)
}

test_compliant_string_operator_on_the_bool_key if {
	rule.results == want("COMPLIANT", stopped_by("statement 1"))
		with input as mk_input({"Statement": [allow_all, deny_insecure({"StringEquals": {"aws:SecureTransport": "false"}})]}, {})
}

test_compliant_no_statements if {
	rule.results == want("COMPLIANT", "file-system policy stops anonymous clients without TLS: no statement allows ClientMount, ClientRootAccess, ClientWrite")
		with input as mk_input({"Version": "2012-10-17"}, {})
}

test_compliant_deny_on_access_points_too if {
	# Direct mounts find no Allow; through an access point the Deny decides.
	rule.results == want("COMPLIANT", concat("; ", [
		"file-system policy stops anonymous clients without TLS: no statement allows ClientMount, ClientRootAccess, ClientWrite",
		"statement 1 denies ClientMount through an access point, ClientRootAccess through an access point, ClientWrite through an access point",
	]))
		with input as mk_input(
			{"Statement": [
				object.union(allow_all, {"Condition": {"Null": {"elasticfilesystem:AccessPointArn": "false"}}}),
				deny_insecure({"Bool": {"aws:SecureTransport": "false"}, "Null": {"elasticfilesystem:AccessPointArn": "false"}}),
			]},
			{},
		)
}

test_non_compliant_no_policy if {
	rule.results == want("NON_COMPLIANT", "no file-system policy: EFS grants every anonymous client full access, with or without TLS")
		with input as mk_input(null, {})
}

test_non_compliant_console_policy_without_tls_option if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input({"Statement": [allow_all]}, {})
}

test_non_compliant_deny_limited_to_write_and_root if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount"))
		with input as mk_input(
			{"Statement": [allow_all, object.union(deny_http, {"Action": ["elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"]})]},
			{},
		)
}

test_non_compliant_deny_naming_principals if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [allow_all, object.union(deny_http, {"Principal": {"AWS": ["arn:aws:iam::111122223333:role/app", "111122223333"]}})]},
			{},
		)
}

test_non_compliant_deny_on_another_file_system if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [allow_all, object.union(deny_http, {"Resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-9999"})]},
			{},
		)
}

test_non_compliant_deny_on_one_access_point if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [allow_all, object.union(deny_http, {"Resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-01234567"})]},
			{},
		)
}

test_non_compliant_deny_for_one_access_point_arn if {
	# Through the access point the Deny may apply (its ARN is not known);
	# directly, without the key, StringEquals does not hold.
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [allow_all, object.union(deny_http, {"Condition": {
				"Bool": {"aws:SecureTransport": "false"},
				"StringEquals": {"elasticfilesystem:AccessPointArn": "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-01234567"},
			}})]},
			{},
		)
}

test_non_compliant_deny_and_source_vpc if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [allow_all, deny_insecure({"Bool": {"aws:SecureTransport": "false"}, "StringEquals": {"aws:SourceVpc": "vpc-1a2b3c4d"}})]},
			{},
		)
}

test_non_compliant_deny_and_source_ip_unknown if {
	rule.results == want("NON_COMPLIANT", concat("", [
		"file-system policy does not show that anonymous clients without TLS are stopped: ",
		"statement 1 may deny (the value of aws:SourceIp is not known) ClientMount, ClientRootAccess, ClientWrite",
	]))
		with input as mk_input(
			{"Statement": [allow_all, deny_insecure({"Bool": {"aws:SecureTransport": "false"}, "NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})]},
			{},
		)
}

test_non_compliant_deny_with_secure_transport_true if {
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input({"Statement": [allow_all, deny_insecure({"Bool": {"aws:SecureTransport": "true"}})]}, {})
}

test_non_compliant_allow_without_tls if {
	rule.results == want("NON_COMPLIANT", let_in("statement 0 allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(
			{"Statement": [object.union(
				deny_insecure({"Bool": {"aws:SecureTransport": "false"}}),
				{"Effect": "Allow"},
			)]},
			{},
		)
}

test_non_compliant_odd_shapes_give_a_reason if {
	# A Principal that is a list, and a Condition block that is a string:
	# IAM would not store them; the rule says why it cannot count them.
	rule.results == want("NON_COMPLIANT", concat("", [
		"file-system policy does not show that anonymous clients without TLS are stopped: ",
		"statement 0 may allow (its Principal is not \"*\" or an object) ClientMount, ClientRootAccess, ClientWrite; ",
		"statement 1 may deny (its Bool block is not an object) ClientMount, ClientRootAccess, ClientWrite",
	]))
		with input as mk_input(
			{"Statement": [
				object.union(allow_all, {"Sid": 7, "Principal": ["*"]}),
				deny_insecure({"Bool": "aws:SecureTransport=false"}),
			]},
			{},
		)
}

test_not_applicable_policy_unknown if {
	rule.results == want("NOT_APPLICABLE", "whether the file system has a file-system policy is unknown")
		with input as mk_input(null, {"known": false, "policy_known": false})
}

test_not_applicable_deleted if {
	rule.results == want("NOT_APPLICABLE", "file system is deleted") with input as mk_input(null, {"deleted": true})
}

test_not_applicable_file_system_unknown if {
	rule.results == want("NOT_APPLICABLE", "file system is not known")
		with input as object.union(mk_input(null, {}), {"file_system": null})
}

test_not_applicable_key_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(null, {}), {"resource_type": "AWS::KMS::Key"})
}

# The engine always gives the policy's relative form; an input without it
# (written by hand for opa eval) is told so, not judged on a guess.
test_not_applicable_without_relative_policy if {
	rule.results == want("NOT_APPLICABLE", "the input does not give the file-system policy relative to the file system (policy_relative)")
		with input as mk_input({"Statement": [allow_all, deny_http]}, {"policy_relative": null})
}

# The rule reads the relative pair, not the policy: a policy naming the
# file system is judged through the pair iam.relative gives.
test_reads_the_relative_pair if {
	p := {"Statement": [allow_all, object.union(deny_http, {"Resource": fs_arn})]}
	relative_policy(p).resource == iam.this_resource
	rule.results == want("COMPLIANT", stopped_by("statement DenyHTTP")) with input as mk_input(p, {})
	rule.results == want("NON_COMPLIANT", let_in("statement AllowAll allows ClientMount, ClientRootAccess, ClientWrite"))
		with input as mk_input(p, {"policy_relative": {"policy": p, "resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-other"}})
}
