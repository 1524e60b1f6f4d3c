// Package inventory reads the state of EFS file systems and KMS keys from the
// AWS APIs: the live state.Store, the scheduled inventory sweep, and the
// CloudTrail backfill, for the monitor's own account and, through an assumed
// role, the other accounts of an organization.
//
// # Live store
//
// Live answers state.Store questions from DescribeKey, GetKeyRotationStatus,
// GetKeyPolicy, ListGrants and ListAliases (KMS) and DescribeFileSystems and
// DescribeFileSystemPolicy (EFS). Each read is cached for a short TTL
// (DefaultTTL), concurrent reads of one thing are made once, and Apply never
// takes facts from a record: it drops the cached reads the record makes stale
// and reports the touched resources as state.Memory does. FileSystemsForKey
// filters every file system of the key's account and region, not only those
// seen in events. A refused read is an error wrapping ErrAccessDenied whose
// message names the missing permission and resource; it is never an empty,
// compliant-looking snapshot.
//
// GetKeyRotationStatus is asked only of keys KMS can rotate (symmetric, key
// material from KMS, not in a custom key store); for other keys
// RotationEnabled stays nil. A file system EFS no longer knows is reported
// Deleted with Known false.
//
// # Accounts
//
// Accounts builds clients lazily per account and region with the SDK's
// adaptive retryer. Another account is read through the role RoleName in it
// (sts:AssumeRole with ExternalID; credentials cached until they expire);
// without RoleName it is refused with ErrAccountNotMonitored.
//
// # Sweep and backfill
//
// Sweep lists every file system and key of the given regions and reads each
// once into the cache, so evaluating the refs it returns makes no further
// call while the reads are fresh. Backfill pages through LookupEvents (by
// event name by default, or by event source) over the last 90 days, at most
// 2 requests a second per region (TokenBucket), saving a Checkpoint after
// every page, and hands the records of interest on in eventTime order.
//
// # Testing, and where moto differs from AWS
//
// Unit tests use fakes behind the small client interfaces. Integration tests
// run against moto 5.2.1 in server mode (internal/awstest) and fail when it is
// missing. moto's CloudTrail LookupEvents answers HTTP 500, so the backfill is
// tested with responses in the documented JSON 1.1 wire format served by a
// fake HTTP client given to the SDK client (cloudtrail.Options.HTTPClient);
// the tests check the X-Amz-Target header, the pagination token, the time
// window and the rate. Other gaps the moto tests found and allow for:
//
//   - GetKeyRotationStatus returns no RotationPeriodInDays, so a rotating
//     key's period reads as 0 (unknown); AWS returns it.
//   - GetKeyRotationStatus answers false for asymmetric and HMAC keys where
//     AWS fails with UnsupportedOperationException (Live does not ask).
//   - DescribeKey omits KeyUsage for a key created without one (AWS:
//     ENCRYPT_DECRYPT).
//   - alias/aws/* aliases are listed with a target key that does not exist
//     until DescribeKey is called with the alias name; the AWS managed key
//     then reports KeyManager CUSTOMER (AWS: AWS).
//   - DescribeFileSystems omits KmsKeyId for a file system encrypted with
//     the AWS managed key and echoes KmsKeyId as given (id or alias) where
//     AWS returns the key ARN; Live resolves both, falling back to
//     alias/aws/elasticfilesystem for an encrypted file system without one.
//   - The key policy is returned with other JSON spacing and key order.
//
// ListGrants (with encryption-context constraints), DescribeFileSystemPolicy
// (PolicyNotFound), ScheduleKeyDeletion (DeletionDate), pagination of
// DescribeFileSystems and sts:AssumeRole into another account (moto maps the
// assumed credentials to that account) behave as AWS documents.
package inventory
