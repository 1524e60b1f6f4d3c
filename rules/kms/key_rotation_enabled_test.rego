package atrest.kms.key_rotation_enabled_test

import data.atrest.kms.key_rotation_enabled as rule

key(overrides) := object.union(
	{
		"known": true, "key_manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
		"origin": "AWS_KMS", "key_state": "Enabled", "rotation_enabled": true, "rotation_period_days": 365,
	},
	overrides,
)

mk_input(k, max_days) := {
	"resource_type": "AWS::KMS::Key",
	"resource": "arn:aws:kms:eu-west-1:111122223333:key/k1",
	"file_system": null,
	"key": k,
	"file_systems": null,
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": max_days},
}

want(status, reason) := {{"rule": "kms_key_rotation_enabled", "status": status, "reason": reason}}

test_compliant_rotation_enabled if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled every 365 days") with input as mk_input(key({}), 0)
}

test_compliant_rotation_within_maximum if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled every 180 days")
		with input as mk_input(key({"rotation_period_days": 180}), 365)
}

test_compliant_period_unknown_no_maximum if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled") with input as mk_input(key({"rotation_period_days": 0}), 0)
}

test_non_compliant_rotation_disabled if {
	rule.results == want("NON_COMPLIANT", "automatic key rotation is disabled")
		with input as mk_input(key({"rotation_enabled": false}), 0)
}

test_non_compliant_period_too_long if {
	rule.results == want("NON_COMPLIANT", "rotation period is 730 days, more than max_rotation_period_days 365")
		with input as mk_input(key({"rotation_period_days": 730}), 365)
}

test_not_applicable_rotation_unknown if {
	rule.results == want("NOT_APPLICABLE", "rotation status unknown") with input as mk_input(key({"rotation_enabled": null}), 0)
}

test_not_applicable_period_unknown_with_maximum if {
	rule.results == want("NOT_APPLICABLE", "automatic key rotation is enabled but the rotation period is unknown, so max_rotation_period_days 365 cannot be checked")
		with input as mk_input(key({"rotation_period_days": 0}), 365)
}

test_not_applicable_key_unknown if {
	rule.results == want("NOT_APPLICABLE", "key metadata is unknown") with input as mk_input(null, 0)
}

test_not_applicable_aws_managed if {
	rule.results == want("NOT_APPLICABLE", "key is AWS managed: AWS rotates it every year")
		with input as mk_input(key({"key_manager": "AWS"}), 0)
}

test_not_applicable_manager_unknown if {
	rule.results == want("NOT_APPLICABLE", "key manager is unknown") with input as mk_input(key({"key_manager": ""}), 0)
}

test_not_applicable_hmac if {
	rule.results == want("NOT_APPLICABLE", "key spec is HMAC_256: automatic rotation applies only to symmetric encryption keys")
		with input as mk_input(key({"key_spec": "HMAC_256", "key_usage": "GENERATE_VERIFY_MAC"}), 0)
}

test_not_applicable_usage if {
	rule.results == want("NOT_APPLICABLE", "key usage is GENERATE_VERIFY_MAC: automatic rotation applies only to symmetric encryption keys")
		with input as mk_input(key({"key_usage": "GENERATE_VERIFY_MAC"}), 0)
}

# A SYMMETRIC_DEFAULT key can only have ENCRYPT_DECRYPT usage.
test_compliant_usage_implied_by_spec if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled every 365 days") with input as mk_input(key({"key_usage": ""}), 0)
}

test_not_applicable_usage_and_spec_unknown if {
	rule.results == want("NOT_APPLICABLE", "key spec is unknown: automatic rotation applies only to symmetric encryption keys")
		with input as mk_input(key({"key_usage": "", "key_spec": ""}), 0)
}

# What a successful DisableKeyRotation or EnableKeyRotation record alone
# proves (event-only mode, CreateKey never seen): a customer managed
# SYMMETRIC_DEFAULT key with AWS_KMS origin, its state unknown.
event_only_key(rotation, days) := {
	"known": true, "key_manager": "CUSTOMER", "key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT",
	"origin": "AWS_KMS", "key_state": "", "rotation_enabled": rotation, "rotation_period_days": days,
}

test_non_compliant_disable_key_rotation_alone if {
	rule.results == want("NON_COMPLIANT", "automatic key rotation is disabled")
		with input as mk_input(event_only_key(false, 0), 0)
}

test_non_compliant_enable_key_rotation_alone_over_maximum if {
	rule.results == want("NON_COMPLIANT", "rotation period is 365 days, more than max_rotation_period_days 180")
		with input as mk_input(event_only_key(true, 365), 180)
}

test_compliant_enable_key_rotation_alone if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled every 365 days")
		with input as mk_input(event_only_key(true, 365), 365)
}

# Multi-Region replicas share their primary's rotation, managed on the
# primary only.

primary_arn := "arn:aws:kms:us-east-1:111122223333:key/mrk-1"

replica(primary) := key({
	"rotation_enabled": null, "rotation_period_days": 0, "multi_region": true,
	"multi_region_key_type": "REPLICA", "primary_key_arn": primary_arn, "primary": primary,
})

on_primary := concat("", [" on primary key ", primary_arn, ", which this multi-Region replica shares"])

test_compliant_replica_follows_primary if {
	rule.results == want("COMPLIANT", concat("", ["automatic key rotation is enabled every 180 days", on_primary]))
		with input as mk_input(replica({"arn": primary_arn, "known": true, "rotation_enabled": true, "rotation_period_days": 180}), 365)
}

test_non_compliant_replica_primary_rotation_disabled if {
	rule.results == want("NON_COMPLIANT", concat("", ["automatic key rotation is disabled", on_primary]))
		with input as mk_input(replica({"arn": primary_arn, "known": true, "rotation_enabled": false, "rotation_period_days": 0}), 0)
}

test_non_compliant_replica_primary_period_too_long if {
	rule.results == want("NON_COMPLIANT", concat("", ["rotation period is 730 days", on_primary, ", more than max_rotation_period_days 365"]))
		with input as mk_input(replica({"arn": primary_arn, "known": true, "rotation_enabled": true, "rotation_period_days": 730}), 365)
}

test_not_applicable_replica_primary_rotation_unknown if {
	rule.results == want("NOT_APPLICABLE", concat("", ["rotation status unknown", on_primary]))
		with input as mk_input(replica({"arn": primary_arn, "known": false, "rotation_enabled": null, "rotation_period_days": 0}), 0)
}

test_not_applicable_replica_primary_period_unknown if {
	rule.results == want("NOT_APPLICABLE", concat("", [
		"automatic key rotation is enabled", on_primary,
		" but the rotation period is unknown, so max_rotation_period_days 365 cannot be checked",
	]))
		with input as mk_input(replica({"arn": primary_arn, "known": true, "rotation_enabled": true, "rotation_period_days": 0}), 365)
}

test_not_applicable_replica_primary_unknown if {
	rule.results == want("NOT_APPLICABLE", "key is a multi-Region replica whose primary key is unknown: automatic rotation is managed on the primary")
		with input as mk_input(replica(null), 0)
}

# A replica's own rotation field plays no part: only the primary's counts.
test_non_compliant_replica_own_rotation_ignored if {
	k := object.union(replica({"arn": primary_arn, "known": true, "rotation_enabled": false, "rotation_period_days": 0}), {"rotation_enabled": true})
	rule.results == want("NON_COMPLIANT", concat("", ["automatic key rotation is disabled", on_primary])) with input as mk_input(k, 0)
}

test_compliant_multi_region_primary if {
	rule.results == want("COMPLIANT", "automatic key rotation is enabled every 365 days")
		with input as mk_input(key({"multi_region": true, "multi_region_key_type": "PRIMARY", "primary_key_arn": primary_arn}), 0)
}

test_not_applicable_imported_material if {
	rule.results == want("NOT_APPLICABLE", "key origin is EXTERNAL: imported key material is rotated by hand")
		with input as mk_input(key({"origin": "EXTERNAL"}), 0)
}

test_not_applicable_cloudhsm if {
	rule.results == want("NOT_APPLICABLE", "key origin is AWS_CLOUDHSM: KMS does not rotate keys in a custom key store")
		with input as mk_input(key({"origin": "AWS_CLOUDHSM"}), 0)
}

test_not_applicable_origin_unknown if {
	rule.results == want("NOT_APPLICABLE", "key origin is unknown: automatic rotation applies only to key material generated by KMS")
		with input as mk_input(key({"origin": ""}), 0)
}

test_not_applicable_pending_deletion if {
	rule.results == want("NOT_APPLICABLE", "key state is PendingDeletion (deletion scheduled)")
		with input as mk_input(key({"key_state": "PendingDeletion"}), 0)
}

test_not_applicable_file_system_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(key({}), 0), {"resource_type": "AWS::EFS::FileSystem"})
}
