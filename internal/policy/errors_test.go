package policy

import (
	"context"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/rules"
)

// ruleHeader is the METADATA a test rule needs to load.
const ruleHeader = `# METADATA
# title: Test rule
# custom:
#   id: %s
#   severity: LOW
#   resource_type: AWS::EFS::FileSystem
#   remediation: Nothing to do.
#   controls:
#     - NIST 800-53 SC-28
`

// testRules is the embedded entry point and helpers plus the given files.
func testRules(t *testing.T, files map[string]string) fs.FS {
	t.Helper()
	m := fstest.MapFS{}
	for _, name := range []string{"main/main.rego", "lib/report.rego"} {
		data, err := fs.ReadFile(rules.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		m[name] = &fstest.MapFile{Data: data}
	}
	for name, src := range files {
		m[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return m
}

// rule is a test rule file whose results set is body.
func rule(id, pkg, body string) string {
	return strings.Replace(ruleHeader, "%s", id, 1) + "package atrest.efs." + pkg + "\n\n" + body + "\n"
}

// good is a well-behaved test rule.
var good = rule("good", "good", `results contains {"rule": "good", "status": "COMPLIANT", "reason": "fine"} if input.resource_type == "AWS::EFS::FileSystem"`)

var fsInput = &Input{ResourceType: "AWS::EFS::FileSystem", Resource: "arn:fs", FileSystem: &FileSystemInput{ID: "fs-1"}}

func TestEvaluateMalformedResults(t *testing.T) {
	tests := []struct {
		name    string
		bad     string
		want    []Result
		wantErr string
	}{
		{
			name: "unknown status",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "MAYBE", "reason": "?"} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, `policy evaluation failed: evaluate arn:fs: rule bad: unknown status "MAYBE"`},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "status ERROR from a rule",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "ERROR", "reason": "?"} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, `policy evaluation failed: evaluate arn:fs: rule bad: unknown status "ERROR"`},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "missing result",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "?"} if input.resource_type == "nothing"`),
			want: []Result{
				{"bad", finding.Error, "policy evaluation failed: evaluate arn:fs: rule bad: no result"},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "two results",
			bad: rule("bad", "bad", `results contains {"rule": "bad", "status": s, "reason": "?"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	some s in ["COMPLIANT", "NON_COMPLIANT"]
}`),
			want: []Result{
				{"bad", finding.Error, "policy evaluation failed: evaluate arn:fs: rule bad: more than one result"},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "empty reason",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": ""} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, "policy evaluation failed: evaluate arn:fs: rule bad: result has no reason"},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "extra field",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "x", "x": 1} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, `policy evaluation failed: evaluate arn:fs: rule bad: malformed result map[reason:x rule:bad status:COMPLIANT x:1]`},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "result for a rule of another resource type",
			bad: strings.Replace(rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "x"}`),
				"resource_type: AWS::EFS::FileSystem", "resource_type: AWS::KMS::Key", 1),
			want: []Result{
				{"bad", finding.Error, "policy evaluation failed: evaluate arn:fs: rule bad: rule for AWS::KMS::Key gave a result for a AWS::EFS::FileSystem"},
				{"good", finding.Compliant, "fine"},
			},
		},
		{
			name: "unknown rule id",
			bad:  rule("bad", "bad", `results contains {"rule": "other", "status": "COMPLIANT", "reason": "x"} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, `policy evaluation failed: evaluate arn:fs: result map[reason:x rule:other status:COMPLIANT] names no known rule`},
				{"good", finding.Error, `policy evaluation failed: evaluate arn:fs: result map[reason:x rule:other status:COMPLIANT] names no known rule`},
			},
		},
		{
			name: "builtin error",
			bad:  rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": sprintf("%d", [to_number(input.resource)])} if input.resource_type == "AWS::EFS::FileSystem"`),
			want: []Result{
				{"bad", finding.Error, `policy evaluation failed: evaluate arn:fs: bad/bad.rego:12: eval_builtin_error: to_number: strconv.ParseFloat: parsing "arn:fs": invalid syntax`},
				{"good", finding.Error, `policy evaluation failed: evaluate arn:fs: bad/bad.rego:12: eval_builtin_error: to_number: strconv.ParseFloat: parsing "arn:fs": invalid syntax`},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newEngine(t.Context(), testRules(t, map[string]string{"efs/good.rego": good, "bad/bad.rego": tt.bad}))
			if err != nil {
				t.Fatalf("newEngine: %v", err)
			}
			got, err := e.Evaluate(t.Context(), fsInput)
			if !errors.Is(err, ErrEvaluation) {
				t.Errorf("Evaluate error = %v, want ErrEvaluation", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestEvaluateCancelled(t *testing.T) {
	e := engine(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := e.Evaluate(ctx, loadInput(t, "key-cmk-healthy"))
	if !errors.Is(err, ErrEvaluation) {
		t.Fatalf("Evaluate error = %v, want ErrEvaluation", err)
	}
	var want []Result
	for _, id := range []string{"efs_kms_key_available", "efs_kms_key_policy_grants_efs", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"} {
		want = append(want, Result{Rule: id, Status: finding.Error, Reason: err.Error()})
	}
	if !slices.Equal(got, want) {
		t.Errorf("Evaluate:\n got %q\nwant %q", got, want)
	}
	if !strings.Contains(err.Error(), "context canceled") {
		t.Errorf("error %q does not name the cancellation", err)
	}
}

func TestEvaluateBadInput(t *testing.T) {
	e := engine(t)
	tests := []struct {
		name    string
		in      *Input
		want    []Result
		wantErr string
	}{
		{name: "nil input", in: nil, wantErr: "policy evaluation failed: nil input"},
		{
			name:    "unknown resource type",
			in:      &Input{ResourceType: "AWS::S3::Bucket"},
			wantErr: `policy evaluation failed: no rules judge resource type "AWS::S3::Bucket"`,
		},
		{
			name: "policy value with no JSON form",
			in:   &Input{ResourceType: "AWS::EFS::FileSystem", Resource: "arn:fs", FileSystem: &FileSystemInput{Policy: map[string]any{"n": 1.0 / zero()}}},
			want: []Result{
				{"efs_encrypted_at_rest", finding.Error, "policy evaluation failed: convert input for arn:fs: file_system: policy: unsupported value: +Inf"},
				{"efs_encryption_in_transit_enforced", finding.Error, "policy evaluation failed: convert input for arn:fs: file_system: policy: unsupported value: +Inf"},
			},
			wantErr: "policy evaluation failed: convert input for arn:fs: file_system: policy: unsupported value: +Inf",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Evaluate(t.Context(), tt.in)
			if !errors.Is(err, ErrEvaluation) || err.Error() != tt.wantErr {
				t.Errorf("Evaluate error = %v, want %s", err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func zero() float64 { return 0 }

func TestNewRejectsBrokenRuleSets(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		wantErr string
	}{
		{
			name:    "no metadata",
			files:   map[string]string{"efs/bare.rego": "package atrest.efs.bare\n\nresults contains 1 if false\n"},
			wantErr: "invalid rule set: efs/bare.rego: no package METADATA annotation",
		},
		{
			name:    "no remediation",
			files:   map[string]string{"efs/x.rego": strings.Replace(good, "#   remediation: Nothing to do.\n", "", 1)},
			wantErr: "invalid rule set: efs/x.rego: custom.remediation must be a non-empty string",
		},
		{
			name:    "bad severity and no controls",
			files:   map[string]string{"efs/x.rego": strings.Replace(strings.Replace(good, "LOW", "URGENT", 1), "#   controls:\n#     - NIST 800-53 SC-28\n", "", 1)},
			wantErr: `invalid rule set: efs/x.rego: custom.severity "URGENT" is not one of [CRITICAL HIGH MEDIUM LOW]; custom.controls must be a non-empty list of strings`,
		},
		{
			name:    "unknown resource type",
			files:   map[string]string{"efs/x.rego": strings.Replace(good, "AWS::EFS::FileSystem\n", "AWS::S3::Bucket\n", 1)},
			wantErr: `invalid rule set: efs/x.rego: custom.resource_type "AWS::S3::Bucket" is not a resource type atrest models`,
		},
		{
			name:    "trigger that is no event name of interest",
			files:   map[string]string{"efs/x.rego": strings.Replace(good, "#   controls:", "#   triggers:\n#     - CreateFileSystem\n#     - Decrypt\n#   controls:", 1)},
			wantErr: "invalid rule set: efs/x.rego: custom.triggers: Decrypt is not an event name of interest",
		},
		{
			name:    "empty triggers",
			files:   map[string]string{"efs/x.rego": strings.Replace(good, "#   controls:", "#   triggers: []\n#   controls:", 1)},
			wantErr: "invalid rule set: efs/x.rego: custom.triggers must be a non-empty list of event names",
		},
		{
			name:    "duplicate id",
			files:   map[string]string{"efs/a.rego": good, "efs/b.rego": strings.Replace(good, "package atrest.efs.good", "package atrest.efs.good2", 1)},
			wantErr: `invalid rule set: efs/b.rego: rule id "good" used twice`,
		},
		{
			name:    "syntax error",
			files:   map[string]string{"efs/x.rego": "package atrest.efs.x\n\nresults contains if {\n"},
			wantErr: "invalid rule set: 3 errors occurred:\nefs/x.rego:3: rego_parse_error: unexpected if keyword",
		},
		{
			// Files are parsed at once, longest first: the error is still
			// the first file's in walk order, not the first parse to fail.
			name: "syntax errors in two files",
			files: map[string]string{
				"efs/a.rego": "package atrest.efs.a\n\nresults contains if {\n",
				"efs/b.rego": "package atrest.efs.b\n\n" + strings.Repeat("# a long file\n", 500) + "results contains if {\n",
			},
			wantErr: "invalid rule set: 3 errors occurred:\nefs/a.rego:3: rego_parse_error: unexpected if keyword",
		},
		{
			name:    "no rules",
			files:   map[string]string{},
			wantErr: "invalid rule set: no rules found",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newEngine(t.Context(), testRules(t, tt.files))
			if e != nil || !errors.Is(err, ErrRuleSet) || !strings.HasPrefix(err.Error(), tt.wantErr) {
				t.Errorf("newEngine = %v, %v; want error %s", e, err, tt.wantErr)
			}
		})
	}
}
