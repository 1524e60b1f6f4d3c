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
	FunctionVerify       = "verify"
	FunctionSettle       = "settle"
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

// deduplication is what the deduplication table (internal/dedup) calls
// when ATREST_DEDUP_TABLE is set: a conditional put of each eventID, and a
// consistent read of the item when the condition fails (whose claim tells
// a retried put of this call from another delivery).
var deduplication = []string{"dynamodb:PutItem", "dynamodb:GetItem"}

// ledgerUpdates is what the ledger's table store (internal/ledger) calls
// when ATREST_LEDGER_TABLE is set: a consistent read of one entry, a write
// conditioned on what it read, and, after an invocation that changed a
// status, a listing (Scan) for the NonCompliantResources gauges.
var ledgerUpdates = []string{"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan"}

// settleHold is what the monitoring functions call when ATREST_SETTLE_QUEUE
// is set: one delayed message for each verdict held for the settle window.
var settleHold = []string{"sqs:SendMessage"}

// securityHubImport is what the Security Hub sink (internal/securityhub)
// calls when ATREST_SECURITY_HUB is true.
var securityHubImport = []string{"securityhub:BatchImportFindings"}

// integrityValidation is what trail-archive calls when
// ATREST_REQUIRE_INTEGRITY is true (internal/integrity): the public keys
// digests are signed with, and the digest and log folders of the bucket.
var integrityValidation = []string{"cloudtrail:ListPublicKeys", "s3:ListBucket"}

// Permissions lists, per function, every IAM action its code calls. The
// template grants each function exactly these (a test compares them), plus
// what Lambda itself needs (logs, traces, the event source, the
// dead-letter destination), which SAM adds to the role.
var Permissions = map[string][]string{
	FunctionTrailEvents: append(slices.Concat(liveStoreReads, keyVerification, deduplication, ledgerUpdates, settleHold, securityHubImport),
		"events:PutEvents", // "Atrest Finding" events on the findings bus
	),
	FunctionTrailLogs: append(slices.Concat(liveStoreReads, keyVerification, deduplication, ledgerUpdates, settleHold, securityHubImport),
		"events:PutEvents",
	),
	FunctionTrailArchive: append(slices.Concat(liveStoreReads, keyVerification, deduplication, ledgerUpdates, settleHold, securityHubImport, integrityValidation),
		"s3:GetObject", // the log file an S3 notification names (and, with integrity required, the digests)
		"events:PutEvents",
	),
	// A sweep judges resources, not records: it has no eventID to
	// deduplicate.
	FunctionSweep: append(slices.Concat(liveStoreReads, keyVerification, ledgerUpdates, securityHubImport),
		"kms:ListKeys", // the inventory of keys
		"events:PutEvents",
	),
	// The keys that protect file systems (FileSystemKeys) and their
	// envelope round trip (internal/envelope: DescribeKey, GenerateDataKey,
	// Decrypt); the findings' sinks.
	FunctionVerify: slices.Concat(
		[]string{"elasticfilesystem:DescribeFileSystems", "kms:DescribeKey"},
		keyVerification, ledgerUpdates, securityHubImport,
		[]string{"events:PutEvents"},
	),
	// The settle function re-checks a held verdict: the ledger's entry,
	// the resource read live (and its key verified, when verification is
	// on), the findings' sinks.
	FunctionSettle: append(slices.Concat(liveStoreReads, keyVerification, ledgerUpdates, securityHubImport),
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

// ConditionalPermissions are the actions the code calls only when a
// setting turns them on, by the template condition that grants them: the
// template grants each only under its condition (a test checks), unless
// the function itself exists only under that condition.
var ConditionalPermissions = map[string][]string{
	"VerifyKeysEnabled":           keyVerification,
	"DeduplicationTableEnabled":   deduplication,
	"LedgerTableEnabled":          ledgerUpdates,
	"SecurityHubEnabled":          securityHubImport,
	"SettleQueueEnabled":          settleHold,
	"RequireIntegrityEnabled":     integrityValidation,
	"HasOrganizationRole":         {"sts:AssumeRole"},
	"OptInEnableKeyRotation":      {"kms:EnableKeyRotation"},
	"OptInCancelKeyDeletion":      {"kms:CancelKeyDeletion"},
	"OptInKeyEnable":              {"kms:EnableKey"},
	"OptInRequireSecureTransport": {"elasticfilesystem:PutFileSystemPolicy"},
	"OptInTagUnencrypted":         {"elasticfilesystem:TagResource"},
}
