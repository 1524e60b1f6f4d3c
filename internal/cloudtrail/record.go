// Package cloudtrail decodes AWS CloudTrail records from every shape in which
// they are delivered: a single record, an EventBridge "AWS API Call via
// CloudTrail" or "AWS Service Event via CloudTrail" event, a CloudWatch Logs subscription payload, a CloudTrail log
// file (gzip or plain), a digest file (skipped) and S3 event notifications for
// log files (bare, or wrapped in SQS or SNS).
//
// Decoding knows nothing of rules: it yields typed records of interest and
// reports bad input with its position.
package cloudtrail

import (
	"encoding/json"
	"time"
)

// Event sources of interest, as they appear in a record's eventSource.
const (
	SourceEFS        = "elasticfilesystem.amazonaws.com"
	SourceKMS        = "kms.amazonaws.com"
	SourceCloudTrail = "cloudtrail.amazonaws.com"
	SourceEvents     = "events.amazonaws.com"
	SourceLogs       = "logs.amazonaws.com"
)

// EFS API operations of interest.
// https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html
const (
	EventCreateFileSystem       = "CreateFileSystem"
	EventDeleteFileSystem       = "DeleteFileSystem"
	EventPutFileSystemPolicy    = "PutFileSystemPolicy"
	EventDeleteFileSystemPolicy = "DeleteFileSystemPolicy"
	// Replication makes its destination file system an encrypted replica
	// protected by a key; deleting the configuration ends the link.
	// https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html
	EventCreateReplicationConfiguration = "CreateReplicationConfiguration"
	EventDeleteReplicationConfiguration = "DeleteReplicationConfiguration"
)

// KMS API operations of interest.
// https://docs.aws.amazon.com/kms/latest/developerguide/logging-using-cloudtrail.html
const (
	EventCreateKey                 = "CreateKey"
	EventEnableKeyRotation         = "EnableKeyRotation"
	EventDisableKeyRotation        = "DisableKeyRotation"
	EventRotateKeyOnDemand         = "RotateKeyOnDemand"
	EventDisableKey                = "DisableKey"
	EventEnableKey                 = "EnableKey"
	EventScheduleKeyDeletion       = "ScheduleKeyDeletion"
	EventCancelKeyDeletion         = "CancelKeyDeletion"
	EventCreateGrant               = "CreateGrant"
	EventRevokeGrant               = "RevokeGrant"
	EventRetireGrant               = "RetireGrant"
	EventPutKeyPolicy              = "PutKeyPolicy"
	EventCreateAlias               = "CreateAlias"
	EventUpdateAlias               = "UpdateAlias"
	EventDeleteAlias               = "DeleteAlias"
	EventImportKeyMaterial         = "ImportKeyMaterial"
	EventDeleteImportedKeyMaterial = "DeleteImportedKeyMaterial"
	// ReplicateKey is written in the primary key's Region; KMS writes a
	// CreateKey for the new replica in the replica's Region.
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html
	EventReplicateKey = "ReplicateKey"
	// UpdatePrimaryRegion is written twice: in the Region of the primary key
	// that becomes a replica and in the Region of the replica that becomes
	// the primary.
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-update-primary-region.html
	EventUpdatePrimaryRegion      = "UpdatePrimaryRegion"
	EventConnectCustomKeyStore    = "ConnectCustomKeyStore"
	EventDisconnectCustomKeyStore = "DisconnectCustomKeyStore"
	// AWS service events (eventType AwsServiceEvent): KMS writes them when
	// imported key material expires and when a scheduled deletion completes.
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteexpiredkeymaterial.html
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
	EventDeleteExpiredKeyMaterial = "DeleteExpiredKeyMaterial"
	EventDeleteKey                = "DeleteKey"
)

// CloudTrail API operations of interest: changes to the trails atrest's
// evidence comes from.
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_Operations.html
const (
	EventCreateTrail         = "CreateTrail"
	EventUpdateTrail         = "UpdateTrail"
	EventDeleteTrail         = "DeleteTrail"
	EventStartLogging        = "StartLogging"
	EventStopLogging         = "StopLogging"
	EventPutEventSelectors   = "PutEventSelectors"
	EventPutInsightSelectors = "PutInsightSelectors"
)

// EventBridge API operations of interest: changes to the rules that deliver
// trail events to atrest.
// https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_Operations.html
const (
	EventPutRule       = "PutRule"
	EventDeleteRule    = "DeleteRule"
	EventDisableRule   = "DisableRule"
	EventEnableRule    = "EnableRule"
	EventRemoveTargets = "RemoveTargets"
	EventPutTargets    = "PutTargets"
)

// CloudWatch Logs API operations of interest: changes to the subscription
// filters that deliver trail events to atrest.
// https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_Operations.html
const (
	EventPutSubscriptionFilter    = "PutSubscriptionFilter"
	EventDeleteSubscriptionFilter = "DeleteSubscriptionFilter"
	EventDeleteLogGroup           = "DeleteLogGroup"
)

// interest maps an event source to the event names atrest evaluates.
var interest = map[string]map[string]bool{
	SourceEFS: {
		EventCreateFileSystem: true, EventDeleteFileSystem: true,
		EventPutFileSystemPolicy: true, EventDeleteFileSystemPolicy: true,
		EventCreateReplicationConfiguration: true, EventDeleteReplicationConfiguration: true,
	},
	SourceKMS: {
		EventCreateKey: true, EventEnableKeyRotation: true, EventDisableKeyRotation: true,
		EventRotateKeyOnDemand: true, EventDisableKey: true, EventEnableKey: true,
		EventScheduleKeyDeletion: true, EventCancelKeyDeletion: true,
		EventCreateGrant: true, EventRevokeGrant: true, EventRetireGrant: true,
		EventPutKeyPolicy: true, EventCreateAlias: true, EventUpdateAlias: true,
		EventDeleteAlias: true, EventImportKeyMaterial: true, EventDeleteImportedKeyMaterial: true,
		EventReplicateKey: true, EventUpdatePrimaryRegion: true,
		EventConnectCustomKeyStore: true, EventDisconnectCustomKeyStore: true,
		EventDeleteExpiredKeyMaterial: true, EventDeleteKey: true,
	},
	SourceCloudTrail: {
		EventCreateTrail: true, EventUpdateTrail: true, EventDeleteTrail: true,
		EventStartLogging: true, EventStopLogging: true,
		EventPutEventSelectors: true, EventPutInsightSelectors: true,
	},
	SourceEvents: {
		EventPutRule: true, EventDeleteRule: true, EventDisableRule: true,
		EventEnableRule: true, EventRemoveTargets: true, EventPutTargets: true,
	},
	SourceLogs: {
		EventPutSubscriptionFilter: true, EventDeleteSubscriptionFilter: true,
		EventDeleteLogGroup: true,
	},
}

// Interesting reports whether a record with this event source and name is one
// that atrest evaluates.
func Interesting(source, name string) bool {
	return interest[source][name]
}

// InterestingName reports whether name is an event name of interest for any
// source. It lets a byte-level scan reject a record before it is decoded.
func InterestingName(name string) bool {
	for _, names := range interest {
		if names[name] {
			return true
		}
	}
	return false
}

// Record is one CloudTrail event record. Fields whose shape varies by API
// (requestParameters, responseElements, additionalEventData) are kept raw.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
type Record struct {
	EventVersion       string          `json:"eventVersion"`
	UserIdentity       UserIdentity    `json:"userIdentity"`
	EventTime          time.Time       `json:"eventTime"`
	EventSource        string          `json:"eventSource"`
	EventName          string          `json:"eventName"`
	AWSRegion          string          `json:"awsRegion"`
	SourceIPAddress    string          `json:"sourceIPAddress,omitempty"`
	UserAgent          string          `json:"userAgent,omitempty"`
	ErrorCode          string          `json:"errorCode,omitempty"`
	ErrorMessage       string          `json:"errorMessage,omitempty"`
	RequestParameters  json.RawMessage `json:"requestParameters,omitempty"`
	ResponseElements   json.RawMessage `json:"responseElements,omitempty"`
	RequestID          string          `json:"requestID,omitempty"`
	EventID            string          `json:"eventID"`
	ReadOnly           *bool           `json:"readOnly,omitempty"`
	Resources          []Resource      `json:"resources,omitempty"`
	EventType          string          `json:"eventType,omitempty"`
	RecipientAccountID string          `json:"recipientAccountId,omitempty"`
	EventCategory      string          `json:"eventCategory,omitempty"`

	// AdditionalEventData carries what some calls log outside the request:
	// RetireGrant, for one, logs null requestParameters and the grant id here.
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-retire-grant.html
	AdditionalEventData json.RawMessage `json:"additionalEventData,omitempty"`
}

// UserIdentity is the subset of a record's userIdentity that atrest reads.
type UserIdentity struct {
	Type        string `json:"type,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ARN         string `json:"arn,omitempty"`
	AccountID   string `json:"accountId,omitempty"`
	InvokedBy   string `json:"invokedBy,omitempty"`
}

// Resource is one entry of a record's resources list.
type Resource struct {
	ARN       string `json:"ARN,omitempty"`
	AccountID string `json:"accountId,omitempty"`
	Type      string `json:"type,omitempty"`
}

// Account is the account the record belongs to: recipientAccountId, falling
// back to the caller's account.
func (r *Record) Account() string {
	if r.RecipientAccountID != "" {
		return r.RecipientAccountID
	}
	return r.UserIdentity.AccountID
}

// Failed reports whether the call failed (errorCode set). A failed call
// changes no state.
func (r *Record) Failed() bool { return r.ErrorCode != "" }
