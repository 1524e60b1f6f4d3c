package posture

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

// samplePosture is the posture of the sample events (events/[0-8]*.json):
// testdata/sample-posture.json, folded from atrest evaluate's findings by
// testdata/foldfindings (its comment says how to make it again).
func samplePosture(t *testing.T) []ledger.Entry {
	t.Helper()
	data, err := os.ReadFile("testdata/sample-posture.json")
	if err != nil {
		t.Fatal(err)
	}
	var entries []ledger.Entry
	if err := json.Unmarshal(data, &entries); err != nil {
		t.Fatalf("testdata/sample-posture.json: %v", err)
	}
	return entries
}

// samplePostureTable is the default table of the sample posture: what
// make demo prints.
const samplePostureTable = `Account 111122223333, region us-east-1: 12 NON_COMPLIANT, 12 COMPLIANT; hidden: 9 NOT_APPLICABLE (--all)
STATUS         RULE                                RESOURCE                              REASON
NON_COMPLIANT  efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab  EFS grant 0c9b8a7f… for file s…
NON_COMPLIANT  efs_kms_key_available               7c2f1e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f  key state is PendingImport (no…
NON_COMPLIANT  cloudtrail_monitoring_intact        atrest-trail                          event selectors do not log wri…
NON_COMPLIANT  efs_encrypted_at_rest               fs-0fedcba9876543210                  created with encrypted=false
NON_COMPLIANT  efs_kms_key_policy_grants_efs       1234abcd-12ab-34cd-56ef-1234567890ab  key policy blocks EFS: for fs-…
NON_COMPLIANT  efs_kms_key_policy_grants_efs       7c2f1e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f  key policy blocks EFS: for fs-…
NON_COMPLIANT  efs_kms_key_symmetric               0987dcba-09fe-87dc-65ba-ab0987654321  key spec is RSA_2048, not SYMM…
NON_COMPLIANT  efs_encryption_in_transit_enforced  fs-0a1b2c3d4e5f60718                  no file-system policy: EFS gra…
NON_COMPLIANT  efs_encryption_in_transit_enforced  fs-0b1c2d3e4f5a6b7c8                  no file-system policy: EFS gra…
NON_COMPLIANT  efs_encryption_in_transit_enforced  fs-0f1e2d3c4b5a69788                  no file-system policy: EFS gra…
NON_COMPLIANT  efs_encryption_in_transit_enforced  fs-0fedcba9876543210                  no file-system policy: EFS gra…
NON_COMPLIANT  kms_key_rotation_enabled            1234abcd-12ab-34cd-56ef-1234567890ab  automatic key rotation is disa…
COMPLIANT      efs_kms_key_available               0987dcba-09fe-87dc-65ba-ab0987654321  key state is Enabled and no EF…
COMPLIANT      efs_kms_key_available               5b1e9a3c-8d2f-4e6a-9c1b-7f3e2d1a0b9c  key state is Enabled and no EF…
COMPLIANT      efs_encrypted_at_rest               fs-0123456789abcdef0                  encrypted with key 1234abcd-12…
COMPLIANT      efs_encrypted_at_rest               fs-0a1b2c3d4e5f60718                  encrypted with key 5b1e9a3c-8d…
COMPLIANT      efs_encrypted_at_rest               fs-0b1c2d3e4f5a6b7c8                  encrypted with key 0987dcba-09…
COMPLIANT      efs_encrypted_at_rest               fs-0f1e2d3c4b5a69788                  encrypted with key 7c2f1e3d-4b…
COMPLIANT      efs_kms_key_policy_grants_efs       0987dcba-09fe-87dc-65ba-ab0987654321  for fs-0b1c2d3e4f5a6b7c8 (crea…
COMPLIANT      efs_kms_key_policy_grants_efs       5b1e9a3c-8d2f-4e6a-9c1b-7f3e2d1a0b9c  key is AWS managed: AWS mainta…
COMPLIANT      efs_kms_key_symmetric               1234abcd-12ab-34cd-56ef-1234567890ab  key is SYMMETRIC_DEFAULT with…
COMPLIANT      efs_kms_key_symmetric               5b1e9a3c-8d2f-4e6a-9c1b-7f3e2d1a0b9c  key is SYMMETRIC_DEFAULT with…
COMPLIANT      efs_kms_key_symmetric               7c2f1e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f  key is SYMMETRIC_DEFAULT with…
COMPLIANT      efs_encryption_in_transit_enforced  fs-0123456789abcdef0                  file-system policy stops anony…

Resources: 10 (5 EFS file systems, 4 KMS keys, 1 trail)
12 NON_COMPLIANT: efs_kms_key_available 2 (CRITICAL), cloudtrail_monitoring_intact 1 (HIGH),
    efs_encrypted_at_rest 1 (HIGH), efs_kms_key_policy_grants_efs 2 (HIGH), efs_kms_key_symmetric 1 (HIGH),
    efs_encryption_in_transit_enforced 4 (MEDIUM), kms_key_rotation_enabled 1 (MEDIUM)
12 COMPLIANT: efs_kms_key_available 2, efs_encrypted_at_rest 4, efs_kms_key_policy_grants_efs 2,
    efs_kms_key_symmetric 3, efs_encryption_in_transit_enforced 1
Keys and the file systems they protect (blast radius):
0987dcba-09fe-87dc-65ba-ab0987654321  1: fs-0b1c2d3e4f5a6b7c8  1 NON_COMPLIANT: efs_kms_key_symmetric
1234abcd-12ab-34cd-56ef-1234567890ab  1: fs-0123456789abcdef0  3 NON_COMPLIANT: efs_kms_key_available, efs_kms_key_poli…
7c2f1e3d-4b5a-4c6d-8e7f-9a0b1c2d3e4f  1: fs-0f1e2d3c4b5a69788  2 NON_COMPLIANT: efs_kms_key_available, efs_kms_key_poli…
5b1e9a3c-8d2f-4e6a-9c1b-7f3e2d1a0b9c  1: fs-0a1b2c3d4e5f60718
`

func TestWriteTableSamplePosture(t *testing.T) {
	entries := samplePosture(t)
	if len(entries) != 33 {
		t.Fatalf("testdata/sample-posture.json holds %d entries, want 33", len(entries))
	}
	for _, tt := range []struct {
		name     string
		opts     Options
		maxLines int
		want     string // the whole output, when set
		holds    []string
	}{
		{"default: fits 40 lines of 120 columns", Options{}, 40, samplePostureTable, nil},
		{"every reason in full beneath its row", Options{Reasons: true}, 0, "", []string{
			"NON_COMPLIANT  efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab\n" +
				"    EFS grant 0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a for file system fs-0123456789abcdef0 is\n" +
				"    revoked and no active EFS grant remains\n",
			"NON_COMPLIANT  kms_key_rotation_enabled            1234abcd-12ab-34cd-56ef-1234567890ab\n    automatic key rotation is disabled\n",
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, entries, tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if tt.maxLines > 0 && len(lines) > tt.maxLines {
				t.Errorf("%d lines, over %d", len(lines), tt.maxLines)
			}
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > DefaultWidth {
					t.Errorf("line %d is %d columns wide, over %d: %q", i+1, n, DefaultWidth, l)
				}
			}
			if tt.want != "" && out != tt.want {
				t.Errorf("WriteTable =\n%s\nwant\n%s", out, tt.want)
			}
			for _, want := range tt.holds {
				if !strings.Contains(out, want) {
					t.Errorf("output does not hold\n%s\nin\n%s", want, out)
				}
			}
		})
	}
}

// compliantPosture is n file systems, each COMPLIANT with
// efs_encrypted_at_rest and efs_encryption_in_transit_enforced, and a key
// NON_COMPLIANT with rotation, ERROR with availability and protecting the
// first file system.
func compliantPosture(n int) []ledger.Entry {
	var entries []ledger.Entry
	for i := range n {
		fs := fmt.Sprintf("arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-%017x", i)
		entries = append(entries,
			entry("efs_encrypted_at_rest", fs, "AWS::EFS::FileSystem", finding.Compliant, "HIGH", "encrypted", t0.Add(time.Duration(i)*time.Second)),
			entry("efs_encryption_in_transit_enforced", fs, "AWS::EFS::FileSystem", finding.Compliant, "MEDIUM", "TLS only", t0))
	}
	rotation := entry("kms_key_rotation_enabled", keyA, keyType, finding.NonCompliant, "MEDIUM", "automatic key rotation is disabled", t0)
	rotation.FileSystems = []string{"arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-00000000000000000"}
	available := entry("efs_kms_key_available", keyA, keyType, finding.Error, "CRITICAL", "DescribeKey failed: AccessDeniedException", t0)
	return append(entries, rotation, available)
}

func TestWriteTableFoldsCompliantRows(t *testing.T) {
	const head = "STATUS         RULE                                RESOURCE                              REASON\n" +
		"NON_COMPLIANT  kms_key_rotation_enabled            1234abcd-12ab-34cd-56ef-1234567890ab  automatic key rotation is disa…\n" +
		"ERROR          efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab  DescribeKey failed: AccessDeni…\n"
	tests := []struct {
		name       string
		fileSystem int // how many file systems comply
		opts       Options
		want       string // the rows
		compliant  int    // how many COMPLIANT rows print one by one
	}{
		{"25 file systems: 50 COMPLIANT rows print", 25, Options{}, head +
			"COMPLIANT      efs_encrypted_at_rest               fs-00000000000000000                  encrypted\n", 50},
		{"26 file systems: 52 COMPLIANT rows fold by rule", 26, Options{}, head +
			"COMPLIANT      efs_encrypted_at_rest               26 resources                          (--status compliant)\n" +
			"COMPLIANT      efs_encryption_in_transit_enforced  26 resources                          (--status compliant)\n" +
			"\nResources: 27 (26 EFS file systems, 1 KMS key)\n", 0},
		{"200 file systems fold with every reason too", 200, Options{Reasons: true}, "" +
			"NON_COMPLIANT  kms_key_rotation_enabled            1234abcd-12ab-34cd-56ef-1234567890ab\n" +
			"    automatic key rotation is disabled\n" +
			"ERROR          efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab\n" +
			"    DescribeKey failed: AccessDeniedException\n" +
			"COMPLIANT      efs_encrypted_at_rest               200 resources\n" +
			"COMPLIANT      efs_encryption_in_transit_enforced  200 resources\n\n", 0},
		{"a status filter lists them", 200, Options{Filter: Filter{Statuses: []finding.Status{finding.Compliant, finding.Error}}}, "" +
			"ERROR      efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab  DescribeKey failed: AccessDeniedEx…\n" +
			"COMPLIANT  efs_encrypted_at_rest               fs-00000000000000000                  encrypted\n", 400},
		{"--all lists them", 200, Options{Filter: Filter{All: true}}, head, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, compliantPosture(tt.fileSystem), tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if !strings.Contains(out, tt.want) {
				t.Errorf("output does not hold\n%s\nin\n%s", tt.want, out)
			}
			rows := 0
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "COMPLIANT ") && !strings.Contains(l, " resources ") && !strings.HasSuffix(l, " resources") {
					rows++
				}
			}
			if rows != tt.compliant {
				t.Errorf("%d COMPLIANT rows, want %d:\n%s", rows, tt.compliant, out)
			}
			// NON_COMPLIANT and ERROR rows are never folded.
			for _, want := range []string{"NON_COMPLIANT  kms_key_rotation_enabled ", "ERROR "} {
				if tt.opts.Filter.Keep(ledger.Entry{Status: finding.Status(strings.Fields(want)[0])}) && !strings.Contains(out, "\n"+want) {
					t.Errorf("output has no row starting %q", want)
				}
			}
		})
	}
}

func TestWriteTableCapsTheKeys(t *testing.T) {
	var entries []ledger.Entry
	for i := range 14 {
		key := fmt.Sprintf("arn:aws:kms:us-east-1:111122223333:key/%08x-0000-4000-8000-000000000000", i)
		e := entry("kms_key_rotation_enabled", key, keyType, finding.Compliant, "MEDIUM", "rotation on", t0)
		if i%7 != 0 {
			for j := range 1 + i%2 {
				e.FileSystems = append(e.FileSystems, fmt.Sprintf("arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-%017x", 100*i+j))
			}
		}
		entries = append(entries, e)
	}
	var b strings.Builder
	if err := WriteTable(&b, entries, Options{}); err != nil {
		t.Fatal(err)
	}
	// 14 keys: 2 protect none, 6 protect two file systems, 6 protect
	// one; the 10 that protect most are listed, then what is left.
	const want = "Keys and the file systems they protect (blast radius):\n" +
		"00000001-0000-4000-8000-000000000000  2: fs-00000000000000064, fs-00000000000000065\n" +
		"00000003-0000-4000-8000-000000000000  2: fs-0000000000000012c, fs-0000000000000012d\n" +
		"00000005-0000-4000-8000-000000000000  2: fs-000000000000001f4, fs-000000000000001f5\n" +
		"00000009-0000-4000-8000-000000000000  2: fs-00000000000000384, fs-00000000000000385\n" +
		"0000000b-0000-4000-8000-000000000000  2: fs-0000000000000044c, fs-0000000000000044d\n" +
		"0000000d-0000-4000-8000-000000000000  2: fs-00000000000000514, fs-00000000000000515\n" +
		"00000002-0000-4000-8000-000000000000  1: fs-000000000000000c8\n" +
		"00000004-0000-4000-8000-000000000000  1: fs-00000000000000190\n" +
		"00000006-0000-4000-8000-000000000000  1: fs-00000000000000258\n" +
		"00000008-0000-4000-8000-000000000000  1: fs-00000000000000320\n" +
		"… and 2 more keys\n" +
		"2 keys protect no file system\n"
	if out := b.String(); !strings.HasSuffix(out, want) {
		t.Errorf("output does not end with\n%s\nin\n%s", want, out)
	}
}

func TestCompactReason(t *testing.T) {
	tests := []struct {
		name, reason, resource, want string
	}{
		{"own name dropped", "file system fs-0123456789abcdef0 was created with encrypted=false", "fs-0123456789abcdef0", "was created with encrypted=false"},
		{"own name and colon dropped", "trail atrest-trail: event selectors do not log", "atrest-trail", "event selectors do not log"},
		{"another resource kept", "file system fs-0123456789abcdef0 was created", "fs-0fedcba9876543210", "file system fs-0123456789abcdef0 was created"},
		{"name not at the start kept", "the key that protects file system fs-0123456789abcdef0 is disabled", "fs-0123456789abcdef0", "the key that protects file system fs-0123456789abcdef0 is disabled"},
		{"a longer id that starts the same is kept", "file system fs-0123456789abcdef01 is new", "fs-0123456789abcdef0", "file system fs-0123456789abcdef01 is new"},
		{"capitals before the name are kept", "EFS fs-0123456789abcdef0 is new", "fs-0123456789abcdef0", "EFS fs-0123456789abcdef0 is new"},
		{"nothing after the name: kept", "file system fs-0123456789abcdef0", "fs-0123456789abcdef0", "file system fs-0123456789abcdef0"},
		{"a grant id keeps 8 digits", "EFS grant 0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a is revoked", "k", "EFS grant 0c9b8a7f… is revoked"},
		{"a file system id is not a long hex id", "protects fs-0123456789abcdef0", "k", "protects fs-0123456789abcdef0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := compactReason(tt.reason, tt.resource); got != tt.want {
				t.Errorf("compactReason(%q, %q) = %q, want %q", tt.reason, tt.resource, got, tt.want)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		width int
		want  string
	}{
		{"fits", "abc", 3, "abc"},
		{"cut with an ellipsis", "abcdef", 4, "abc…"},
		{"no blank before the ellipsis", "ab cdef", 4, "ab…"},
		{"one ellipsis after a shortened id", "grant 0c9b8a7f… for", 16, "grant 0c9b8a7f…"},
		{"runes, not bytes", "éééé", 3, "éé…"},
		{"width 1", "abc", 1, "…"},
		{"width 0", "abc", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := truncate(tt.in, tt.width); got != tt.want {
				t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.width, got, tt.want)
			}
		})
	}
}
