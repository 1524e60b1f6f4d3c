package atrest.efs.kms_key_policy_grants_efs_test

import data.atrest.efs.kms_key_policy_grants_efs as rule

mk_input(policy, manager) := {
	"resource_type": "AWS::KMS::Key",
	"resource": "arn:aws:kms:eu-west-1:111122223333:key/k1",
	"file_system": null,
	"key": {"key_manager": manager, "policy": policy},
	"file_systems": [{"arn": "arn:fs-1", "id": "fs-1"}],
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

allow(actions) := {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": actions}

want(status, reason) := {{"rule": "efs_kms_key_policy_grants_efs", "status": status, "reason": reason}}

all_allowed := "key policy allows kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"

test_compliant_kms_star if {
	rule.results == want("COMPLIANT", all_allowed) with input as mk_input({"Statement": allow("kms:*")}, "CUSTOMER")
}

test_compliant_wildcards_and_case if {
	rule.results == want("COMPLIANT", all_allowed)
		with input as mk_input(
			{"Statement": [
				allow(["KMS:decrypt", "kms:GenerateDataKey*", "kms:Create?rant"]),
				allow("kms:Describe*"),
			]},
			"CUSTOMER",
		)
}

test_compliant_not_action if {
	rule.results == want("COMPLIANT", all_allowed)
		with input as mk_input({"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "kms:ScheduleKeyDeletion"}]}, "CUSTOMER")
}

test_compliant_conditional_deny if {
	rule.results == want("COMPLIANT", all_allowed)
		with input as mk_input(
			{"Statement": [
				allow("*"),
				{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Condition": {"StringNotEquals": {"kms:ViaService": "elasticfilesystem.eu-west-1.amazonaws.com"}}},
				{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/x"}, "Action": "kms:Decrypt"},
			]},
			"CUSTOMER",
		)
}

test_compliant_aws_managed if {
	rule.results == want("COMPLIANT", "key is AWS managed: AWS maintains its key policy") with input as mk_input(null, "AWS")
}

test_non_compliant_missing_actions if {
	rule.results == want("NON_COMPLIANT", "key policy does not allow kms:CreateGrant, kms:DescribeKey; the key protects fs-1")
		with input as mk_input({"Statement": [allow(["kms:Decrypt", "kms:GenerateDataKey*", "kms:[C]reateGrant"])]}, "CUSTOMER")
}

test_non_compliant_generate_data_key_only if {
	rule.results == want("NON_COMPLIANT", "key policy does not allow kms:GenerateDataKeyWithoutPlaintext; the key protects fs-1")
		with input as mk_input({"Statement": [allow(["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"])]}, "CUSTOMER")
}

test_non_compliant_not_action_excludes if {
	rule.results == want("NON_COMPLIANT", "key policy does not allow kms:Decrypt; the key protects fs-1")
		with input as mk_input({"Statement": {"Effect": "Allow", "Principal": "*", "NotAction": ["kms:Decrypt"]}}, "CUSTOMER")
}

test_non_compliant_unconditional_deny_everyone if {
	rule.results == want("NON_COMPLIANT", "key policy denies kms:CreateGrant to every principal; the key protects fs-1")
		with input as mk_input(
			{"Statement": [
				allow("kms:*"),
				{"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "kms:CreateGrant", "Condition": {}},
			]},
			"CUSTOMER",
		)
}

test_non_compliant_no_statements if {
	rule.results == want("NON_COMPLIANT", "key policy does not allow kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext; the key protects fs-1")
		with input as mk_input({"Version": "2012-10-17"}, "CUSTOMER")
}

test_not_applicable_policy_unknown if {
	rule.results == want("NOT_APPLICABLE", "key policy is unknown") with input as mk_input(null, "CUSTOMER")
}

test_not_applicable_no_live_file_system if {
	rule.results == want("NOT_APPLICABLE", "key arn:aws:kms:eu-west-1:111122223333:key/k1 protects no live file system")
		with input as object.union(mk_input(null, "CUSTOMER"), {"file_systems": []})
}

test_not_applicable_file_system_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(null, "CUSTOMER"), {"resource_type": "AWS::EFS::FileSystem"})
}
