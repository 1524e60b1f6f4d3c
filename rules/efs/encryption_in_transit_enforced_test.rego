package atrest.efs.encryption_in_transit_enforced_test

import data.atrest.efs.encryption_in_transit_enforced as rule

mk_input(policy, overrides) := {
	"resource_type": "AWS::EFS::FileSystem",
	"resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123",
	"file_system": object.union({"id": "fs-0123", "encrypted": true, "known": true, "policy_known": true, "policy": policy, "deleted": false}, overrides),
	"key": null,
	"file_systems": null,
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

deny_insecure(condition) := {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "*", "Condition": condition}

want(status, reason) := {{"rule": "efs_encryption_in_transit_enforced", "status": status, "reason": reason}}

missing := "file-system policy of fs-0123 has no Deny statement with condition aws:SecureTransport false"

test_compliant_bool_string_false if {
	rule.results == want("COMPLIANT", "file-system policy of fs-0123 denies requests with aws:SecureTransport false (statement DenyHTTP)")
		with input as mk_input(
			{"Statement": [
				{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount"},
				object.union(deny_insecure({"Bool": {"aws:SecureTransport": "false"}}), {"Sid": "DenyHTTP"}),
			]},
			{},
		)
}

test_compliant_bool_if_exists_boolean_single_statement if {
	rule.results == want("COMPLIANT", "file-system policy of fs-0123 denies requests with aws:SecureTransport false (statement 0)")
		with input as mk_input({"Statement": deny_insecure({"BoolIfExists": {"AWS:SecureTransport": false}})}, {})
}

test_compliant_value_list if {
	rule.results == want("COMPLIANT", "file-system policy of fs-0123 denies requests with aws:SecureTransport false (statement 0)")
		with input as mk_input({"Statement": [deny_insecure({"Bool": {"aws:securetransport": ["FALSE"]}})]}, {})
}

test_not_applicable_policy_unknown if {
	rule.results == want("NOT_APPLICABLE", "file system fs-0123: whether it has a file-system policy is unknown")
		with input as mk_input(null, {"known": false, "policy_known": false})
}

test_non_compliant_no_policy if {
	rule.results == want("NON_COMPLIANT", "file system fs-0123 has no file-system policy") with input as mk_input(null, {})
}

test_non_compliant_condition_true if {
	rule.results == want("NON_COMPLIANT", missing)
		with input as mk_input({"Statement": [deny_insecure({"Bool": {"aws:SecureTransport": "true"}})]}, {})
}

test_non_compliant_allow_not_deny if {
	rule.results == want("NON_COMPLIANT", missing)
		with input as mk_input(
			{"Statement": [object.union(
				deny_insecure({"Bool": {"aws:SecureTransport": "false"}}),
				{"Effect": "Allow"},
			)]},
			{},
		)
}

test_non_compliant_other_operator if {
	rule.results == want("NON_COMPLIANT", missing)
		with input as mk_input({"Statement": [deny_insecure({"StringEquals": {"aws:SecureTransport": "false"}})]}, {})
}

test_non_compliant_no_statements if {
	rule.results == want("NON_COMPLIANT", missing) with input as mk_input({"Version": "2012-10-17"}, {})
}

test_not_applicable_deleted if {
	rule.results == want("NOT_APPLICABLE", "file system fs-0123 is deleted") with input as mk_input(null, {"deleted": true})
}

test_not_applicable_file_system_unknown if {
	rule.results == want("NOT_APPLICABLE", "file system arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123 is not known")
		with input as object.union(mk_input(null, {}), {"file_system": null})
}

test_not_applicable_key_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(null, {}), {"resource_type": "AWS::KMS::Key"})
}
