package atrest.efs.encrypted_at_rest_test

import data.atrest.efs.encrypted_at_rest

key_arn := "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

fs(overrides) := object.union(
	{"id": "fs-0123", "encrypted": true, "known": true, "policy_known": true, "kms_key_id": key_arn, "kms_key_arn": key_arn, "policy": null, "deleted": false},
	overrides,
)

mk_input(file_system, key, config) := {
	"resource_type": "AWS::EFS::FileSystem",
	"resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123",
	"file_system": file_system,
	"key": key,
	"file_systems": null,
	"event": null,
	"config": object.union(
		{"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
		config,
	),
}

cmk := {"key_manager": "CUSTOMER", "aliases": ["alias/data"]}

want(status, reason) := {{"rule": "efs_encrypted_at_rest", "status": status, "reason": reason}}

test_compliant_customer_managed_key if {
	encrypted_at_rest.results == want("COMPLIANT", concat("", ["encrypted with key ", key_arn]))
		with input as mk_input(fs({}), cmk, {"require_customer_managed_keys": true})
}

test_compliant_aws_managed_key_when_not_required if {
	encrypted_at_rest.results == want("COMPLIANT", "encrypted with key alias/aws/elasticfilesystem")
		with input as mk_input(fs({"kms_key_id": "", "kms_key_arn": ""}), null, {})
}

test_compliant_key_in_allowed_list if {
	encrypted_at_rest.results == want("COMPLIANT", concat("", ["encrypted with key ", key_arn]))
		with input as mk_input(fs({}), cmk, {"allowed_kms_key_arns": [key_arn]})
}

test_non_compliant_created_unencrypted if {
	encrypted_at_rest.results == want("NON_COMPLIANT", "created with encrypted=false")
		with input as mk_input(fs({"encrypted": false, "kms_key_id": "", "kms_key_arn": ""}), null, {})
}

test_non_compliant_aws_managed_key_manager if {
	encrypted_at_rest.results == want("NON_COMPLIANT", concat("", [
		"require_customer_managed_keys is set but the file system uses an AWS managed key (key ",
		key_arn, " has key_manager AWS)",
	]))
		with input as mk_input(fs({}), {"key_manager": "AWS", "aliases": null}, {"require_customer_managed_keys": true})
}

test_non_compliant_default_alias_arn if {
	alias_arn := "arn:aws:kms:eu-west-1:111122223333:alias/aws/elasticfilesystem"
	encrypted_at_rest.results == want("NON_COMPLIANT", concat("", [
		"require_customer_managed_keys is set but the file system uses an AWS managed key (key reference ",
		alias_arn, " is the AWS managed key)",
	]))
		with input as mk_input(fs({"kms_key_id": alias_arn, "kms_key_arn": ""}), null, {"require_customer_managed_keys": true})
}

test_non_compliant_key_with_default_alias if {
	encrypted_at_rest.results == want("NON_COMPLIANT", concat("", [
		"require_customer_managed_keys is set but the file system uses an AWS managed key (key ",
		key_arn, " has alias alias/aws/elasticfilesystem)",
	]))
		with input as mk_input(fs({}), {"key_manager": "", "aliases": ["alias/aws/elasticfilesystem"]}, {"require_customer_managed_keys": true})
}

test_non_compliant_no_key_given_and_not_allowed if {
	encrypted_at_rest.results == want(
		"NON_COMPLIANT",
		"require_customer_managed_keys is set but the file system uses an AWS managed key (no key was given, so EFS used alias/aws/elasticfilesystem)",
	)
		with input as mk_input(fs({"kms_key_id": "", "kms_key_arn": ""}), null, {
			"require_customer_managed_keys": true,
			"allowed_kms_key_arns": [key_arn],
		})
}

test_non_compliant_key_not_allowed if {
	other := "arn:aws:kms:eu-west-1:111122223333:key/other"
	encrypted_at_rest.results == want("NON_COMPLIANT", concat("", ["key ", other, " is not in allowed_kms_key_arns"]))
		with input as mk_input(fs({"kms_key_id": "alias/data", "kms_key_arn": other}), cmk, {"allowed_kms_key_arns": [key_arn]})
}

test_not_applicable_key_arn_unknown_with_allow_list if {
	encrypted_at_rest.results == want(
		"NOT_APPLICABLE",
		"allowed_kms_key_arns is set but key alias/data is not resolved to a key ARN",
	)
		with input as mk_input(fs({"kms_key_id": "alias/data", "kms_key_arn": ""}), cmk, {"allowed_kms_key_arns": [key_arn]})
}

test_not_applicable_key_manager_unknown if {
	encrypted_at_rest.results == want("NOT_APPLICABLE", concat("", [
		"require_customer_managed_keys is set but whether key ", key_arn,
		" is customer managed is unknown",
	]))
		with input as mk_input(fs({}), {"key_manager": "", "aliases": []}, {"require_customer_managed_keys": true})
}

test_not_applicable_key_unknown if {
	encrypted_at_rest.results == want("NOT_APPLICABLE", concat("", [
		"require_customer_managed_keys is set but whether key ", key_arn,
		" is customer managed is unknown",
	]))
		with input as mk_input(fs({}), null, {"require_customer_managed_keys": true, "allowed_kms_key_arns": [key_arn]})
}

test_compliant_key_manager_unknown_when_not_required if {
	encrypted_at_rest.results == want("COMPLIANT", concat("", ["encrypted with key ", key_arn]))
		with input as mk_input(fs({}), null, {"allowed_kms_key_arns": [key_arn]})
}

test_not_applicable_deleted if {
	encrypted_at_rest.results == want("NOT_APPLICABLE", "file system is deleted")
		with input as mk_input(fs({"deleted": true}), null, {})
}

test_not_applicable_file_system_unknown if {
	encrypted_at_rest.results == want("NOT_APPLICABLE", "file system is not known")
		with input as mk_input(null, null, {})
}

test_not_applicable_key_resource_gives_nothing if {
	count(encrypted_at_rest.results) == 0 with input as object.union(mk_input(fs({}), cmk, {}), {"resource_type": "AWS::KMS::Key"})
}

test_not_applicable_creation_not_seen if {
	encrypted_at_rest.results == want(
		"NOT_APPLICABLE",
		"creation of the file system was not seen, so whether it is encrypted is unknown",
	)
		with input as mk_input(fs({"known": false, "encrypted": false, "kms_key_id": "", "kms_key_arn": ""}), null, {})
}
