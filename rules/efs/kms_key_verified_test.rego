package atrest.efs.kms_key_verified_test

import data.atrest.efs.kms_key_verified as rule

key_arn := "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

fs := [
	{"arn": "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0b", "id": "fs-0b"},
	{"arn": "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0a", "id": "fs-0a"},
]

mk_input(verification, file_systems) := {
	"resource_type": "AWS::KMS::Key",
	"resource": key_arn,
	"file_system": null,
	"key": {"known": true, "key_state": "Enabled", "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT"},
	"file_systems": file_systems,
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
	"verification": verification,
}

passed := {"performed": true, "ok": true, "reason": "", "step": "", "detail": "", "algorithm_suite": "0x0478"}

failed(step, reason, detail) := {
	"performed": true, "ok": false, "reason": reason, "step": step, "detail": detail,
	"algorithm_suite": "0x0478",
}

want(status, reason) := {{"rule": "efs_kms_key_verified", "status": status, "reason": reason}}

test_compliant_round_trip_succeeded if {
	rule.results == want(
		"COMPLIANT",
		"envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite 0x0478, Decrypt; the key protects fs-0a, fs-0b",
	) with input as mk_input(passed, fs)
}

test_compliant_key_protecting_nothing if {
	rule.results == want("COMPLIANT", "envelope round trip succeeded: GenerateDataKey, AES-256-GCM suite 0x0478, Decrypt")
		with input as mk_input(passed, [])
}

test_non_compliant_disabled if {
	v := failed("encrypt", "disabled", "DisabledException: key is disabled.")
	rule.results == want(
		"NON_COMPLIANT",
		"envelope round trip failed at step encrypt: disabled (DisabledException: key is disabled.); the key protects fs-0a, fs-0b",
	) with input as mk_input(v, fs)
}

test_non_compliant_pending_deletion if {
	v := failed("encrypt", "pending_deletion", "KMSInvalidStateException: key is pending deletion.")
	rule.results == want(
		"NON_COMPLIANT",
		"envelope round trip failed at step encrypt: pending_deletion (KMSInvalidStateException: key is pending deletion.); the key protects fs-0a, fs-0b",
	) with input as mk_input(v, fs)
}

test_non_compliant_invalid_key_usage if {
	v := failed("describe", "invalid_key_usage", "key spec RSA_2048")
	rule.results == want("NON_COMPLIANT", "envelope round trip failed at step describe: invalid_key_usage (key spec RSA_2048)")
		with input as mk_input(v, [])
}

test_non_compliant_wrong_key if {
	v := failed("inspect", "wrong_key", "data key wrapped by another key")
	rule.results == want(
		"NON_COMPLIANT",
		"envelope round trip failed at step inspect: wrong_key (data key wrapped by another key); the key protects fs-0a, fs-0b",
	) with input as mk_input(v, fs)
}

test_not_applicable_not_performed if {
	rule.results == want("NOT_APPLICABLE", "no envelope round trip was performed for the key") with input as mk_input(null, fs)
}

test_not_applicable_empty_verification if {
	rule.results == want("NOT_APPLICABLE", "no envelope round trip was performed for the key") with input as mk_input({}, fs)
}

test_not_applicable_inconclusive if {
	v := {"performed": false, "ok": false, "reason": "throttled", "step": "encrypt", "detail": "ThrottlingException: slow down"}
	rule.results == want(
		"NOT_APPLICABLE",
		"the envelope round trip could not be completed: throttled (ThrottlingException: slow down)",
	) with input as mk_input(v, fs)
}

test_not_applicable_file_system_resource if {
	fs_input := object.union(mk_input(passed, fs), {"resource_type": "AWS::EFS::FileSystem"})
	rule.results == set() with input as fs_input
}
