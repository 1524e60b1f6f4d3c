package atrest.efs.kms_key_policy_grants_efs_test

import data.atrest.efs.kms_key_policy_grants_efs as rule

alice := "arn:aws:iam::111122223333:user/alice"

mk_input(policy, manager) := mk_input_by(policy, manager, alice)

mk_input_by(policy, manager, creator) := {
	"resource_type": "AWS::KMS::Key",
	"resource": "arn:aws:kms:eu-west-1:111122223333:key/k1",
	"file_system": null,
	"key": {"account": "111122223333", "region": "eu-west-1", "key_manager": manager, "policy": policy},
	"file_systems": [{"arn": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-1", "id": "fs-1", "account": "111122223333", "region": "eu-west-1", "creator": creator}],
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

allow(actions) := {"Effect": "Allow", "Principal": {"AWS": alice}, "Action": actions}

# The default key policy's statement, as in the KMS developer guide:
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
enable_iam := {
	"Sid": "Enable IAM User Permissions",
	"Effect": "Allow",
	"Principal": {"AWS": "arn:aws:iam::111122223333:root"},
	"Action": "kms:*",
	"Resource": "*",
}

want(status, reason) := {{"rule": "efs_kms_key_policy_grants_efs", "status": status, "reason": reason}}

all_actions := "kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"

by_alice := "fs-1 (created by arn:aws:iam::111122223333:user/alice)"

allowed_by(statement) := sprintf("for %s: %s allows EFS %s", [by_alice, statement, all_actions])

delegated_by(who, statement) := sprintf(
	"for %s: %s allows account 111122223333 as a whole, so its IAM identity policies decide (the key policy does not block EFS): %s",
	[who, statement, all_actions],
)

blocked(what) := concat("", ["key policy blocks EFS: ", what])

test_compliant_default_key_policy_delegates_to_iam if {
	rule.results == want("COMPLIANT", delegated_by(by_alice, "statement Enable IAM User Permissions"))
		with input as mk_input({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [enable_iam]}, "CUSTOMER")
}

test_compliant_unknown_creator_when_the_account_decides if {
	rule.results == want("COMPLIANT", delegated_by("fs-1 (creator unknown)", "statement 0"))
		with input as mk_input_by({"Statement": object.union(enable_iam, {"Sid": ""})}, "CUSTOMER", "")
}

# The key policy the EFS user guide shows for EFS use, granting every
# principal of the account through EFS:
# https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html#EFSKMSPolicy
test_compliant_efs_guide_policy if {
	rule.results == want("COMPLIANT", allowed_by("statement Allow access to EFS for all principals in the account that are authorized to use EFS"))
		with input as mk_input(
			{"Statement": [{
				"Sid": "Allow access to EFS for all principals in the account that are authorized to use EFS",
				"Effect": "Allow",
				"Principal": {"AWS": "*"},
				"Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
				"Resource": "*",
				"Condition": {"StringEquals": {"kms:ViaService": "elasticfilesystem.eu-west-1.amazonaws.com", "kms:CallerAccount": "111122223333"}},
			}]},
			"CUSTOMER",
		)
}

test_compliant_assumed_role_matches_its_role if {
	rule.results == want("COMPLIANT", "for fs-1 (created by arn:aws:sts::111122223333:assumed-role/StorageAdmin/deploy): statement 0 allows EFS kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext")
		with input as mk_input_by(
			{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/ops/StorageAdmin"}, "Action": "kms:*", "Resource": "*"}]},
			"CUSTOMER",
			"arn:aws:sts::111122223333:assumed-role/StorageAdmin/deploy",
		)
}

test_compliant_wildcards_and_case if {
	rule.results == want("COMPLIANT", sprintf("for %s: statement 0 allows EFS kms:CreateGrant, kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext; statement 1 allows EFS kms:DescribeKey", [by_alice]))
		with input as mk_input(
			{"Statement": [
				allow(["KMS:decrypt", "kms:GenerateDataKey*", "kms:Create?rant"]),
				allow("kms:Describe*"),
			]},
			"CUSTOMER",
		)
}

test_compliant_not_action if {
	rule.results == want("COMPLIANT", allowed_by("statement 0"))
		with input as mk_input({"Statement": [{"Effect": "Allow", "Principal": "*", "NotAction": "kms:ScheduleKeyDeletion"}]}, "CUSTOMER")
}

test_compliant_deny_whose_condition_efs_does_not_meet if {
	rule.results == want("COMPLIANT", delegated_by(by_alice, "statement 0"))
		with input as mk_input(
			{"Statement": [
				object.union(enable_iam, {"Sid": ""}),
				{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Condition": {"StringNotEquals": {"kms:ViaService": "elasticfilesystem.eu-west-1.amazonaws.com"}}},
				{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/x"}, "Action": "kms:Decrypt"},
			]},
			"CUSTOMER",
		)
}

test_compliant_aws_managed if {
	rule.results == want("COMPLIANT", "key is AWS managed: AWS maintains its key policy") with input as mk_input(null, "AWS")
}

test_non_compliant_deny_through_not_principal if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement OnlyAdmin denies %s", [by_alice, all_actions])))
		with input as mk_input(
			{"Statement": [
				enable_iam,
				{"Sid": "OnlyAdmin", "Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:root"]}, "Action": "kms:*", "Resource": "*"},
			]},
			"CUSTOMER",
		)
}

test_non_compliant_deny_to_the_account_root if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement 1 denies kms:CreateGrant", [by_alice])))
		with input as mk_input(
			{"Statement": [enable_iam, {"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "kms:CreateGrant", "Resource": "*"}]},
			"CUSTOMER",
		)
}

test_non_compliant_deny_whose_condition_efs_meets if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement NoEFS denies kms:CreateGrant, kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext", [by_alice])))
		with input as mk_input(
			{"Statement": [
				enable_iam,
				{"Sid": "NoEFS", "Effect": "Deny", "Principal": "*", "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:CreateGrant"], "Resource": "*", "Condition": {"StringLike": {"kms:ViaService": "elasticfilesystem.*.amazonaws.com"}}},
			]},
			"CUSTOMER",
		)
}

test_non_compliant_unconditional_deny_everyone if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement 1 denies kms:CreateGrant", [by_alice])))
		with input as mk_input(
			{"Statement": [
				allow("kms:*"),
				{"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "kms:CreateGrant", "Condition": {}},
			]},
			"CUSTOMER",
		)
}

test_non_compliant_unknown_creator_denied_to_everyone if {
	rule.results == want("NON_COMPLIANT", blocked("for fs-1 (creator unknown): statement 1 denies kms:Decrypt"))
		with input as mk_input_by(
			{"Statement": [enable_iam, {"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]},
			"CUSTOMER",
			"",
		)
}

test_non_compliant_allow_for_another_service_only if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows %s", [by_alice, all_actions])))
		with input as mk_input(
			{"Statement": [object.union(allow("kms:*"), {"Condition": {"StringEquals": {"kms:ViaService": "ec2.eu-west-1.amazonaws.com"}}})]},
			"CUSTOMER",
		)
}

test_non_compliant_kms_star_to_another_account_only if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows %s", [by_alice, all_actions])))
		with input as mk_input({"Statement": [object.union(enable_iam, {"Principal": {"AWS": "arn:aws:iam::444455556666:root"}})]}, "CUSTOMER")
}

test_non_compliant_allow_with_a_condition_efs_may_not_meet if {
	rule.results == want("NON_COMPLIANT", sprintf(
		"key policy does not grant EFS: for %s: statement 0 may not apply (the request may or may not carry aws:SourceVpce) to %s",
		[by_alice, all_actions],
	))
		with input as mk_input(
			{"Statement": [object.union(allow("kms:*"), {"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})]},
			"CUSTOMER",
		)
}

test_non_compliant_missing_actions if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows kms:CreateGrant, kms:DescribeKey", [by_alice])))
		with input as mk_input({"Statement": [allow(["kms:Decrypt", "kms:GenerateDataKey*", "kms:[C]reateGrant"])]}, "CUSTOMER")
}

test_non_compliant_generate_data_key_only if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows kms:GenerateDataKeyWithoutPlaintext", [by_alice])))
		with input as mk_input({"Statement": [allow(["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant", "kms:DescribeKey"])]}, "CUSTOMER")
}

test_non_compliant_not_action_excludes if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows kms:Decrypt", [by_alice])))
		with input as mk_input({"Statement": {"Effect": "Allow", "Principal": "*", "NotAction": ["kms:Decrypt"]}}, "CUSTOMER")
}

test_non_compliant_no_statements if {
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows %s", [by_alice, all_actions])))
		with input as mk_input({"Version": "2012-10-17"}, "CUSTOMER")
}

test_non_compliant_one_of_two_file_systems if {
	rule.results == want("NON_COMPLIANT", blocked("for fs-2 (created by arn:aws:iam::111122223333:user/bob): no statement allows kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"))
		with input as object.union(
			mk_input({"Statement": [allow("kms:*")]}, "CUSTOMER"),
			{"file_systems": [
				{"arn": "arn:fs-1", "id": "fs-1", "account": "111122223333", "region": "eu-west-1", "creator": alice},
				{"arn": "arn:fs-2", "id": "fs-2", "account": "", "region": "", "creator": "arn:aws:iam::111122223333:user/bob"},
			]},
		)
}

test_not_applicable_unknown_creator_and_named_principals if {
	rule.results == want("NOT_APPLICABLE", sprintf(
		"whether the key policy lets EFS use the key is unknown: for fs-1 (creator unknown): statement 0 may allow (it names principals the requester may or may not be) %s",
		[all_actions],
	))
		with input as mk_input_by({"Statement": [allow("kms:*")]}, "CUSTOMER", "")
}

test_not_applicable_deny_on_an_unknown_key if {
	rule.results == want("NOT_APPLICABLE", sprintf(
		"whether the key policy lets EFS use the key is unknown: for %s: statement OrgOnly may deny (the request may or may not carry aws:PrincipalOrgID) %s",
		[by_alice, all_actions],
	))
		with input as mk_input(
			{"Statement": [
				enable_iam,
				{"Sid": "OrgOnly", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}},
			]},
			"CUSTOMER",
		)
}

test_not_applicable_policy_unknown if {
	rule.results == want("NOT_APPLICABLE", "key policy is unknown") with input as mk_input(null, "CUSTOMER")
}

test_not_applicable_no_live_file_system if {
	rule.results == want("NOT_APPLICABLE", "the key protects no live file system")
		with input as object.union(mk_input(null, "CUSTOMER"), {"file_systems": []})
}

test_not_applicable_file_system_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(null, "CUSTOMER"), {"resource_type": "AWS::EFS::FileSystem"})
}

# A Deny on every principal but one role, written with aws:PrincipalArn (as
# in the IAM user guide's aws:PrincipalArn key); EFS calls as alice, an IAM
# user, whose ARN is the principal ARN:
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
test_non_compliant_deny_on_principal_arn if {
	deny := {"Sid": "OnlyAdmin", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Admin"}}}
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement OnlyAdmin denies %s", [by_alice, all_actions])))
		with input as mk_input({"Statement": [enable_iam, deny]}, "CUSTOMER")
}

test_non_compliant_deny_on_principal_account if {
	deny := {"Sid": "OtherOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringNotEquals": {"aws:PrincipalAccount": "444455556666"}}}
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: statement OtherOrg denies kms:Decrypt", [by_alice])))
		with input as mk_input({"Statement": [enable_iam, deny]}, "CUSTOMER")
}

# For a role session aws:PrincipalArn is the role's ARN, path included, which
# the session ARN does not show: the Deny may apply.
test_not_applicable_deny_on_principal_arn_for_a_role_session if {
	deny := {"Sid": "OnlyAdmin", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Admin"}}}
	rule.results == want("NOT_APPLICABLE", "whether the key policy lets EFS use the key is unknown: for fs-1 (created by arn:aws:sts::111122223333:assumed-role/Ops/s1): statement OnlyAdmin may deny (the request may or may not carry aws:PrincipalArn) kms:Decrypt")
		with input as mk_input_by({"Statement": [enable_iam, deny]}, "CUSTOMER", "arn:aws:sts::111122223333:assumed-role/Ops/s1")
}

# The key-user statements of the key policy the KMS console writes: use of
# the key, and grants only for AWS resources:
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-users
test_compliant_grant_only_for_aws_resources if {
	use := {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": alice}, "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}
	attach := {"Sid": "Allow attachment of persistent resources", "Effect": "Allow", "Principal": {"AWS": alice}, "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*", "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
	rule.results == want("COMPLIANT", sprintf("for %s: statement Allow attachment of persistent resources allows EFS kms:CreateGrant; statement Allow use of the key allows EFS kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext", [by_alice]))
		with input as mk_input({"Statement": [use, attach]}, "CUSTOMER")
}

# A key policy may name the key by its ARN instead of "*"; a statement that
# names another key does not apply to this one.
# https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html
test_statement_naming_the_key_or_another if {
	this_key := object.union(allow("kms:*"), {"Resource": "arn:aws:kms:eu-west-1:111122223333:key/k1"})
	other_key := object.union(allow("kms:*"), {"Resource": "arn:aws:kms:eu-west-1:111122223333:key/k2"})
	rule.results == want("COMPLIANT", allowed_by("statement 0")) with input as mk_input({"Statement": [this_key]}, "CUSTOMER")
	rule.results == want("NON_COMPLIANT", blocked(sprintf("for %s: no statement allows %s", [by_alice, all_actions])))
		with input as mk_input({"Statement": [other_key]}, "CUSTOMER")
}
