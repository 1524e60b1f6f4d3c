# METADATA
# title: CloudTrail monitoring that atrest relies on is intact
# description: >-
#   atrest judges encryption at rest from CloudTrail management events, so it
#   must notice when someone turns that evidence off: a trail stopped or
#   deleted, multi-region logging turned off, log files sent to another S3
#   bucket, event selectors that no longer log write management events from
#   KMS or EFS, and a watched EventBridge rule or CloudWatch Logs subscription
#   filter that delivers the events to atrest disabled, deleted or stripped
#   of targets, and the trail's log files failing integrity validation
#   against CloudTrail's signed digest files (altered, missing or unlisted
#   log files, a digest whose signature or chain does not hold). EventBridge rules and subscription filters are judged as
#   resources of this rule's type, named by their own identifiers.
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
#   remediation: >-
#     Restart logging (StartLogging); recreate a deleted trail; turn
#     multi-region logging back on and restore the S3 bucket (UpdateTrail);
#     log all write management events, without excluding kms.amazonaws.com or
#     elasticfilesystem.amazonaws.com (PutEventSelectors); re-enable or
#     recreate the EventBridge rule and put its targets back (EnableRule,
#     PutRule, PutTargets); recreate the subscription filter
#     (PutSubscriptionFilter). For a log file that fails integrity
#     validation, restore it from a copy whose hash matches its digest, or
#     treat the events of that hour as unproven. Then find out who changed it
#     and why.
#   controls:
#     - AWS Security Hub CloudTrail.1
#     - CIS AWS Foundations Benchmark v3.0.0 3.1
#     - NIST 800-53 AU-12
package atrest.cloudtrail.monitoring_intact

import data.atrest.lib.report

# results holds this rule's one result for a trail, EventBridge rule or
# subscription filter.
results contains {"rule": meta.id, "status": verdict.status, "reason": verdict.reason} if {
	input.resource_type == "AWS::CloudTrail::Trail" # a constant, so rule indexing skips other types
	some link in rego.metadata.chain()
	meta := link.annotations.custom
	input.resource_type == meta.resource_type
}

verdict := trail_verdict if {
	is_object(input.trail)
} else := watched_verdict if {
	is_object(input.watched)
} else := {"status": "NOT_APPLICABLE", "reason": "the input holds neither a trail nor a watched resource"}

# configured is a list parameter of the config, empty when absent.
configured(name) := l if {
	l := input.config[name]
	is_array(l)
} else := []

# Trails.

trail := input.trail

trail_label := sprintf("trail %s", [trail.name]) if trail.name != ""

else := sprintf("trail %s", [trail.arn])

# trail_in_scope: no watched_trails means every trail.
trail_in_scope if count(configured("watched_trails")) == 0

trail_in_scope if {
	some t in configured("watched_trails")
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
	some r in configured("watched_event_rules")
	r in {watched.name, watched.arn}
}

watched_in_scope if {
	watched.kind == "subscription_filter"
	some f in configured("watched_subscription_filters")
	f in {concat(":", [watched.log_group, watched.name]), concat(":", [watched.log_group, "*"])}
}

watched_working := "is enabled" if watched.kind == "event_rule"

else := "is in place"

removed_targets := {t | some t in watched.removed_targets}

watched_verdict := {"status": "NOT_APPLICABLE", "reason": sprintf("%s is not in %s", [watched_label, watched_setting])} if {
	not watched_in_scope
} else := {"status": "NON_COMPLIANT", "reason": sprintf("watched %s was deleted", [watched_label])} if {
	watched.state == "DELETED"
} else := {"status": "NON_COMPLIANT", "reason": sprintf("watched %s is disabled", [watched_label])} if {
	watched.state == "DISABLED"
} else := {"status": "NON_COMPLIANT", "reason": sprintf(
	"targets %s were removed from watched %s",
	[concat(", ", sort(removed_targets)), watched_label],
)} if {
	count(removed_targets) > 0
} else := {"status": "COMPLIANT", "reason": sprintf("watched %s %s", [watched_label, watched_working])} if {
	watched.state == "ENABLED"
} else := {"status": "NOT_APPLICABLE", "reason": sprintf("watched %s: state unknown", [watched_label])}
