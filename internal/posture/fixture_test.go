package posture

import (
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

// Resources of the small posture the tests render: one account and
// region, two keys, two file systems and a trail.
const (
	keyA   = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	keyB   = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	fsA    = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"
	fsB    = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0fedcba9876543210"
	trailA = "arn:aws:cloudtrail:us-east-1:111122223333:trail/atrest-trail"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// entry builds a ledger entry whose first judgement was status at `at`.
func entry(rule, resource, resourceType string, status finding.Status, severity, reason string, at time.Time) ledger.Entry {
	return ledger.Entry{
		Rule: rule, Resource: resource, ResourceType: resourceType,
		Account: "111122223333", Region: "us-east-1",
		Status: status, Reason: reason, Severity: severity,
		EventTime: at, EventID: "ev-" + at.Format("150405"), EventName: "CreateFileSystem",
		Since:       at,
		Transitions: []ledger.Transition{{To: status, At: at, EventName: "CreateFileSystem", EventID: "ev-" + at.Format("150405"), Reason: reason}},
	}
}

// smallPosture is the fixture of the exact-output tests: every status,
// three severities, a key protecting one file system, a key protecting
// none, a deleted file system and a transition back to compliant.
func smallPosture() []ledger.Entry {
	const (
		key   = "AWS::KMS::Key"
		fs    = "AWS::EFS::FileSystem"
		trail = "AWS::CloudTrail::Trail"
	)
	rotation := entry("kms_key_rotation_enabled", keyA, key, finding.NonCompliant, "MEDIUM", "automatic key rotation is disabled", t0)
	rotation.FileSystems = []string{fsA}
	available := entry("efs_kms_key_available", keyA, key, finding.Compliant, "CRITICAL",
		"key state is Enabled and no EFS grant for fs-0123456789abcdef0 is revoked or retired", t0.Add(time.Minute))
	available.FileSystems = []string{fsA}
	available.Transitions = []ledger.Transition{
		{To: finding.NonCompliant, At: t0, EventName: "CreateKey", EventID: "ev-1", Reason: "key is disabled"},
		{From: finding.NonCompliant, To: finding.Compliant, At: t0.Add(time.Minute), EventName: "EnableKey", EventID: "ev-2", Reason: available.Reason},
	}
	verified := entry("efs_kms_key_verified", keyB, key, finding.NotApplicable, "HIGH", "no verification has run", t0)
	unencrypted := entry("efs_encrypted_at_rest", fsB, fs, finding.NonCompliant, "HIGH",
		"file system fs-0fedcba9876543210 was created with encrypted=false; data written to it is stored unencrypted and a file system's encryption cannot be changed after creation", t0.Add(2*time.Minute))
	encrypted := entry("efs_encrypted_at_rest", fsA, fs, finding.Compliant, "HIGH",
		"file system fs-0123456789abcdef0 is encrypted with key "+keyA, t0)
	transit := entry("efs_encryption_in_transit_enforced", fsB, fs, finding.Error, "MEDIUM",
		"DescribeFileSystemPolicy failed: AccessDeniedException", t0.Add(3*time.Minute))
	logging := entry("cloudtrail_monitoring_intact", trailA, trail, finding.Compliant, "HIGH", "trail atrest-trail logs KMS and EFS management events", t0)
	deleted := entry("efs_encrypted_at_rest", "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0aaaaaaaaaaaaaaaa", fs, finding.NonCompliant, "HIGH", "file system was created with encrypted=false", t0)
	deleted.Resolved = true
	return []ledger.Entry{rotation, available, verified, unencrypted, encrypted, transit, logging, deleted}
}
