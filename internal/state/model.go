// Package state keeps the model of EFS file systems and KMS keys that rules
// are evaluated against. A CloudTrail record is applied as a change to the
// model; questions such as "which file systems does this key protect?" are
// answered from it. The in-memory store is filled from events alone; a live
// store answers from the AWS APIs. Both satisfy Store.
package state

import (
	"context"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// ResourceType names the kind of a resource, in CloudFormation's vocabulary.
type ResourceType string

// Resource types atrest models.
const (
	TypeFileSystem ResourceType = "AWS::EFS::FileSystem"
	TypeKey        ResourceType = "AWS::KMS::Key"
	// TypeMonitoringPath is a piece of the path that carries CloudTrail
	// records to atrest: a CloudTrail trail, an EventBridge rule or a
	// CloudWatch Logs subscription filter, each judged by one rule (see
	// trail.go). Its value stays the trail's CloudFormation type, which
	// findings carry as their resource type.
	TypeMonitoringPath ResourceType = "AWS::CloudTrail::Trail"
)

// Key managers, origins, states and specs as KMS reports them.
const (
	ManagerAWS      = "AWS"
	ManagerCustomer = "CUSTOMER"

	OriginAWSKMS      = "AWS_KMS"
	OriginExternal    = "EXTERNAL"
	OriginCloudHSM    = "AWS_CLOUDHSM"
	OriginExternalKey = "EXTERNAL_KEY_STORE"

	KeyStateEnabled         = "Enabled"
	KeyStateDisabled        = "Disabled"
	KeyStatePendingDeletion = "PendingDeletion"
	KeyStatePendingImport   = "PendingImport"
	// KeyStateUnavailable is the state of a key in a custom key store that
	// is disconnected.
	KeyStateUnavailable = "Unavailable"

	SpecSymmetricDefault = "SYMMETRIC_DEFAULT"
	UsageEncryptDecrypt  = "ENCRYPT_DECRYPT"

	// Multi-Region key types, as DescribeKey's MultiRegionConfiguration
	// reports them.
	MultiRegionPrimary = "PRIMARY"
	MultiRegionReplica = "REPLICA"

	// EFSDefaultKeyAlias is the AWS managed key EFS uses when a file system
	// is created encrypted without a KmsKeyId.
	EFSDefaultKeyAlias = "alias/aws/elasticfilesystem"
)

// Grant states.
const (
	GrantActive  = "active"
	GrantRevoked = "revoked"
	GrantRetired = "retired"
)

// ResourceRef names one resource touched by a change.
type ResourceRef struct {
	Type ResourceType
	ARN  string
}

// FileSystem is an EFS file system as atrest knows it.
type FileSystem struct {
	ARN       string `json:"arn"`
	ID        string `json:"id"`
	Account   string `json:"account"`
	Region    string `json:"region"`
	Encrypted bool   `json:"encrypted"`
	// Known is set once the file system's creation (or a read of it) has
	// been seen, so Encrypted and the key reference are facts.
	Known bool `json:"known"`
	// KMSKeyID is the key reference as given (id, ARN, alias name or alias ARN).
	KMSKeyID string `json:"kms_key_id,omitempty"`
	// KMSKeyARN is KMSKeyID resolved to a key ARN, when it could be.
	KMSKeyARN string `json:"kms_key_arn,omitempty"`
	// Creator is the ARN of the principal that created the file system
	// (CreateFileSystem's userIdentity.arn: an IAM user, the account root,
	// or an assumed-role session), "" when unknown. EFS calls KMS as this
	// principal.
	Creator string `json:"creator,omitempty"`
	// Policy is the file-system policy document as JSON text, "" when none.
	Policy string `json:"policy,omitempty"`
	// PolicyKnown is set when Policy is a fact: a policy was put or deleted,
	// or the file system was read. A file system whose creation was seen and
	// no policy since has none.
	PolicyKnown bool `json:"policy_known"`
	// ReplicationSource is the ARN of the file system this one is a
	// replica of, while a replication configuration links them;
	// ReplicationDestination is the replica of this one.
	ReplicationSource      string    `json:"replication_source,omitempty"`
	ReplicationDestination string    `json:"replication_destination,omitempty"`
	Deleted                bool      `json:"deleted"`
	Updated                time.Time `json:"updated"` // eventTime of the last change applied
}

// Grant is a KMS grant on a key, as far as EFS is concerned.
type Grant struct {
	ID               string   `json:"grant_id"`
	GranteePrincipal string   `json:"grantee_principal,omitempty"`
	Operations       []string `json:"operations,omitempty"`
	// FileSystemID is the EFS file system the grant serves, from its
	// aws:elasticfilesystem:filesystem:id encryption-context constraint.
	FileSystemID string `json:"file_system_id,omitempty"`
	// EFS reports whether the grant is for EFS (grantee or constraint).
	EFS   bool   `json:"efs"`
	State string `json:"state"` // GrantActive, GrantRevoked or GrantRetired
	// RetiredAfterDelete is set when the grant was retired after its file
	// system was deleted: the normal end of an EFS grant.
	RetiredAfterDelete bool `json:"retired_after_delete,omitempty"`
}

// Key is a KMS key as atrest knows it. Empty strings and nil pointers mean
// "not known": an event stream may reference a key it never saw created.
type Key struct {
	ARN              string   `json:"arn"`
	ID               string   `json:"id"`
	Account          string   `json:"account"`
	Region           string   `json:"region"`
	Aliases          []string `json:"aliases"`
	KeySpec          string   `json:"key_spec,omitempty"`
	KeyUsage         string   `json:"key_usage,omitempty"`
	Origin           string   `json:"origin,omitempty"`
	KeyManager       string   `json:"key_manager,omitempty"`
	KeyState         string   `json:"key_state,omitempty"`
	CustomKeyStoreID string   `json:"custom_key_store_id,omitempty"`
	// RotationEnabled is nil when unknown.
	RotationEnabled *bool `json:"rotation_enabled"`
	// RotationPeriodDays is 0 when unknown or when rotation is off.
	RotationPeriodDays int `json:"rotation_period_days,omitempty"`
	// MultiRegion is nil when unknown.
	MultiRegion *bool `json:"multi_region"`
	// MultiRegionKeyType is MultiRegionPrimary, MultiRegionReplica, or ""
	// when unknown or the key is single-Region.
	MultiRegionKeyType string `json:"multi_region_key_type,omitempty"`
	// PrimaryKeyARN is the ARN of a multi-Region key's primary key (its own
	// ARN for the primary), "" when unknown or the key is single-Region. A
	// replica shares its primary's automatic rotation, which is managed on
	// the primary only.
	PrimaryKeyARN string `json:"primary_key_arn,omitempty"`
	// Policy is the key policy document as JSON text, "" when unknown.
	Policy       string    `json:"policy,omitempty"`
	Grants       []Grant   `json:"grants"`
	DeletionDate time.Time `json:"deletion_date,omitzero"`
	// Deleted is set once KMS deleted the key (its scheduled deletion
	// completed): whatever it protects can no longer be decrypted.
	Deleted bool      `json:"deleted,omitempty"`
	Updated time.Time `json:"updated"`
}

// Replica reports whether the key is a multi-Region replica key.
func (k *Key) Replica() bool { return k.MultiRegionKeyType == MultiRegionReplica }

// ImpliedKeyUsage is the key usage a key spec leaves: a SYMMETRIC_DEFAULT
// key can only have ENCRYPT_DECRYPT usage, so a missing usage of such a key
// is known. Otherwise it returns usage as it is.
// https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html
func ImpliedKeyUsage(spec, usage string) string {
	if usage == "" && spec == SpecSymmetricDefault {
		return UsageEncryptDecrypt
	}
	return usage
}

// Change is what applying one record did: the resources it touched, in the
// order rules should judge them.
type Change struct {
	Touched []ResourceRef
	// Ignored explains why a record of interest changed nothing (for example
	// a failed call, or an event older than the state it would overwrite).
	Ignored string
}

// Store is the model atrest evaluates against. Implementations must be safe
// for use by one goroutine at a time; callers serialise.
type Store interface {
	// Apply changes the model by one record and reports what it touched.
	Apply(ctx context.Context, rec *cloudtrail.Record) (Change, error)
	// FileSystem returns a file system by ARN, or nil when unknown.
	FileSystem(ctx context.Context, arn string) (*FileSystem, error)
	// Key returns a key by ARN, or nil when unknown.
	Key(ctx context.Context, arn string) (*Key, error)
	// FileSystemsForKey returns the live file systems the key protects.
	FileSystemsForKey(ctx context.Context, keyARN string) ([]*FileSystem, error)
}
