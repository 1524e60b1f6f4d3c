package atrest.efs.kms_key_symmetric_test

import data.atrest.efs.kms_key_symmetric as rule

key_arn := "arn:aws:kms:eu-west-1:111122223333:key/k1"

mk_input(key, file_systems) := {
	"resource_type": "AWS::KMS::Key",
	"resource": key_arn,
	"file_system": null,
	"key": key,
	"file_systems": file_systems,
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

live := [{"arn": "arn:fs-b", "id": "fs-b"}, {"arn": "arn:fs-a", "id": "fs-a"}]

want(status, reason) := {{"rule": "efs_kms_key_symmetric", "status": status, "reason": reason}}

test_compliant_symmetric_default if {
	rule.results == want("COMPLIANT", "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT")
		with input as mk_input({"key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT"}, live)
}

test_non_compliant_asymmetric_spec if {
	rule.results == want("NON_COMPLIANT", "key spec is ECC_NIST_P256, not SYMMETRIC_DEFAULT")
		with input as mk_input({"key_spec": "ECC_NIST_P256", "key_usage": "SIGN_VERIFY"}, live)
}

test_non_compliant_usage if {
	rule.results == want("NON_COMPLIANT", "key usage is GENERATE_VERIFY_MAC, not ENCRYPT_DECRYPT")
		with input as mk_input({"key_spec": "SYMMETRIC_DEFAULT", "key_usage": "GENERATE_VERIFY_MAC"}, live)
}

test_not_applicable_no_live_file_system if {
	rule.results == want("NOT_APPLICABLE", "the key protects no live file system")
		with input as mk_input({"key_spec": "RSA_2048", "key_usage": "ENCRYPT_DECRYPT"}, [])
}

test_not_applicable_spec_unknown if {
	rule.results == want("NOT_APPLICABLE", "key spec is unknown") with input as mk_input(null, live)
}

# A SYMMETRIC_DEFAULT key can only have ENCRYPT_DECRYPT usage; DescribeKey
# answers (moto's, for one) may leave KeyUsage out.
test_compliant_usage_implied_by_spec if {
	rule.results == want("COMPLIANT", "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT")
		with input as mk_input({"key_spec": "SYMMETRIC_DEFAULT", "key_usage": ""}, live)
}

test_compliant_usage_missing_implied_by_spec if {
	rule.results == want("COMPLIANT", "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT")
		with input as mk_input({"key_spec": "SYMMETRIC_DEFAULT"}, live)
}

test_not_applicable_file_system_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(null, live), {"resource_type": "AWS::EFS::FileSystem"})
}
