package posture

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/terminal"
)

func TestParseStatuses(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []finding.Status
		wantErr string
	}{
		{"one, lower case", "non_compliant", []finding.Status{finding.NonCompliant}, ""},
		{"two, mixed case and blanks", " Non_Compliant , ERROR", []finding.Status{finding.NonCompliant, finding.Error}, ""},
		{"every status", "compliant,not_applicable,error,non_compliant",
			[]finding.Status{finding.Compliant, finding.NotApplicable, finding.Error, finding.NonCompliant}, ""},
		{"a repeated status counts once", "error,ERROR", []finding.Status{finding.Error}, ""},
		{"unknown name is named", "non_compliant,failed", nil, `unknown status "failed": want one of non_compliant, error, compliant, not_applicable`},
		{"hyphen is not underscore", "non-compliant", nil, `unknown status "non-compliant"`},
		{"empty name", "error,,compliant", nil, `name 2 is empty`},
		{"empty list", " ", nil, "status list is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStatuses(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseStatuses(%q) error = %v, want it to contain %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseStatuses(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// keys lists entries as "STATUS rule resource-id".
func keys(entries []ledger.Entry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = fmt.Sprintf("%s %s %s", e.Status, e.Rule, e.Resource[strings.LastIndex(e.Resource, "/")+1:])
	}
	return out
}

func TestFilterAndOrder(t *testing.T) {
	tests := []struct {
		name   string
		filter Filter
		want   []string
	}{
		{"default hides not applicable and deleted, needs action first", Filter{}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210", // HIGH before MEDIUM
			"NON_COMPLIANT kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
			"ERROR efs_encryption_in_transit_enforced fs-0fedcba9876543210",
			"COMPLIANT efs_kms_key_available 1234abcd-12ab-34cd-56ef-1234567890ab", // CRITICAL first
			"COMPLIANT cloudtrail_monitoring_intact atrest-trail",                  // then HIGH, by rule
			"COMPLIANT efs_encrypted_at_rest fs-0123456789abcdef0",
		}},
		{"all shows them, not applicable last", Filter{All: true}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0aaaaaaaaaaaaaaaa", // by resource within a rule
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210",
			"NON_COMPLIANT kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
			"ERROR efs_encryption_in_transit_enforced fs-0fedcba9876543210",
			"COMPLIANT efs_kms_key_available 1234abcd-12ab-34cd-56ef-1234567890ab",
			"COMPLIANT cloudtrail_monitoring_intact atrest-trail",
			"COMPLIANT efs_encrypted_at_rest fs-0123456789abcdef0",
			"NOT_APPLICABLE efs_kms_key_verified 0987dcba-09fe-87dc-65ba-ab0987654321",
		}},
		{"status list", Filter{Statuses: []finding.Status{finding.Error, finding.NonCompliant}}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210",
			"NON_COMPLIANT kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
			"ERROR efs_encryption_in_transit_enforced fs-0fedcba9876543210",
		}},
		{"a named not applicable is shown", Filter{Statuses: []finding.Status{finding.NotApplicable}}, []string{
			"NOT_APPLICABLE efs_kms_key_verified 0987dcba-09fe-87dc-65ba-ab0987654321",
		}},
		{"status list with all shows deleted ones", Filter{Statuses: []finding.Status{finding.NonCompliant}, All: true}, []string{
			"NON_COMPLIANT efs_encrypted_at_rest fs-0aaaaaaaaaaaaaaaa",
			"NON_COMPLIANT efs_encrypted_at_rest fs-0fedcba9876543210",
			"NON_COMPLIANT kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
		}},
		{"nothing matches", Filter{Statuses: []finding.Status{"ERROR "}}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := smallPosture()
			before := keys(in)
			got := keys(tt.filter.Apply(in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Apply =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if !reflect.DeepEqual(keys(in), before) {
				t.Error("Apply reordered its input")
			}
		})
	}
}

func TestBlastRadii(t *testing.T) {
	entries := smallPosture()
	// A later judgement of key A names a second file system.
	later := entry("efs_kms_key_symmetric", keyA, keyType, finding.Compliant, "HIGH", "symmetric", t0.Add(time.Hour))
	later.FileSystems = []string{fsB, fsA}
	entries = append(entries, later)
	got := BlastRadii(entries)
	want := []BlastRadius{
		{Key: keyA, FileSystems: []string{fsA, fsB}, NonCompliant: []string{"kms_key_rotation_enabled"}},
		{Key: keyB},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("BlastRadii = %+v\nwant %+v", got, want)
	}
}

func TestWriteTableExact(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"default", Options{}, `Account 111122223333, region us-east-1: 2 NON_COMPLIANT, 1 ERROR, 3 COMPLIANT; hidden: 1 NOT_APPLICABLE, 1 deleted
    (--all)
STATUS         RULE                                RESOURCE                              REASON
NON_COMPLIANT  efs_encrypted_at_rest               fs-0fedcba9876543210                  was created with encrypted=fal…
NON_COMPLIANT  kms_key_rotation_enabled            1234abcd-12ab-34cd-56ef-1234567890ab  automatic key rotation is disa…
ERROR          efs_encryption_in_transit_enforced  fs-0fedcba9876543210                  DescribeFileSystemPolicy faile…
COMPLIANT      efs_kms_key_available               1234abcd-12ab-34cd-56ef-1234567890ab  key state is Enabled and no EF…
COMPLIANT      cloudtrail_monitoring_intact        atrest-trail                          logs KMS and EFS management ev…
COMPLIANT      efs_encrypted_at_rest               fs-0123456789abcdef0                  is encrypted with key 1234abcd…

Resources: 4 (2 EFS file systems, 1 trail, 1 KMS key)
2 NON_COMPLIANT: efs_encrypted_at_rest 1 (HIGH), kms_key_rotation_enabled 1 (MEDIUM)
1 ERROR: efs_encryption_in_transit_enforced 1 (MEDIUM)
3 COMPLIANT: efs_kms_key_available 1, cloudtrail_monitoring_intact 1, efs_encrypted_at_rest 1
Keys and the file systems they protect (blast radius):
1234abcd-12ab-34cd-56ef-1234567890ab  1: fs-0123456789abcdef0  1 NON_COMPLIANT: kms_key_rotation_enabled
`},
		{"non-compliant only, every reason, 80 columns", Options{Width: 80, Reasons: true, Filter: Filter{Statuses: []finding.Status{finding.NonCompliant}}}, `Account 111122223333, region us-east-1: 2 NON_COMPLIANT; hidden: 1 ERROR, 3
    COMPLIANT, 1 NOT_APPLICABLE, 1 deleted
STATUS         RULE                      RESOURCE
NON_COMPLIANT  efs_encrypted_at_rest     fs-0fedcba9876543210
    file system fs-0fedcba9876543210 was created with encrypted=false; data
    written to it is stored unencrypted and a file system's encryption cannot be
    changed after creation
NON_COMPLIANT  kms_key_rotation_enabled  1234abcd-12ab-34cd-56ef-1234567890ab
    automatic key rotation is disabled

Resources: 2 (1 EFS file system, 1 KMS key)
2 NON_COMPLIANT: efs_encrypted_at_rest 1 (HIGH),
    kms_key_rotation_enabled 1 (MEDIUM)
Keys and the file systems they protect (blast radius):
1234abcd-12ab-34cd-56ef-1234567890ab  1: fs-0123456789abcdef0  1 NON_COMPLIANT:…
`},
		{"compliant with reasons, ARNs in a reason shortened", Options{Reasons: true, Filter: Filter{Statuses: []finding.Status{finding.Compliant}}}, `Account 111122223333, region us-east-1: 3 COMPLIANT; hidden: 2 NON_COMPLIANT, 1 ERROR, 1 NOT_APPLICABLE, 1 deleted
STATUS     RULE                          RESOURCE
COMPLIANT  efs_kms_key_available         1234abcd-12ab-34cd-56ef-1234567890ab
    key state is Enabled and no EFS grant for fs-0123456789abcdef0 is revoked or retired
COMPLIANT  cloudtrail_monitoring_intact  atrest-trail
    trail atrest-trail logs KMS and EFS management events
COMPLIANT  efs_encrypted_at_rest         fs-0123456789abcdef0
    file system fs-0123456789abcdef0 is encrypted with key 1234abcd-12ab-34cd-56ef-1234567890ab

Resources: 3 (1 trail, 1 EFS file system, 1 KMS key)
3 COMPLIANT: efs_kms_key_available 1, cloudtrail_monitoring_intact 1, efs_encrypted_at_rest 1
Keys and the file systems they protect (blast radius):
1234abcd-12ab-34cd-56ef-1234567890ab  1: fs-0123456789abcdef0  1 NON_COMPLIANT: kms_key_rotation_enabled
`},
		{"nothing to show", Options{Filter: Filter{Statuses: []finding.Status{"BOGUS"}}}, `Posture: no findings; hidden: 2 NON_COMPLIANT, 1 ERROR, 3 COMPLIANT, 1 NOT_APPLICABLE, 1 deleted
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, smallPosture(), tt.opts); err != nil {
				t.Fatal(err)
			}
			if b.String() != tt.want {
				t.Errorf("WriteTable =\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

// largePosture is a sweep's posture: keys and file systems in three
// accounts and two regions, each key judged by five rules and each file
// system by two, with long reasons (unbroken 64-character grant ids, full
// ARNs) and every status.
func largePosture(keysN, fileSystemsN int) []ledger.Entry {
	r := rand.New(rand.NewPCG(1, 2))
	accounts := []string{"111122223333", "444455556666", "777788889999"}
	regions := []string{"us-east-1", "eu-west-1"}
	statuses := []finding.Status{finding.NonCompliant, finding.Error, finding.Compliant, finding.NotApplicable}
	severities := []string{"CRITICAL", "HIGH", "MEDIUM", "LOW"}
	var entries []ledger.Entry
	for i := range keysN + fileSystemsN {
		account, region := accounts[i%3], regions[(i/3)%2]
		resource := fmt.Sprintf("arn:aws:kms:%s:%s:key/%08x-0000-4000-8000-%012x", region, account, i, i)
		rules := []string{"efs_kms_key_available", "efs_kms_key_policy_grants_efs", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"}
		resourceType := keyType
		if i >= keysN {
			resource = fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:file-system/fs-%017x", region, account, i)
			rules = []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}
			resourceType = "AWS::EFS::FileSystem"
		}
		for _, rule := range rules {
			reason := fmt.Sprintf("EFS grant %064x for file system %s is revoked and no active EFS grant remains; created by arn:aws:iam::%s:role/%s; %s",
				r.Uint64(), resource, account, strings.Repeat("x", r.IntN(150)), strings.Repeat("word ", r.IntN(60)))
			e := entry(rule, resource, resourceType, statuses[r.IntN(len(statuses))], severities[r.IntN(len(severities))], reason, t0.Add(time.Duration(i)*time.Second))
			e.Account, e.Region = account, region
			if resourceType == keyType && i%2 == 0 {
				e.FileSystems = []string{fmt.Sprintf("arn:aws:elasticfilesystem:%s:%s:file-system/fs-%017x", region, account, keysN+i)}
			}
			entries = append(entries, e)
		}
	}
	return entries
}

func TestWriteTableFitsTheWidth(t *testing.T) {
	entries := largePosture(200, 200)
	for _, tt := range []struct {
		name  string
		width int
		opts  Options
	}{
		{"default 120 columns", 120, Options{}},
		{"every reason, every status, 120 columns", 120, Options{Reasons: true, Filter: Filter{All: true}}},
		{"80 columns", 80, Options{Width: 80, Reasons: true}},
		{"narrowest", 40, Options{Width: 10, Filter: Filter{All: true}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, entries, tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			for i, l := range lines {
				if n := utf8.RuneCountInString(l); n > tt.width {
					t.Fatalf("line %d is %d columns wide, over %d:\n%s", i+1, n, tt.width, l)
				}
			}
			if tt.width >= 80 && !strings.HasPrefix(out, "Posture (resources as region:account:id): ") {
				t.Errorf("header does not say how resources are shown: %q", lines[0])
			}
			// Every shown pair has its row (a line that starts with its
			// status), but for the COMPLIANT ones of the default filter,
			// which are folded into one line per rule.
			shown := tt.opts.Filter.Apply(entries)
			want := len(shown)
			if len(tt.opts.Filter.Statuses) == 0 && !tt.opts.Filter.All {
				compliantRules := map[string]bool{}
				for _, e := range shown {
					if e.Status == finding.Compliant {
						compliantRules[e.Rule] = true
						want--
					}
				}
				want += len(compliantRules)
			}
			rows := 0
			for _, l := range lines {
				if f := strings.Fields(l); len(f) > 0 && !strings.HasPrefix(l, " ") && slices.Contains(statusOrder, finding.Status(f[0])) {
					rows++
				}
			}
			if rows != want {
				t.Errorf("%d rows for %d shown entries, want %d", rows, len(shown), want)
			}
			// The short forms tell the accounts and regions apart.
			if tt.width >= 80 && tt.opts.Filter.All {
				for _, want := range []string{"  us-east-1:444455556666:fs-000000000000000cd", "  us-east-1:444455556666:00000001-0000-4000-8000-000000000001"} {
					if !strings.Contains(out, want) {
						t.Errorf("output does not name %s", want)
					}
				}
			}
		})
	}
}

func TestWriteTableEscapesControlCharacters(t *testing.T) {
	e := entry("efs_encrypted_at_rest\x1b[31m", fsA+"\u202e", "AWS::EFS::FileSystem", finding.NonCompliant, "HIGH\r",
		"file system\x1b[2J\x1b[H is COMPLIANT\nCOMPLIANT  fake row \u2066hidden\u2069 \u009b31m", t0)
	e.FileSystems = nil
	key := entry("kms_key_rotation_enabled", keyA, keyType, finding.NonCompliant, "MEDIUM", "ok", t0)
	key.FileSystems = []string{fsB + "\x07"}
	for _, tt := range []struct {
		name   string
		opts   Options
		reason string // how the reason is shown
	}{
		{"reason column, cut at the width", Options{}, `file system\x1b[2J\x1b[H is COMPLIA…`},
		{"every reason in full", Options{Reasons: true},
			`file system\x1b[2J\x1b[H is COMPLIANT\nCOMPLIANT  fake row \u2066hidden\u2069 \u009b31m`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteTable(&b, []ledger.Entry{e, key}, tt.opts); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, r := range out {
				if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f || r == 0x202e || r == 0x2066 || r == 0x2069) {
					t.Fatalf("output holds %U:\n%s", r, out)
				}
			}
			for _, want := range []string{
				`efs_encrypted_at_rest\x1b[31m`,
				`HIGH\r`,
				`fs-0123456789abcdef0\u202e`,
				tt.reason,
				`fs-0fedcba9876543210\x07`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output does not hold %s:\n%s", want, out)
				}
			}
			// The injected "COMPLIANT  fake row" never starts a line.
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "COMPLIANT") {
					t.Errorf("a reason started a row: %q", l)
				}
			}
		})
	}
}

func TestWrap(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		width  int
		indent int
		want   []string
	}{
		{"fits", "a b c", 5, 2, []string{"a b c"}},
		{"at blanks with a hanging indent", "aaa bbb ccc ddd", 8, 2, []string{"aaa bbb", "  ccc", "  ddd"}},
		{"a long word is broken", "abcdefghij", 4, 1, []string{"abcd", " efg", " hij"}},
		{"runs of blanks inside a line are kept", "a   b   c", 6, 0, []string{"a   b", "c"}},
		{"runes, not bytes", "ééé ééé", 3, 0, []string{"ééé", "ééé"}},
		{"leading blanks are kept", "    abc def", 8, 4, []string{"    abc", "    def"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := wrap(tt.in, tt.width, tt.indent); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("wrap(%q, %d, %d) = %q, want %q", tt.in, tt.width, tt.indent, got, tt.want)
			}
		})
	}
}

// FuzzWriteTable holds the table's promises for any text an entry may
// carry: no line wider than the width, no rune a terminal would act on.
func FuzzWriteTable(f *testing.F) {
	f.Add("efs_encrypted_at_rest", fsA, "HIGH", "file system\x1b[2J was created with encrypted=false", 120)
	f.Add("r\n", "arn:aws:kms:us-east-1:111122223333:key/\u202e", "", strings.Repeat("x", 300), 40)
	f.Add("", "", "\t", "   leading   blanks   "+strings.Repeat("é ", 100), 57)
	f.Fuzz(func(t *testing.T, rule, resource, severity, reason string, width int) {
		width = 40 + abs(width)%200
		e := entry(rule, resource, keyType, finding.NonCompliant, severity, reason, t0)
		e.FileSystems = []string{reason}
		entries := append(smallPosture(), e)
		var b strings.Builder
		// The wide table, then the default one with its REASON column.
		if err := WriteTable(&b, entries, Options{Width: width, Reasons: true, Filter: Filter{All: true}}); err != nil {
			t.Fatal(err)
		}
		if err := WriteTable(&b, entries, Options{Width: width}); err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(b.String(), "\n") {
			if n := utf8.RuneCountInString(l); n > width {
				t.Fatalf("line %d is %d runes wide, over %d: %q", i+1, n, width, l)
			}
			if !utf8.ValidString(l) {
				t.Fatalf("line %d is not UTF-8: %q", i+1, l)
			}
			for _, r := range l {
				if terminal.Unsafe(r) {
					t.Fatalf("line %d holds %U: %q", i+1, r, l)
				}
			}
		}
	})
}

func abs(n int) int {
	if n < 0 {
		if n == -n { // the most negative int
			return 0
		}
		return -n
	}
	return n
}
