package inventory

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
)

// The small interfaces below are the SDK calls the live store, the sweep and
// the backfill make; the SDK clients satisfy them and tests pass fakes.

// KeyDescriber reads a key's metadata (kms:DescribeKey).
type KeyDescriber interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
}

// RotationStatusGetter reads a key's rotation schedule (kms:GetKeyRotationStatus).
type RotationStatusGetter interface {
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
}

// KeyPolicyGetter reads a key policy (kms:GetKeyPolicy).
type KeyPolicyGetter interface {
	GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, optFns ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error)
}

// KMSAPI is every KMS read the live store makes.
type KMSAPI interface {
	KeyDescriber
	RotationStatusGetter
	KeyPolicyGetter
	kms.ListGrantsAPIClient
	kms.ListAliasesAPIClient
	kms.ListKeysAPIClient
}

// FileSystemPolicyDescriber reads a file-system policy
// (elasticfilesystem:DescribeFileSystemPolicy).
type FileSystemPolicyDescriber interface {
	DescribeFileSystemPolicy(ctx context.Context, in *efs.DescribeFileSystemPolicyInput, optFns ...func(*efs.Options)) (*efs.DescribeFileSystemPolicyOutput, error)
}

// EFSAPI is every EFS read the live store makes.
type EFSAPI interface {
	efs.DescribeFileSystemsAPIClient
	FileSystemPolicyDescriber
}

// EventLookup reads CloudTrail's event history (cloudtrail:LookupEvents).
type EventLookup interface {
	LookupEvents(ctx context.Context, in *awscloudtrail.LookupEventsInput, optFns ...func(*awscloudtrail.Options)) (*awscloudtrail.LookupEventsOutput, error)
}

var (
	_ KMSAPI      = (*kms.Client)(nil)
	_ EFSAPI      = (*efs.Client)(nil)
	_ EventLookup = (*awscloudtrail.Client)(nil)
)

// TrailReader reads CloudTrail trails (cloudtrail:DescribeTrails,
// cloudtrail:GetTrailStatus, cloudtrail:GetEventSelectors).
type TrailReader interface {
	DescribeTrails(ctx context.Context, in *awscloudtrail.DescribeTrailsInput, optFns ...func(*awscloudtrail.Options)) (*awscloudtrail.DescribeTrailsOutput, error)
	GetTrailStatus(ctx context.Context, in *awscloudtrail.GetTrailStatusInput, optFns ...func(*awscloudtrail.Options)) (*awscloudtrail.GetTrailStatusOutput, error)
	GetEventSelectors(ctx context.Context, in *awscloudtrail.GetEventSelectorsInput, optFns ...func(*awscloudtrail.Options)) (*awscloudtrail.GetEventSelectorsOutput, error)
}

// EventRuleReader reads EventBridge rules (events:DescribeRule,
// events:ListTargetsByRule).
type EventRuleReader interface {
	DescribeRule(ctx context.Context, in *eventbridge.DescribeRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.DescribeRuleOutput, error)
	ListTargetsByRule(ctx context.Context, in *eventbridge.ListTargetsByRuleInput, optFns ...func(*eventbridge.Options)) (*eventbridge.ListTargetsByRuleOutput, error)
}

// SubscriptionFilterReader reads a log group's subscription filters
// (logs:DescribeSubscriptionFilters).
type SubscriptionFilterReader interface {
	cloudwatchlogs.DescribeSubscriptionFiltersAPIClient
}

var (
	_ TrailReader              = (*awscloudtrail.Client)(nil)
	_ EventRuleReader          = (*eventbridge.Client)(nil)
	_ SubscriptionFilterReader = (*cloudwatchlogs.Client)(nil)
)

// Clients are the clients for one account and region. CloudTrail and
// Trails are the same SDK client, split by use: the backfill's event history
// and the sweep's trail reads.
type Clients struct {
	KMS        KMSAPI
	EFS        EFSAPI
	CloudTrail EventLookup
	Trails     TrailReader
	EventRules EventRuleReader
	Logs       SubscriptionFilterReader
}

// ClientSource gives the clients that read an account in a region.
type ClientSource interface {
	// Clients returns the clients for account in region, or an error
	// wrapping ErrAccountNotMonitored when the account cannot be read.
	Clients(ctx context.Context, account, region string) (*Clients, error)
	// OwnAccount returns the monitor's own account id.
	OwnAccount(ctx context.Context) (string, error)
}

// SDKClients builds the SDK clients from cfg.
func SDKClients(cfg aws.Config) *Clients {
	ct := awscloudtrail.NewFromConfig(cfg)
	return &Clients{
		KMS:        kms.NewFromConfig(cfg),
		EFS:        efs.NewFromConfig(cfg),
		CloudTrail: ct,
		Trails:     ct,
		EventRules: eventbridge.NewFromConfig(cfg),
		Logs:       cloudwatchlogs.NewFromConfig(cfg),
	}
}
