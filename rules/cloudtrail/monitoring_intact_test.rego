package atrest.cloudtrail.monitoring_intact_test

import data.atrest.cloudtrail.monitoring_intact as rule

trail(overrides) := object.union(
	{
		"arn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org", "name": "org",
		"account": "111122223333", "region": "us-east-1", "home_region": "us-east-1", "known": true,
		"logging": "on", "multi_region": true, "include_global_events": true, "s3_bucket": "logs",
		"baseline_multi_region": true, "baseline_s3_bucket": "logs",
		"management_events": "all", "excluded_sources": [], "deleted": false,
	},
	overrides,
)

event_rule(overrides) := object.union(
	{
		"kind": "event_rule", "arn": "arn:aws:events:us-east-1:111122223333:rule/atrest-trail-events",
		"name": "atrest-trail-events", "account": "111122223333", "region": "us-east-1",
		"event_bus": "default", "log_group": "", "state": "ENABLED", "removed_targets": [],
	},
	overrides,
)

filter(overrides) := object.union(
	{
		"kind": "subscription_filter",
		"arn": "arn:aws:logs:us-east-1:111122223333:log-group:trail:subscription-filter:atrest",
		"name": "atrest", "account": "111122223333", "region": "us-east-1",
		"event_bus": "", "log_group": "trail", "state": "ENABLED", "removed_targets": [],
	},
	overrides,
)

config(overrides) := object.union(
	{
		"allowed_kms_key_arns": [], "require_customer_managed_keys": false, "max_rotation_period_days": 0,
		"watched_trails": [], "watched_event_rules": ["atrest-trail-events"], "watched_subscription_filters": ["trail:*"],
	},
	overrides,
)

mk_input(t, w, cfg) := {
	"resource_type": "AWS::CloudTrail::Trail",
	"resource": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
	"file_system": null, "key": null, "file_systems": null,
	"trail": t, "watched": w, "event": null, "config": cfg,
}

want(status, reason) := {{"rule": "cloudtrail_monitoring_intact", "status": status, "reason": reason}}

test_compliant_trail_logging if {
	rule.results == want("COMPLIANT", "trail org is logging") with input as mk_input(trail({}), null, config({}))
}

test_compliant_trail_named_in_watched_trails if {
	rule.results == want("COMPLIANT", "trail org is logging")
		with input as mk_input(trail({}), null, config({"watched_trails": ["arn:aws:cloudtrail:us-east-1:111122223333:trail/org"]}))
}

test_compliant_single_region_trail_never_multi_region if {
	rule.results == want("COMPLIANT", "trail org is logging")
		with input as mk_input(trail({"multi_region": false, "baseline_multi_region": false}), null, config({}))
}

test_non_compliant_logging_stopped if {
	rule.results == want("NON_COMPLIANT", "trail org: logging is off")
		with input as mk_input(trail({"logging": "off"}), null, config({}))
}

test_non_compliant_trail_deleted if {
	rule.results == want("NON_COMPLIANT", "trail org was deleted")
		with input as mk_input(trail({"deleted": true, "logging": "off"}), null, config({}))
}

test_non_compliant_multi_region_turned_off if {
	rule.results == want("NON_COMPLIANT", "trail org: multi-region logging was turned off")
		with input as mk_input(trail({"multi_region": false}), null, config({}))
}

test_non_compliant_bucket_changed if {
	rule.results == want("NON_COMPLIANT", "trail org: log files go to S3 bucket elsewhere, not logs")
		with input as mk_input(trail({"s3_bucket": "elsewhere"}), null, config({}))
}

test_non_compliant_no_management_events if {
	rule.results == want("NON_COMPLIANT", "trail org: event selectors log no management events")
		with input as mk_input(trail({"management_events": "none"}), null, config({}))
}

test_non_compliant_read_only_management_events if {
	rule.results == want("NON_COMPLIANT", "trail org: event selectors log only read-only management events")
		with input as mk_input(trail({"management_events": "read_only"}), null, config({}))
}

test_non_compliant_sources_excluded if {
	rule.results == want(
		"NON_COMPLIANT",
		"trail org: event selectors do not log write management events from elasticfilesystem.amazonaws.com, kms.amazonaws.com",
	) with input as mk_input(trail({"excluded_sources": ["kms.amazonaws.com", "elasticfilesystem.amazonaws.com"]}), null, config({}))
}

test_non_compliant_several_problems_joined if {
	rule.results == want(
		"NON_COMPLIANT",
		"trail org: event selectors do not log write management events from kms.amazonaws.com; logging is off",
	) with input as mk_input(trail({"logging": "off", "excluded_sources": ["kms.amazonaws.com"]}), null, config({}))
}

test_non_compliant_unnamed_trail_labelled_by_arn if {
	rule.results == want("NON_COMPLIANT", "trail arn:aws:cloudtrail:us-east-1:111122223333:trail/org: logging is off")
		with input as mk_input(trail({"name": "", "logging": "off"}), null, config({}))
}

test_non_compliant_log_file_altered if {
	rule.results == want(
		"NON_COMPLIANT",
		"trail org: integrity: log file s3://logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/a.json.gz altered (its hash does not match its digest)",
	) with input as mk_input(
		trail({"integrity_failures": ["log file s3://logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/22/a.json.gz altered (its hash does not match its digest)"]}),
		null, config({}),
	)
}

test_non_compliant_integrity_failure_of_a_trail_known_by_name_only if {
	rule.results == want("NON_COMPLIANT", "trail org: integrity: digest s3://logs/d.json.gz: signature verification failed")
		with input as mk_input(
			trail({"known": false, "logging": "", "multi_region": null, "baseline_multi_region": null, "s3_bucket": "", "baseline_s3_bucket": "", "management_events": "", "excluded_sources": null, "integrity_failures": ["digest s3://logs/d.json.gz: signature verification failed"]}),
			null, config({}),
		)
}

test_compliant_no_integrity_failures if {
	rule.results == want("COMPLIANT", "trail org is logging")
		with input as mk_input(trail({"integrity_failures": null}), null, config({}))
}

test_not_applicable_integrity_failure_of_a_trail_not_watched if {
	rule.results == want("NOT_APPLICABLE", "trail org is not in watched_trails")
		with input as mk_input(trail({"integrity_failures": ["digest s3://logs/d.json.gz: signature verification failed"]}), null, config({"watched_trails": ["other"]}))
}

test_not_applicable_trail_not_watched if {
	rule.results == want("NOT_APPLICABLE", "trail org is not in watched_trails")
		with input as mk_input(trail({"logging": "off"}), null, config({"watched_trails": ["other"]}))
}

test_not_applicable_logging_unknown if {
	rule.results == want("NOT_APPLICABLE", "trail org: logging status unknown")
		with input as mk_input(trail({"logging": ""}), null, config({}))
}

test_not_applicable_config_lists_absent if {
	rule.results == want("NOT_APPLICABLE", "EventBridge rule atrest-trail-events is not in watched_event_rules")
		with input as mk_input(null, event_rule({}), {"allowed_kms_key_arns": null})
}

test_compliant_event_rule_enabled if {
	rule.results == want("COMPLIANT", "watched EventBridge rule atrest-trail-events is enabled")
		with input as mk_input(null, event_rule({}), config({}))
}

test_compliant_event_rule_by_arn if {
	rule.results == want("COMPLIANT", "watched EventBridge rule atrest-trail-events is enabled")
		with input as mk_input(null, event_rule({}), config({"watched_event_rules": ["arn:aws:events:us-east-1:111122223333:rule/atrest-trail-events"]}))
}

test_non_compliant_event_rule_deleted if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events was deleted")
		with input as mk_input(null, event_rule({"state": "DELETED", "removed_targets": ["atrest"]}), config({}))
}

test_non_compliant_event_rule_disabled if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events is disabled")
		with input as mk_input(null, event_rule({"state": "DISABLED"}), config({}))
}

test_non_compliant_event_rule_targets_removed if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: targets a, b were removed")
		with input as mk_input(null, event_rule({"removed_targets": ["b", "a"]}), config({}))
}

test_non_compliant_targets_removed_state_unknown if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: targets atrest were removed")
		with input as mk_input(null, event_rule({"state": "", "removed_targets": ["atrest"]}), config({}))
}

test_not_applicable_event_rule_not_watched if {
	rule.results == want("NOT_APPLICABLE", "EventBridge rule other is not in watched_event_rules")
		with input as mk_input(null, event_rule({"name": "other", "arn": "arn:aws:events:us-east-1:111122223333:rule/other", "state": "DELETED"}), config({}))
}

test_not_applicable_event_rule_state_unknown if {
	rule.results == want("NOT_APPLICABLE", "watched EventBridge rule atrest-trail-events: state unknown")
		with input as mk_input(null, event_rule({"state": ""}), config({}))
}

test_compliant_subscription_filter_in_place if {
	rule.results == want("COMPLIANT", "watched subscription filter atrest on log group trail is in place")
		with input as mk_input(null, filter({}), config({}))
}

test_non_compliant_subscription_filter_deleted if {
	rule.results == want("NON_COMPLIANT", "watched subscription filter atrest on log group trail was deleted")
		with input as mk_input(null, filter({"state": "DELETED"}), config({"watched_subscription_filters": ["trail:atrest"]}))
}

test_not_applicable_subscription_filter_not_watched if {
	rule.results == want("NOT_APPLICABLE", "subscription filter atrest on log group trail is not in watched_subscription_filters")
		with input as mk_input(null, filter({"state": "DELETED"}), config({"watched_subscription_filters": ["other:atrest", "trail:other"]}))
}

test_not_applicable_unknown_watched_kind if {
	rule.results == want("NOT_APPLICABLE", "queue arn:q is not in watched_subscription_filters")
		with input as mk_input(null, {"kind": "queue", "arn": "arn:q"}, config({}))
}

test_not_applicable_nothing_to_judge if {
	rule.results == want("NOT_APPLICABLE", "the input holds neither a trail nor a watched resource")
		with input as mk_input(null, null, config({}))
}

test_not_applicable_other_resource_type_gives_nothing if {
	count(rule.results) == 0 with input as object.union(mk_input(trail({}), null, config({})), {"resource_type": "AWS::KMS::Key"})
}

# Patterns, targets, log groups and CloudWatch Logs delivery.

kms := "kms.amazonaws.com"

efs := "elasticfilesystem.amazonaws.com"

test_compliant_event_rule_pattern_matches_everything if {
	rule.results == want("COMPLIANT", "watched EventBridge rule atrest-trail-events is enabled")
		with input as mk_input(null, event_rule({"pattern_known": true, "pattern_error": "", "dropped": [], "retargeted": []}), config({}))
}

test_non_compliant_event_rule_pattern_narrowed if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: its event pattern no longer matches kms.amazonaws.com calls DisableKey, EnableKey")
		with input as mk_input(null, event_rule({"pattern_known": true, "pattern_error": "", "dropped": [{"source": kms, "event_names": ["DisableKey", "EnableKey"], "all": false}]}), config({}))
}

test_non_compliant_event_rule_pattern_matches_neither_kms_nor_efs if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: its event pattern matches no elasticfilesystem.amazonaws.com call atrest judges; its event pattern matches no kms.amazonaws.com call atrest judges")
		with input as mk_input(
			null,
			event_rule({"pattern_known": true, "pattern_error": "", "dropped": [
				{"source": efs, "event_names": ["CreateFileSystem"], "all": true},
				{"source": kms, "event_names": ["CreateKey"], "all": true},
			]}),
			config({}),
		)
}

test_non_compliant_event_rule_pattern_unreadable if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: atrest cannot read its event pattern (event pattern cannot be read: not JSON)")
		with input as mk_input(null, event_rule({"pattern_known": true, "pattern_error": "event pattern cannot be read: not JSON", "dropped": []}), config({}))
}

test_non_compliant_event_rule_target_repointed if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: target fn points to arn:aws:sqs:us-east-1:111122223333:q, not arn:aws:lambda:us-east-1:111122223333:function:atrest")
		with input as mk_input(
			null,
			event_rule({"retargeted": [{"id": "fn", "arn": "arn:aws:sqs:us-east-1:111122223333:q", "expected": "arn:aws:lambda:us-east-1:111122223333:function:atrest"}]}),
			config({}),
		)
}

test_non_compliant_event_rule_targets_removed_and_pattern_narrowed if {
	rule.results == want("NON_COMPLIANT", "watched EventBridge rule atrest-trail-events: its event pattern no longer matches kms.amazonaws.com calls DisableKey; targets fn were removed")
		with input as mk_input(null, event_rule({"removed_targets": ["fn"], "pattern_known": true, "dropped": [{"source": kms, "event_names": ["DisableKey"], "all": false}]}), config({}))
}

test_compliant_subscription_filter_pattern_passes_everything if {
	rule.results == want("COMPLIANT", "watched subscription filter atrest on log group trail is in place")
		with input as mk_input(null, filter({"pattern_known": true, "pattern_error": "", "dropped": [], "log_group_deleted": false}), config({}))
}

test_non_compliant_subscription_filter_drops_efs if {
	rule.results == want("NON_COMPLIANT", "watched subscription filter atrest on log group trail: its filter pattern drops every elasticfilesystem.amazonaws.com record")
		with input as mk_input(null, filter({"pattern_known": true, "pattern_error": "", "dropped": [{"source": efs, "event_names": ["CreateFileSystem"], "all": true}]}), config({}))
}

test_non_compliant_subscription_filter_drops_some_kms if {
	rule.results == want("NON_COMPLIANT", "watched subscription filter atrest on log group trail: its filter pattern drops kms.amazonaws.com records DisableKey")
		with input as mk_input(null, filter({"pattern_known": true, "pattern_error": "", "dropped": [{"source": kms, "event_names": ["DisableKey"], "all": false}]}), config({}))
}

test_non_compliant_subscription_filter_pattern_unreadable if {
	rule.results == want("NON_COMPLIANT", "watched subscription filter atrest on log group trail: atrest cannot read its filter pattern (filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read)")
		with input as mk_input(null, filter({"pattern_known": true, "pattern_error": "filter pattern cannot be read: only JSON filter patterns ({ $.field = value }) are read", "dropped": []}), config({}))
}

test_non_compliant_log_group_deleted if {
	rule.results == want("NON_COMPLIANT", "log group trail of watched subscription filter atrest on log group trail was deleted")
		with input as mk_input(null, filter({"state": "DELETED", "log_group_deleted": true}), config({}))
}

any_filter := filter({
	"arn": "arn:aws:logs:us-east-1:111122223333:log-group:trail:subscription-filter:*", "name": "*",
	"state": "DELETED", "log_group_deleted": true,
})

test_non_compliant_log_group_of_named_filter_deleted if {
	rule.results == want("NON_COMPLIANT", "log group trail of watched subscription filter * on log group trail was deleted")
		with input as mk_input(null, any_filter, config({"watched_subscription_filters": ["trail:atrest"]}))
}

test_not_applicable_deleted_log_group_not_watched if {
	rule.results == want("NOT_APPLICABLE", "subscription filter * on log group trail is not in watched_subscription_filters")
		with input as mk_input(null, any_filter, config({"watched_subscription_filters": ["other:atrest"]}))
}

test_compliant_log_group_recreated if {
	rule.results == want("COMPLIANT", "watched subscription filter * on log group trail is in place")
		with input as mk_input(null, object.union(any_filter, {"state": "ENABLED", "log_group_deleted": false}), config({}))
}

cw_trail(overrides) := trail(object.union(
	{
		"cloudwatch_logs_known": true, "cloudwatch_logs_log_group": "trail",
		"baseline_cloudwatch_logs_log_group": "trail", "uncovered_regions": [],
	},
	overrides,
))

test_compliant_trail_delivers_to_watched_log_group if {
	rule.results == want("COMPLIANT", "trail org is logging") with input as mk_input(cw_trail({}), null, config({}))
}

test_non_compliant_trail_cloudwatch_logs_delivery_removed if {
	rule.results == want("NON_COMPLIANT", "trail org: CloudWatch Logs delivery to log group trail, which watched subscription filters read, was removed")
		with input as mk_input(cw_trail({"cloudwatch_logs_log_group": ""}), null, config({}))
}

test_non_compliant_trail_cloudwatch_logs_delivery_moved if {
	rule.results == want("NON_COMPLIANT", "trail org: CloudWatch Logs delivery goes to log group elsewhere, not trail, which watched subscription filters read")
		with input as mk_input(cw_trail({"cloudwatch_logs_log_group": "elsewhere"}), null, config({}))
}

test_compliant_trail_delivery_removed_from_unwatched_group if {
	rule.results == want("COMPLIANT", "trail org is logging")
		with input as mk_input(cw_trail({"cloudwatch_logs_log_group": ""}), null, config({"watched_subscription_filters": ["other:*"]}))
}

test_non_compliant_single_region_trail_misses_monitored_regions if {
	rule.results == want("NON_COMPLIANT", "trail org: single-Region trail logs only us-east-1, not monitored regions eu-west-1, us-west-2")
		with input as mk_input(
			cw_trail({"multi_region": false, "baseline_multi_region": false, "uncovered_regions": ["us-west-2", "eu-west-1"]}),
			null,
			config({}),
		)
}

test_compliant_single_region_trail_in_its_only_monitored_region if {
	rule.results == want("COMPLIANT", "trail org is logging")
		with input as mk_input(cw_trail({"multi_region": false, "baseline_multi_region": false, "uncovered_regions": []}), null, config({}))
}

test_non_compliant_multi_region_turned_off_says_so_once if {
	rule.results == want("NON_COMPLIANT", "trail org: multi-region logging was turned off")
		with input as mk_input(cw_trail({"multi_region": false, "uncovered_regions": ["eu-west-1"]}), null, config({}))
}
