package lambdafn

import "slices"

// Function names: the folder under functions/ and the suffix of the
// deployed function's name.
const (
	FunctionTrailEvents  = "trail-events"
	FunctionTrailLogs    = "trail-logs"
	FunctionTrailArchive = "trail-archive"
	FunctionSweep        = "sweep"
	FunctionRemediate    = "remediate"
)

// liveStoreReads are the reads the live store (internal/inventory) makes to
// judge an event: a key's metadata, rotation, policy, grants and the
// region's aliases; a file system and its policy; the file systems of an
// account for a key's blast radius; the monitoring path (trails, their
// status and event selectors, EventBridge rules and their targets, log
// group subscription filters); a role assumed in another account of the
// organization.
var liveStoreReads = []string{
	"kms:DescribeKey",
	"kms:GetKeyRotationStatus",
	"kms:GetKeyPolicy",
	"kms:ListGrants",
	"kms:ListAliases",
	"elasticfilesystem:DescribeFileSystems",
	"elasticfilesystem:DescribeFileSystemPolicy",
	"cloudtrail:DescribeTrails",
	"cloudtrail:GetTrailStatus",
	"cloudtrail:GetEventSelectors",
	"events:DescribeRule",
	"events:ListTargetsByRule",
	"logs:DescribeSubscriptionFilters",
	"sts:AssumeRole",
}

// keyVerification is what the key verifier (internal/envelope) calls when
// ATREST_VERIFY_KEYS is true: an envelope round trip under the key.
var keyVerification = []string{
	"kms:GenerateDataKey",
	"kms:Decrypt",
}

// Permissions lists, per function, every IAM action its code calls. The
// template grants each function exactly these (a test compares them), plus
// what Lambda itself needs (logs, traces, the event source, the
// dead-letter destination), which SAM adds to the role.
var Permissions = map[string][]string{
	FunctionTrailEvents: append(slices.Concat(liveStoreReads, keyVerification),
		"events:PutEvents", // "Atrest Finding" events on the findings bus
	),
	FunctionTrailLogs: append(slices.Concat(liveStoreReads, keyVerification),
		"events:PutEvents",
	),
	FunctionTrailArchive: append(slices.Concat(liveStoreReads, keyVerification),
		"s3:GetObject", // the log file an S3 notification names
		"events:PutEvents",
	),
	FunctionSweep: append(slices.Concat(liveStoreReads, keyVerification),
		"kms:ListKeys", // the inventory of keys
		"events:PutEvents",
	),
	// The remediation actions (internal/remediation): reads for every
	// action, dry run included; each change only when its action is opted
	// in; the outcome events.
	FunctionRemediate: {
		"kms:DescribeKey",
		"kms:GetKeyRotationStatus",
		"kms:ListResourceTags",
		"elasticfilesystem:DescribeFileSystems",
		"elasticfilesystem:DescribeFileSystemPolicy",
		"kms:EnableKeyRotation",
		"kms:CancelKeyDeletion",
		"kms:EnableKey",
		"elasticfilesystem:PutFileSystemPolicy",
		"elasticfilesystem:TagResource",
		"events:PutEvents",
	},
}
