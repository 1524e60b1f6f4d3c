package policy

import (
	"time"

	"github.com/atrest/atrest/internal/config"
)

// Input is the document one evaluation hands to the rules: one resource as it
// now stands, plus the event that triggered the evaluation and the config.
// rules/README.md (and the README of a rule package that adds members)
// documents the same schema for rule authors; schema_test.go checks that the
// READMEs and the converter in value.go show exactly the fields declared here.
type Input struct {
	// ResourceType is "AWS::EFS::FileSystem", "AWS::KMS::Key" or
	// "AWS::CloudTrail::Trail".
	ResourceType string `json:"resource_type"`
	// Resource is the ARN of the resource being judged.
	Resource string `json:"resource"`
	// FileSystem is set when ResourceType is a file system.
	FileSystem *FileSystemInput `json:"file_system"`
	// Key is the key being judged (ResourceType key) or the key protecting
	// the file system (ResourceType file system); nil when not known.
	Key *KeyInput `json:"key"`
	// FileSystems are the live file systems the key protects (key resources).
	FileSystems []FileSystemRef `json:"file_systems"`
	// Trail is set when ResourceType is a trail and the resource is a trail.
	Trail *TrailInput `json:"trail"`
	// Watched is set when ResourceType is a trail and the resource is an
	// EventBridge rule or a CloudWatch Logs subscription filter that carries
	// trail events to atrest: part of the same monitoring path, judged by
	// the same rule.
	Watched *WatchedInput `json:"watched"`
	// Verification is the outcome of an envelope-encryption round trip with
	// the key (key resources); nil when none ran.
	Verification *VerificationInput `json:"verification"`
	// Event is the record that triggered the evaluation; nil in a sweep.
	Event *EventInput `json:"event"`
	// Config carries the rule parameters.
	Config config.Config `json:"config"`
}

// FileSystemInput is a file system as the rules see it.
type FileSystemInput struct {
	ARN       string `json:"arn"`
	ID        string `json:"id"`
	Account   string `json:"account"`
	Region    string `json:"region"`
	Encrypted bool   `json:"encrypted"`
	// Known is false when the file system's creation was never seen (an
	// event stream that starts after it): Encrypted is then no fact.
	Known bool `json:"known"`
	// PolicyKnown is false when whether the file system has a policy is not
	// known; Policy nil then means "unknown", not "none".
	PolicyKnown bool   `json:"policy_known"`
	KMSKeyID    string `json:"kms_key_id"`
	KMSKeyARN   string `json:"kms_key_arn"`
	// Creator is the ARN of the principal that created the file system, ""
	// when unknown.
	Creator string `json:"creator"`
	// Policy is the parsed file-system policy, nil when there is none.
	Policy any `json:"policy"`
	// PolicyRelative is Policy relative to the resource judged (nil when
	// Policy is): the engine sets it, whatever is given (RelativePolicy).
	PolicyRelative *RelativePolicy `json:"policy_relative"`
	Deleted        bool            `json:"deleted"`
}

// KeyInput is a key as the rules see it. Empty strings mean unknown; Known is
// false when no key metadata has been seen at all.
type KeyInput struct {
	ARN              string   `json:"arn"`
	ID               string   `json:"id"`
	Account          string   `json:"account"`
	Region           string   `json:"region"`
	Known            bool     `json:"known"`
	Aliases          []string `json:"aliases"`
	KeySpec          string   `json:"key_spec"`
	KeyUsage         string   `json:"key_usage"`
	Origin           string   `json:"origin"`
	KeyManager       string   `json:"key_manager"`
	KeyState         string   `json:"key_state"`
	CustomKeyStoreID string   `json:"custom_key_store_id"`
	// RotationEnabled is nil when unknown.
	RotationEnabled    *bool `json:"rotation_enabled"`
	RotationPeriodDays int   `json:"rotation_period_days"`
	// Policy is the parsed key policy; nil when unknown.
	Policy any          `json:"policy"`
	Grants []GrantInput `json:"grants"`
	// Deleted is set once KMS deleted the key (a scheduled deletion
	// completed).
	Deleted bool `json:"deleted"`
	// MultiRegion is nil when unknown.
	MultiRegion *bool `json:"multi_region"`
	// MultiRegionKeyType is "PRIMARY", "REPLICA", or "" when unknown or the
	// key is single-Region.
	MultiRegionKeyType string `json:"multi_region_key_type"`
	// PrimaryKeyARN is the ARN of a multi-Region key's primary key, "" when
	// unknown or the key is single-Region.
	PrimaryKeyARN string `json:"primary_key_arn"`
	// Primary is, for a multi-Region replica being judged, its primary key
	// as far as the automatic rotation they share goes; nil when the key is
	// no replica or its primary's ARN is unknown.
	Primary *PrimaryKeyInput `json:"primary"`
}

// PrimaryKeyInput is a multi-Region replica's primary key: automatic
// rotation is managed on the primary and shared by its replicas.
type PrimaryKeyInput struct {
	ARN string `json:"arn"`
	// Known is false when nothing about the primary key has been seen.
	Known bool `json:"known"`
	// RotationEnabled is nil when unknown.
	RotationEnabled    *bool `json:"rotation_enabled"`
	RotationPeriodDays int   `json:"rotation_period_days"`
}

// GrantInput is a grant as the rules see it.
type GrantInput struct {
	GrantID            string   `json:"grant_id"`
	GranteePrincipal   string   `json:"grantee_principal"`
	Operations         []string `json:"operations"`
	FileSystemID       string   `json:"file_system_id"`
	EFS                bool     `json:"efs"`
	State              string   `json:"state"`
	RetiredAfterDelete bool     `json:"retired_after_delete"`
}

// FileSystemRef names a file system a key protects, with what the key
// policy rule needs to evaluate the calls EFS makes to the key for it.
type FileSystemRef struct {
	ARN     string `json:"arn"`
	ID      string `json:"id"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// Creator is the ARN of the principal that created the file system, ""
	// when unknown (the live store cannot know it).
	Creator string `json:"creator"`
}

// EventInput is the triggering record, as the rules see it.
type EventInput struct {
	EventID     string    `json:"event_id"`
	EventName   string    `json:"event_name"`
	EventSource string    `json:"event_source"`
	EventTime   time.Time `json:"event_time"`
}

// TrailInput is a CloudTrail trail as the rules see it. Empty strings and
// nulls mean unknown.
type TrailInput struct {
	ARN        string `json:"arn"`
	Name       string `json:"name"`
	Account    string `json:"account"`
	Region     string `json:"region"`
	HomeRegion string `json:"home_region"`
	// Known is false when nothing but the trail's name was ever seen.
	Known bool `json:"known"`
	// Logging is "on", "off" or "" (unknown).
	Logging string `json:"logging"`
	// MultiRegion and IncludeGlobalEvents are nil when unknown.
	MultiRegion         *bool  `json:"multi_region"`
	IncludeGlobalEvents *bool  `json:"include_global_events"`
	S3Bucket            string `json:"s3_bucket"`
	// BaselineMultiRegion and BaselineS3Bucket are the values the trail had
	// when atrest first learned them; a change away from them is reported.
	BaselineMultiRegion *bool  `json:"baseline_multi_region"`
	BaselineS3Bucket    string `json:"baseline_s3_bucket"`
	// ManagementEvents is what the event selectors log of write management
	// events: "all", "read_only", "none", or "" (unknown).
	ManagementEvents string `json:"management_events"`
	// ExcludedSources are the event sources atrest judges (kms, EFS) whose
	// write management events the selectors do not log; nil when unknown.
	ExcludedSources []string `json:"excluded_sources"`
	// CloudWatchLogsLogGroup is the name of the log group the trail
	// delivers to ("" none or unknown); CloudWatchLogsKnown says whether it
	// is known. BaselineCloudWatchLogsLogGroup is the first one seen.
	CloudWatchLogsLogGroup         string `json:"cloudwatch_logs_log_group"`
	CloudWatchLogsKnown            bool   `json:"cloudwatch_logs_known"`
	BaselineCloudWatchLogsLogGroup string `json:"baseline_cloudwatch_logs_log_group"`
	// UncoveredRegions are the config's monitored_regions other than the
	// home region of a trail that is not multi-region; nil when none.
	UncoveredRegions []string `json:"uncovered_regions"`
	Deleted          bool     `json:"deleted"`
	// IntegrityFailures are the failures of log file integrity validation
	// against the trail's digest files, one line each naming the file;
	// nil when none was found (or validation did not run).
	IntegrityFailures []string `json:"integrity_failures"`
}

// WatchedInput is an EventBridge rule or a CloudWatch Logs subscription
// filter on the monitoring path, as the rules see it.
type WatchedInput struct {
	// Kind is "event_rule" or "subscription_filter".
	Kind    string `json:"kind"`
	ARN     string `json:"arn"`
	Name    string `json:"name"`
	Account string `json:"account"`
	Region  string `json:"region"`
	// EventBus is the rule's event bus name (event rules).
	EventBus string `json:"event_bus"`
	// LogGroup is the filter's log group name (subscription filters).
	LogGroup string `json:"log_group"`
	// State is "ENABLED", "DISABLED", "DELETED" or "" (unknown).
	State string `json:"state"`
	// RemovedTargets are the ids of the rule's targets removed by
	// RemoveTargets and not put back since; nil when none.
	RemovedTargets []string `json:"removed_targets"`
	// Retargeted are the rule's targets that point elsewhere than the first
	// ARN seen for their id; nil when none.
	Retargeted []RetargetInput `json:"retargeted"`
	// PatternKnown is true when the rule's event pattern or the filter's
	// filter pattern is known; PatternError then says why atrest could not
	// read it ("" when it could), and Dropped what it does not let through
	// of the KMS and EFS events atrest judges (nil when nothing).
	PatternKnown bool           `json:"pattern_known"`
	PatternError string         `json:"pattern_error"`
	Dropped      []DroppedInput `json:"dropped"`
	// LogGroupDeleted is true when the filter's log group was deleted.
	LogGroupDeleted bool `json:"log_group_deleted"`
}

// RetargetInput is a re-pointed target of a watched rule.
type RetargetInput struct {
	ID       string `json:"id"`
	ARN      string `json:"arn"`
	Expected string `json:"expected"`
}

// DroppedInput is what a watched pattern does not let through of one event
// source's events of interest.
type DroppedInput struct {
	Source     string   `json:"source"`
	EventNames []string `json:"event_names"`
	// All is true when none of the source's events of interest gets through.
	All bool `json:"all"`
}

// VerificationInput is an envelope round trip's outcome, as the rules see it.
type VerificationInput struct {
	Performed      bool   `json:"performed"`
	OK             bool   `json:"ok"`
	Reason         string `json:"reason"`
	Step           string `json:"step"`
	Detail         string `json:"detail"`
	AlgorithmSuite string `json:"algorithm_suite"`
}
