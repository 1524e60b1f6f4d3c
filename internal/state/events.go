package state

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/jsonstr"
)

// ErrBadRecord is the kind of error Apply returns for a record of interest
// whose parameters are missing or of the wrong type.
var ErrBadRecord = errors.New("bad record")

// Shapes of requestParameters and responseElements, as the EFS and KMS API
// references define them and CloudTrail records them (camelCase).
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html

type createFileSystemRequest struct {
	Encrypted *bool  `json:"encrypted"`
	KMSKeyID  string `json:"kmsKeyId"`
}

type createFileSystemResponse struct {
	FileSystemID  string `json:"fileSystemId"`
	FileSystemARN string `json:"fileSystemArn"`
	OwnerID       string `json:"ownerId"`
	Encrypted     *bool  `json:"encrypted"`
	KMSKeyID      string `json:"kmsKeyId"`
}

// Replication: the destination is named by the request (an existing file
// system, or the region and key of a new one) and by the response (the
// destination's id and region). The response's Destination carries no key.
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html
// https://docs.aws.amazon.com/efs/latest/ug/API_DestinationToCreate.html
// https://docs.aws.amazon.com/efs/latest/ug/API_Destination.html

type replicationDestination struct {
	FileSystemID string `json:"fileSystemId"`
	Region       string `json:"region"`
	KMSKeyID     string `json:"kmsKeyId"`
	OwnerID      string `json:"ownerId"`
}

type replicationRequest struct {
	SourceFileSystemID string                   `json:"sourceFileSystemId"`
	Destinations       []replicationDestination `json:"destinations"`
}

type replicationResponse struct {
	SourceFileSystemID  string                   `json:"sourceFileSystemId"`
	SourceFileSystemARN string                   `json:"sourceFileSystemArn"`
	Destinations        []replicationDestination `json:"destinations"`
}

type fileSystemRequest struct {
	FileSystemID string  `json:"fileSystemId"`
	Policy       *string `json:"policy"`
}

type keyMetadata struct {
	KeyID                 string `json:"keyId"`
	ARN                   string `json:"arn"`
	AWSAccountID          string `json:"aWSAccountId"`
	KeyUsage              string `json:"keyUsage"`
	KeyState              string `json:"keyState"`
	Origin                string `json:"origin"`
	KeyManager            string `json:"keyManager"`
	KeySpec               string `json:"keySpec"`
	CustomerMasterKeySpec string `json:"customerMasterKeySpec"`
	CustomKeyStoreID      string `json:"customKeyStoreId"`
	MultiRegion           *bool  `json:"multiRegion"`
	// MultiRegionConfiguration is set for multi-Region keys.
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_MultiRegionConfiguration.html
	MultiRegionConfiguration *struct {
		MultiRegionKeyType string `json:"multiRegionKeyType"`
		PrimaryKey         *struct {
			ARN string `json:"arn"`
		} `json:"primaryKey"`
	} `json:"multiRegionConfiguration"`
}

type createKeyRequest struct {
	KeyUsage              string  `json:"keyUsage"`
	KeySpec               string  `json:"keySpec"`
	CustomerMasterKeySpec string  `json:"customerMasterKeySpec"`
	Origin                string  `json:"origin"`
	Policy                *string `json:"policy"`
	CustomKeyStoreID      string  `json:"customKeyStoreId"`
	MultiRegion           *bool   `json:"multiRegion"`
}

type createKeyResponse struct {
	KeyMetadata *keyMetadata `json:"keyMetadata"`
}

type keyRequest struct {
	KeyID                string   `json:"keyId"`
	RotationPeriodInDays *int     `json:"rotationPeriodInDays"`
	PendingWindowInDays  *int     `json:"pendingWindowInDays"`
	Policy               *string  `json:"policy"`
	GrantID              string   `json:"grantId"`
	GranteePrincipal     string   `json:"granteePrincipal"`
	Operations           []string `json:"operations"`
	Constraints          *struct {
		EncryptionContextSubset map[string]string `json:"encryptionContextSubset"`
		EncryptionContextEquals map[string]string `json:"encryptionContextEquals"`
	} `json:"constraints"`
	AliasName   string `json:"aliasName"`
	TargetKeyID string `json:"targetKeyId"`
	// ReplicaRegion (ReplicateKey) and PrimaryRegion (UpdatePrimaryRegion).
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdatePrimaryRegion.html
	ReplicaRegion    string `json:"replicaRegion"`
	PrimaryRegion    string `json:"primaryRegion"`
	CustomKeyStoreID string `json:"customKeyStoreId"`
}

type keyResponse struct {
	KeyID        string `json:"keyId"`
	GrantID      string `json:"grantId"`
	KeyState     string `json:"keyState"`
	DeletionDate string `json:"deletionDate"`
	// ReplicaKeyMetadata and ReplicaPolicy answer ReplicateKey.
	ReplicaKeyMetadata *keyMetadata `json:"replicaKeyMetadata"`
	ReplicaPolicy      *string      `json:"replicaPolicy"`
}

// keyEventData is a KMS record's additionalEventData: RetireGrant logs the
// grant id here, with null requestParameters.
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-retire-grant.html
type keyEventData struct {
	GrantID string `json:"grantId"`
}

// decodeParams unmarshals raw parameters into v, a zero struct, by a walk
// (walkParams) or by json.Unmarshal. Absent or null parameters leave v as
// it is; wrong types are ErrBadRecord errors naming the field.
func decodeParams(field string, raw json.RawMessage, v any) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] != '{' {
		return fmt.Errorf("%w: %s is not an object", ErrBadRecord, field)
	}
	if walkParams(raw, v) {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%w: %s.%s: want %s, got JSON %s", ErrBadRecord, field, te.Field, te.Type, te.Value)
		}
		return fmt.Errorf("%w: %s: %v", ErrBadRecord, field, err)
	}
	return nil
}

// EFSGrantContextKey is the encryption-context key EFS constrains its grants
// to, naming the file system the grant serves.
const EFSGrantContextKey = "aws:elasticfilesystem:filesystem:id"

// DefaultKeyPolicy is the key policy KMS gives a key created without one: it
// lets the account's IAM policies grant access to the key.
// https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
func DefaultKeyPolicy(partition, account string) string {
	// Written as json.Marshal writes the document (members sorted, HTML
	// characters escaped): TestDefaultKeyPolicyAsMarshal holds it to that.
	root := arns.ARN{Partition: partition, Service: arns.ServiceIAM, AccountID: account, Resource: "root"}.String()
	b := make([]byte, 0, 192+len(root))
	b = append(b, `{"Id":"key-default-1","Statement":[{"Action":"kms:*","Effect":"Allow","Principal":{"AWS":`...)
	b = jsonstr.Append(b, root)
	b = append(b, `},"Resource":"*","Sid":"Enable IAM User Permissions"}],"Version":"2012-10-17"}`...)
	return string(b)
}
