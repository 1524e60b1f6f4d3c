// Package inventory reads the state of EFS file systems and KMS keys, and of
// the monitoring path their evidence travels (CloudTrail trails, EventBridge
// rules, CloudWatch Logs subscription filters), from the AWS APIs: the live
// state.TrailStore, the scheduled inventory sweep, and the CloudTrail
// backfill, for the monitor's own account and, through an assumed role, the
// other accounts of an organization.
//
// # Layout
//
// One package, a file for each part; the sweep is a method of the live
// store (it fills the store's cache) and the backfill reads through the
// same clients, so separate packages would only export the cache and the
// error helpers to each other.
//
//   - The live store: live.go (Live, its options and the KMS and EFS
//     reads), trail.go (the monitoring path: trails, EventBridge rules,
//     subscription filters), apply.go (what a record makes stale),
//     cache.go (the TTL cache with single-flight reads) and errors.go
//     (refused reads, ErrAccessDenied).
//   - Its accounts: clients.go (the SDK calls the store, the sweep and the
//     backfill make, as small interfaces, and Clients, one account and
//     region's set of them) and accounts.go (Accounts: the clients of the
//     monitor's own account and, through an assumed role, of the other
//     accounts of an organization).
//   - sweep.go: Sweep, listing every file system, key and piece of the
//     monitoring path to judge.
//   - backfill.go: Backfill, replaying CloudTrail's event history.
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
// Trail reads a trail in its home region (DescribeTrails, GetTrailStatus,
// GetEventSelectors); its selectors are judged by state.ManagementEvents, as
// a PutEventSelectors record is, and a trail without custom selectors logs
// the default (all management events). The baseline multi-region flag and S3
// bucket are the trail as this store first read it. Watched reads an
// EventBridge rule (DescribeRule, ListTargetsByRule; RemovedTargets are the
// targets this store saw earlier and no longer sees, so targets removed
// before its first read go unnoticed; rule state does not) or a subscription
// filter (DescribeSubscriptionFilters of its log group, names matched
// exactly). A trail, rule or filter that no longer exists is reported
// deleted. A CloudTrail, EventBridge or CloudWatch Logs record drops the
// cached reads of what it names and reports it touched.
//
// GetKeyRotationStatus is asked only of keys KMS can rotate (symmetric, key
// material from KMS, not in a custom key store); for other keys
// RotationEnabled stays nil. GetKeyPolicy and ListGrants are asked only of
// keys that may protect a live file system: only the rules about those file
// systems read a key's policy and grants, and every rule judges a key that
// protects none "unused" without them. Key leaves them out (policy unknown,
// no grants) when the fresh cached file-system list of the key's account and
// region names no live file system with that key; without such a list it
// reads everything. Records that create, delete or replicate a file system
// drop the list, so a key a new file system uses is read whole before it is
// judged. A file system EFS no longer knows is reported Deleted with Known
// false.
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
// Sweep lists every file system and key of the given regions, and the
// monitoring path of Options.Watch (the config's watched_* lists): every
// trail DescribeTrails returns in the regions, or the watched ones, each once
// (a multi-region trail is listed in every region as a shadow trail; it is
// deduplicated by ARN and read in its home region), the watched EventBridge
// rules (by name on each region's default bus, or by ARN) and subscription
// filters. A watched name found nowhere is still returned, in the first
// region, so it is judged deleted. It reads each ref once into the cache, so
// evaluating the refs it returns makes no further call while the reads are
// fresh; file systems are listed before keys, so only the keys that protect
// one have their policy and grants read. Every paginated read asks for the
// largest page its API allows (ListKeys 1000; ListGrants, ListAliases,
// DescribeFileSystems and ListTargetsByRule 100; DescribeSubscriptionFilters
// 50). Backfill pages through LookupEvents (by every event name of
// interest, cloudtrail.EventNames, by default, or by event source: EFS, KMS,
// CloudTrail, EventBridge and CloudWatch Logs) over the last 90 days, at most
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
//   - GetEventSelectors returns no selector for a trail created without
//     any (AWS: the default selector, all management events), and
//     DescribeTrails reports HasCustomEventSelectors false even after
//     PutEventSelectors; Live reads the default only when no selector is
//     returned and the trail has no custom ones, which holds on both.
//   - DescribeSubscriptionFilters ignores filterNamePrefix (Live does not
//     send it), and PutSubscriptionFilter checks that its destination (a
//     Kinesis stream in the tests) exists.
//
// CreateTrail, StartLogging, StopLogging, GetTrailStatus, PutEventSelectors
// and GetEventSelectors (classic selectors with excluded sources),
// DescribeTrails with shadow trails, PutRule, PutTargets, DisableRule,
// DescribeRule, ListTargetsByRule and DescribeSubscriptionFilters behave as
// AWS documents and are tested on moto. Advanced event selectors, paged
// rule targets, a deleted log group, refused reads and single-flight reads
// of trails are tested with fakes.
//
// ListGrants (with encryption-context constraints), DescribeFileSystemPolicy
// (PolicyNotFound), ScheduleKeyDeletion (DeletionDate), pagination of
// DescribeFileSystems and sts:AssumeRole into another account (moto maps the
// assumed credentials to that account) behave as AWS documents.
package inventory
