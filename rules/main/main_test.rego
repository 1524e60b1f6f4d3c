package main_test

import data.main

deny_plaintext := {"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}

test_compliant_file_system_all_rules if {
	main.results == {
		{"rule": "efs_encrypted_at_rest", "status": "COMPLIANT", "reason": "encrypted with key arn:aws:kms:eu-west-1:111122223333:key/k1"},
		{"rule": "efs_encryption_in_transit_enforced", "status": "COMPLIANT", "reason": "file-system policy stops anonymous clients without TLS: statement 0 denies ClientMount, ClientRootAccess, ClientWrite"},
	} with input as {
		"resource_type": "AWS::EFS::FileSystem",
		"resource": "arn:fs-1",
		"file_system": {
			"id": "fs-1", "encrypted": true, "deleted": false,
			"kms_key_id": "arn:aws:kms:eu-west-1:111122223333:key/k1",
			"kms_key_arn": "arn:aws:kms:eu-west-1:111122223333:key/k1",
			"policy": deny_plaintext,
			"policy_relative": {"policy": deny_plaintext, "resource": "*"},
		},
		"key": null, "file_systems": null, "event": null,
		"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
	}
}

test_not_applicable_unknown_key_all_rules if {
	main.results == {
		{"rule": "efs_kms_key_available", "status": "NOT_APPLICABLE", "reason": "the key protects no live file system"},
		{"rule": "efs_kms_key_policy_grants_efs", "status": "NOT_APPLICABLE", "reason": "the key protects no live file system"},
		{"rule": "efs_kms_key_symmetric", "status": "NOT_APPLICABLE", "reason": "the key protects no live file system"},
		{"rule": "efs_kms_key_verified", "status": "NOT_APPLICABLE", "reason": "no envelope round trip was performed for the key"},
		{"rule": "kms_key_rotation_enabled", "status": "NOT_APPLICABLE", "reason": "key metadata is unknown"},
	} with input as {
		"resource_type": "AWS::KMS::Key", "resource": "arn:k", "file_system": null, "key": null,
		"file_systems": null, "event": null,
		"config": {"allowed_kms_key_arns": null, "require_customer_managed_keys": false, "max_rotation_period_days": 0},
	}
}

test_not_applicable_unknown_resource_type_gives_nothing if {
	count(main.results) == 0 with input as {"resource_type": "AWS::S3::Bucket"}
}

test_non_compliant_trail_all_rules if {
	main.results == {{"rule": "cloudtrail_monitoring_intact", "status": "NON_COMPLIANT", "reason": "trail t: logging is off"}} with input as {
		"resource_type": "AWS::CloudTrail::Trail", "resource": "arn:aws:cloudtrail:us-east-1:1:trail/t",
		"file_system": null, "key": null, "file_systems": null, "watched": null, "event": null,
		"trail": {"arn": "arn:aws:cloudtrail:us-east-1:1:trail/t", "name": "t", "logging": "off", "deleted": false},
		"config": {"watched_trails": []},
	}
}

test_compliant_new_service_collected_lib_ignored if {
	main.results == {{"rule": "s3_new_rule", "status": "COMPLIANT", "reason": "r"}} with input as {"resource_type": "AWS::S3::Bucket"}
		with data.atrest.s3.new_rule.results as {{"rule": "s3_new_rule", "status": "COMPLIANT", "reason": "r"}}
		with data.atrest.lib.helper.results as {{"rule": "lib_helper", "status": "COMPLIANT", "reason": "r"}}
}
