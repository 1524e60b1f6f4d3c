package atrest.efs.kms_key_available_test

import data.atrest.efs.kms_key_available as rule

grant(id, fs, state, overrides) := object.union(
	{"grant_id": id, "file_system_id": fs, "efs": true, "state": state, "retired_after_delete": false},
	overrides,
)

mk_input(state, grants) := {
	"resource_type": "AWS::KMS::Key",
	"resource": "arn:aws:kms:eu-west-1:111122223333:key/k1",
	"file_system": null,
	"key": {"key_state": state, "grants": grants},
	"file_systems": [{"arn": "arn:fs-1", "id": "fs-1"}],
	"event": null,
	"config": {"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0},
}

want(status, reason) := {{"rule": "efs_kms_key_available", "status": status, "reason": reason}}

test_compliant_enabled_with_active_grant if {
	rule.results == want("COMPLIANT", "key state is Enabled and no EFS grant of its file systems is revoked or retired")
		with input as mk_input("Enabled", [grant("g1", "fs-1", "active", {})])
}

test_compliant_revoked_grant_replaced if {
	rule.results == want("COMPLIANT", "key state is Enabled and no EFS grant of its file systems is revoked or retired")
		with input as mk_input("Enabled", [grant("g1", "fs-1", "revoked", {}), grant("g2", "fs-1", "active", {})])
}

test_compliant_retired_after_delete if {
	rule.results == want("COMPLIANT", "key state is Enabled and no EFS grant of its file systems is revoked or retired")
		with input as mk_input("Enabled", [grant("g1", "fs-1", "retired", {"retired_after_delete": true})])
}

test_compliant_grant_for_another_file_system if {
	rule.results == want("COMPLIANT", "key state is Enabled and no EFS grant of its file systems is revoked or retired")
		with input as mk_input("Enabled", [grant("g1", "fs-gone", "revoked", {}), grant("g2", "fs-1", "revoked", {"efs": false})])
}

test_non_compliant_disabled if {
	rule.results == want("NON_COMPLIANT", "key state is Disabled") with input as mk_input("Disabled", null)
}

test_non_compliant_pending_deletion if {
	rule.results == want("NON_COMPLIANT", "key state is PendingDeletion (deletion scheduled)")
		with input as mk_input("PendingDeletion", [])
}

test_non_compliant_pending_import if {
	rule.results == want("NON_COMPLIANT", "key state is PendingImport (no key material imported)")
		with input as mk_input("PendingImport", [])
}

test_non_compliant_unavailable if {
	rule.results == want("NON_COMPLIANT", "key state is Unavailable (custom key store disconnected)")
		with input as mk_input("Unavailable", [])
}

test_non_compliant_deleted if {
	rule.results == want("NON_COMPLIANT", "key was deleted (its scheduled deletion completed)")
		with input as mk_input("PendingDeletion", []) with input.key.deleted as true
}

test_non_compliant_deleted_state_unknown if {
	rule.results == want("NON_COMPLIANT", "key was deleted (its scheduled deletion completed)")
		with input as mk_input("", null) with input.key.deleted as true
}

test_compliant_not_deleted if {
	rule.results == want("COMPLIANT", "key state is Enabled and no EFS grant of its file systems is revoked or retired")
		with input as mk_input("Enabled", []) with input.key.deleted as false
}

test_non_compliant_grant_retired if {
	rule.results == want("NON_COMPLIANT", "EFS grant g1 for file system fs-1 is retired and no active EFS grant remains")
		with input as mk_input("Enabled", [grant("g1", "fs-1", "retired", {})])
}

test_non_compliant_grant_revoked_state_unknown if {
	rule.results == want("NON_COMPLIANT", "EFS grant g1 for file system fs-1 is revoked and no active EFS grant remains")
		with input as mk_input("", [grant("g1", "fs-1", "revoked", {})])
}

test_not_applicable_no_live_file_system if {
	rule.results == want("NOT_APPLICABLE", "the key protects no live file system")
		with input as object.union(mk_input("Disabled", []), {"file_systems": null})
}

test_not_applicable_state_unknown if {
	rule.results == want("NOT_APPLICABLE", "key state is unknown") with input as mk_input("", null)
}

test_not_applicable_file_system_resource_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input("Disabled", []), {"resource_type": "AWS::EFS::FileSystem"})
}
