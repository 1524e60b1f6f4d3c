# METADATA
# title: CloudTrail monitoring that atrest relies on is intact
# description: >-
#   atrest judges encryption at rest from CloudTrail management events, so it
#   must notice when someone turns that evidence off: a trail stopped or
#   deleted, multi-region logging turned off or never on for the monitored
#   regions, log files sent to another S3 bucket, the CloudWatch Logs
#   delivery a watched subscription filter reads removed, event selectors
#   that no longer log write management events from KMS or EFS, a watched
#   EventBridge rule or CloudWatch Logs subscription filter that delivers
#   the events to atrest disabled, deleted (or its log group deleted),
#   stripped of targets, re-pointed elsewhere, or given a pattern that drops
#   KMS or EFS events or that atrest cannot read, and the trail's log files
#   failing integrity validation against CloudTrail's signed digest files
#   (altered, missing or unlisted log files, a digest whose signature or
#   chain does not hold). EventBridge rules and subscription filters are
#   judged as resources of this rule's type, named by their own identifiers.
# related_resources:
#   - ref: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-management-events-with-cloudtrail.html
#   - ref: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html
#   - ref: https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
#   - ref: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
#   - ref: https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-intro.html
#   - ref: https://docs.aws.amazon.com/securityhub/latest/userguide/cloudtrail-controls.html#cloudtrail-1
# custom:
#   id: cloudtrail_monitoring_intact
#   severity: HIGH
#   resource_type: AWS::CloudTrail::Trail
#   settle_after: [CreateTrail]
#   remediation: >-
#     Restart logging (StartLogging); recreate a deleted trail; turn
#     multi-region logging on, restore the S3 bucket and the CloudWatch Logs
#     log group (UpdateTrail);
#     log all write management events, without excluding kms.amazonaws.com or
#     elasticfilesystem.amazonaws.com (PutEventSelectors); re-enable or
#     recreate the EventBridge rule with its event pattern and point its
#     targets back at atrest's function (EnableRule, PutRule, PutTargets);
#     recreate the log group and the subscription filter with a pattern
#     that passes KMS and EFS records (PutSubscriptionFilter). For a log
#     file that fails integrity validation, restore it from a copy whose
#     hash matches its digest, or treat the events of that hour as unproven.
#     Then find out who changed it and why.
#   controls:
#     - AWS Security Hub CloudTrail.1
#     - CIS AWS Foundations Benchmark v3.0.0 3.1
#     - NIST 800-53 AU-12
package atrest.cloudtrail.monitoring_intact

import data.atrest.lib.report

# results holds this rule's one result for a trail, EventBridge rule or
# subscription filter.
results contains {"rule": "cloudtrail_monitoring_intact", "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::CloudTrail::Trail" # a constant, so rule indexing skips other types
}

verdict := trail_verdict if {
	is_object(input.trail)
} else := watched_verdict if {
	is_object(input.watched)
} else := {"status": "NOT_APPLICABLE", "reason": "the input holds neither a trail nor a watched resource"}

# config is the input's config, null when absent.
default config := null

config := input.config

# configured is a list parameter of config, empty when absent.
default configured(_, _) := []

configured(config, name) := l if {
	l := config[name]
	is_array(l)
}

# Trails.

trail := input.trail

trail_label := sprintf("trail %s", [trail.name]) if trail.name != ""

else := sprintf("trail %s", [trail.arn])

# trail_in_scope: no watched_trails means every trail.
trail_in_scope if count(configured(config, "watched_trails")) == 0

trail_in_scope if {
	some t in configured(config, "watched_trails")
	t in {trail.name, trail.arn}
}

# trail_problems lists each way the trail no longer carries atrest's evidence.
trail_problems contains "logging is off" if trail.logging == "off"

trail_problems contains "multi-region logging was turned off" if {
	trail.multi_region == false
	trail.baseline_multi_region == true
}

trail_problems contains sprintf("log files go to S3 bucket %s, not %s", [trail.s3_bucket, trail.baseline_s3_bucket]) if {
	trail.s3_bucket != ""
	trail.baseline_s3_bucket != ""
	trail.s3_bucket != trail.baseline_s3_bucket
}

# The log groups watched subscription filters read.
watched_log_groups contains split(f, ":")[0] if some f in configured(config, "watched_subscription_filters")

trail_problems contains sprintf(
	"CloudWatch Logs delivery to log group %s, which watched subscription filters read, was removed",
	[trail.baseline_cloudwatch_logs_log_group],
) if {
	trail.cloudwatch_logs_known == true
	trail.cloudwatch_logs_log_group == ""
	trail.baseline_cloudwatch_logs_log_group in watched_log_groups
}

trail_problems contains sprintf(
	"CloudWatch Logs delivery goes to log group %s, not %s, which watched subscription filters read",
	[trail.cloudwatch_logs_log_group, trail.baseline_cloudwatch_logs_log_group],
) if {
	trail.cloudwatch_logs_log_group != ""
	trail.baseline_cloudwatch_logs_log_group in watched_log_groups
	trail.cloudwatch_logs_log_group != trail.baseline_cloudwatch_logs_log_group
}

# A trail single-Region from creation logs its home region only.
trail_problems contains sprintf(
	"single-Region trail logs only %s, not monitored regions %s",
	[trail.home_region, concat(", ", sort(uncovered))],
) if {
	trail.multi_region == false
	not trail.baseline_multi_region == true
	uncovered := {r | some r in trail.uncovered_regions}
	count(uncovered) > 0
}

trail_problems contains "event selectors log no management events" if trail.management_events == "none"

trail_problems contains "event selectors log only read-only management events" if trail.management_events == "read_only"

trail_problems contains sprintf("event selectors do not log write management events from %s", [concat(", ", sort(excluded))]) if {
	excluded := {s | some s in trail.excluded_sources}
	count(excluded) > 0
}

# integrity_failures (set by log file integrity validation) each name a log
# file or digest file and what failed.
trail_problems contains sprintf("integrity: %s", [f]) if {
	some f in trail.integrity_failures
}

trail_verdict := {"status": "NOT_APPLICABLE", "reason": sprintf("%s is not in watched_trails", [trail_label])} if {
	not trail_in_scope
} else := {"status": "NON_COMPLIANT", "reason": sprintf("%s was deleted", [trail_label])} if {
	trail.deleted == true
} else := {"status": "NON_COMPLIANT", "reason": sprintf("%s: %s", [trail_label, report.join(trail_problems)])} if {
	count(trail_problems) > 0
} else := {"status": "COMPLIANT", "reason": sprintf("%s is logging", [trail_label])} if {
	trail.logging == "on"
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("%s: logging status unknown", [trail_label])}

# EventBridge rules and subscription filters.

watched := input.watched

watched_label := sprintf("EventBridge rule %s", [watched.name]) if {
	watched.kind == "event_rule"
} else := sprintf("subscription filter %s on log group %s", [watched.name, watched.log_group]) if {
	watched.kind == "subscription_filter"
} else := sprintf("%s %s", [watched.kind, watched.arn])

watched_setting := "watched_event_rules" if {
	watched.kind == "event_rule"
} else := "watched_subscription_filters"

watched_in_scope if {
	watched.kind == "event_rule"
	some r in configured(config, "watched_event_rules")
	r in {watched.name, watched.arn}
}

watched_in_scope if {
	watched.kind == "subscription_filter"
	some f in configured(config, "watched_subscription_filters")
	f in {concat(":", [watched.log_group, watched.name]), concat(":", [watched.log_group, "*"])}
}

# The "*" filter of a group (a deleted log group whose filters were never
# seen) is in scope when any watched filter is on the group.
watched_in_scope if {
	watched.kind == "subscription_filter"
	watched.name == "*"
	some f in configured(config, "watched_subscription_filters")
	split(f, ":")[0] == watched.log_group
}

watched_working := "is enabled" if watched.kind == "event_rule"

else := "is in place"

removed_targets := {t | some t in watched.removed_targets}

pattern_kind := "event pattern" if watched.kind == "event_rule"

else := "filter pattern"

# watched_problems lists each way a rule or filter that is in place no
# longer delivers what atrest judges.
watched_problems contains sprintf("targets %s were removed", [concat(", ", sort(removed_targets))]) if count(removed_targets) > 0

watched_problems contains sprintf("target %s points to %s, not %s", [r.id, r.arn, r.expected]) if some r in watched.retargeted

watched_problems contains sprintf("atrest cannot read its %s (%s)", [pattern_kind, watched.pattern_error]) if {
	watched.pattern_known == true
	is_string(watched.pattern_error)
	watched.pattern_error != ""
}

watched_problems contains sprintf("its event pattern matches no %s call atrest judges", [d.source]) if {
	watched.kind == "event_rule"
	some d in watched.dropped
	d.all == true
}

watched_problems contains sprintf("its event pattern no longer matches %s calls %s", [d.source, concat(", ", d.event_names)]) if {
	watched.kind == "event_rule"
	some d in watched.dropped
	d.all == false
}

watched_problems contains sprintf("its filter pattern drops every %s record", [d.source]) if {
	watched.kind == "subscription_filter"
	some d in watched.dropped
	d.all == true
}

watched_problems contains sprintf("its filter pattern drops %s records %s", [d.source, concat(", ", d.event_names)]) if {
	watched.kind == "subscription_filter"
	some d in watched.dropped
	d.all == false
}

watched_verdict := {"status": "NOT_APPLICABLE", "reason": sprintf("%s is not in %s", [watched_label, watched_setting])} if {
	not watched_in_scope
} else := {"status": "NON_COMPLIANT", "reason": sprintf("log group %s of watched %s was deleted", [watched.log_group, watched_label])} if {
	watched.state == "DELETED"
	watched.log_group_deleted == true
} else := {"status": "NON_COMPLIANT", "reason": sprintf("watched %s was deleted", [watched_label])} if {
	watched.state == "DELETED"
} else := {"status": "NON_COMPLIANT", "reason": sprintf("watched %s is disabled", [watched_label])} if {
	watched.state == "DISABLED"
} else := {"status": "NON_COMPLIANT", "reason": sprintf("watched %s: %s", [watched_label, report.join(watched_problems)])} if {
	count(watched_problems) > 0
} else := {"status": "COMPLIANT", "reason": sprintf("watched %s %s", [watched_label, watched_working])} if {
	watched.state == "ENABLED"
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("watched %s: state unknown", [watched_label])}
