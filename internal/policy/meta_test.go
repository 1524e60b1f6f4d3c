package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/rules"
)

// TestRuleIDsFollowPackagePath checks that every embedded rule's custom.id
// is its package path below data.atrest joined by "_": package
// atrest.efs.kms_key_verified is rule efs_kms_key_verified. Findings carry
// the id, so a file moved to another package must keep it.
func TestRuleIDsFollowPackagePath(t *testing.T) {
	modules, err := parseModules(rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range modules {
		if !isRule(m) {
			continue
		}
		n++
		meta, err := ruleMeta(m)
		if err != nil {
			t.Fatalf("%s: %v", m.Package.Location.File, err)
		}
		if got, want := meta.ID, idFromPackage(m.Package.Path.String()); got != want {
			t.Errorf("%s: package %s has custom.id %q, want %q", m.Package.Location.File, m.Package.Path, got, want)
		}
	}
	if n != 8 {
		t.Errorf("found %d rule packages, want 8", n)
	}
}

// TestResultsRepeatMetadata checks that every embedded rule's results name
// the id its METADATA gives and are guarded by a comparison with the
// resource type it gives, both as constants: the rules write them again
// rather than read them from rego.metadata.chain() on every evaluation.
func TestResultsRepeatMetadata(t *testing.T) {
	modules, err := parseModules(rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modules {
		if !isRule(m) {
			continue
		}
		meta, err := ruleMeta(m)
		if err != nil {
			t.Fatalf("%s: %v", m.Package.Location.File, err)
		}
		file := m.Package.Location.File
		for _, r := range m.Rules {
			if !r.Head.Ref().Equal(ast.Ref{ast.VarTerm(resultsRule)}) {
				continue
			}
			obj, ok := r.Head.Key.Value.(ast.Object)
			if !ok {
				t.Errorf("%s:%d: results holds %v, not an object literal", file, r.Location.Row, r.Head.Key)
				continue
			}
			if id := obj.Get(ast.StringTerm("rule")); id == nil || !id.Equal(ast.StringTerm(meta.ID)) {
				t.Errorf("%s:%d: results name rule %v, METADATA says %q", file, r.Location.Row, id, meta.ID)
			}
			guard := ast.MustParseExpr(fmt.Sprintf("input.resource_type == %q", meta.ResourceType))
			if len(r.Body) == 0 || !r.Body[0].Equal(guard) {
				t.Errorf("%s:%d: results are not first guarded by %v", file, r.Location.Row, guard)
			}
		}
	}
}

// idFromPackage is the rule id a package path spells: data.atrest.efs.x ->
// efs_x.
func idFromPackage(path string) string {
	return strings.ReplaceAll(strings.TrimPrefix(path, "data.atrest."), ".", "_")
}

func TestIDFromPackage(t *testing.T) {
	tests := []struct{ name, path, want string }{
		{"service and rule", "data.atrest.efs.kms_key_verified", "efs_kms_key_verified"},
		{"other service", "data.atrest.kms.key_rotation_enabled", "kms_key_rotation_enabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := idFromPackage(tt.path); got != tt.want {
				t.Errorf("idFromPackage(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

// TestMetadata checks that Metadata reads the embedded rules as New does,
// remediation actions included.
func TestMetadata(t *testing.T) {
	metas, err := Metadata()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(metas, engine(t).Rules()) {
		t.Errorf("Metadata differs from Engine.Rules:\n%+v\n%+v", metas, engine(t).Rules())
	}
	got := map[string]string{}
	for _, m := range metas {
		got[m.ID] = m.RemediationAction
	}
	want := map[string]string{
		"cloudtrail_monitoring_intact":       "",
		"efs_encrypted_at_rest":              "tag_unencrypted_file_system",
		"efs_encryption_in_transit_enforced": "require_secure_transport",
		"efs_kms_key_available":              "restore_key_availability",
		"efs_kms_key_policy_grants_efs":      "",
		"efs_kms_key_symmetric":              "",
		"efs_kms_key_verified":               "",
		"kms_key_rotation_enabled":           "enable_key_rotation",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("remediation actions:\n got %v\nwant %v", got, want)
	}
	// The result is the caller's: changing it does not change the next.
	metas[0].ID = "changed"
	if again, _ := Metadata(); again[0].ID != "cloudtrail_monitoring_intact" {
		t.Error("Metadata exposes its cached slice")
	}
}

// TestRuleMetaCustomFields: the optional custom fields of a rule's METADATA
// are read when well formed and refused, named, when not.
func TestRuleMetaCustomFields(t *testing.T) {
	action := func(m RuleMeta) string { return m.RemediationAction }
	requires := func(m RuleMeta) string { return m.Requires }
	settle := func(m RuleMeta) string { return strings.Join(m.SettleAfter, ",") }
	tests := []struct {
		name, line string
		field      func(RuleMeta) string
		want       string
		wantErr    string
	}{
		{name: "action named", line: "#   remediation_action: enable_key\n", field: action, want: "enable_key"},
		{name: "action absent", line: "", field: action, want: ""},
		{name: "action empty", line: "#   remediation_action: \"\"\n", wantErr: "custom.remediation_action  must be a lower-case action name"},
		{name: "action not a name", line: "#   remediation_action: Enable Key\n", wantErr: "custom.remediation_action Enable Key must be a lower-case action name"},
		{name: "action not a string", line: "#   remediation_action: [enable_key]\n", wantErr: "custom.remediation_action [enable_key] must be a lower-case action name"},
		{name: "requires key verification", line: "#   requires: key_verification\n", field: requires, want: RequiresKeyVerification},
		{name: "requires absent", line: "", field: requires, want: ""},
		{name: "requires unknown fact", line: "#   requires: telepathy\n", wantErr: "custom.requires telepathy: want key_verification"},
		{name: "requires not a string", line: "#   requires: [key_verification]\n", wantErr: "custom.requires [key_verification]: want key_verification"},
		{name: "settle after creations", line: "#   settle_after: [CreateKey, ReplicateKey]\n", field: settle, want: "CreateKey,ReplicateKey"},
		{name: "settle absent", line: "", field: settle, want: ""},
		{name: "settle empty", line: "#   settle_after: []\n", wantErr: "custom.settle_after [] must be a list of event names"},
		{name: "settle not a list", line: "#   settle_after: CreateKey\n", wantErr: "custom.settle_after CreateKey must be a list of event names"},
		{name: "settle not a name", line: "#   settle_after: [create key]\n", wantErr: "custom.settle_after [create key] must be a list of event names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			metas, err := metasWith(t, tt.line)
			switch {
			case tt.wantErr != "":
				if err == nil || !strings.HasSuffix(err.Error(), tt.wantErr) {
					t.Errorf("ruleMetas = %+v, %v; want error %q", metas, err, tt.wantErr)
				}
			case err != nil || len(metas) != 1 || tt.field(metas[0]) != tt.want:
				t.Errorf("ruleMetas = %+v, %v; want %q", metas, err, tt.want)
			}
		})
	}
}

// metasWith reads the METADATA of the good rule with line added to its
// custom block.
func metasWith(t *testing.T, line string) ([]RuleMeta, error) {
	t.Helper()
	src := strings.Replace(good, "#   remediation: Nothing to do.\n", "#   remediation: Nothing to do.\n"+line, 1)
	modules, err := parseModules(fstest.MapFS{"efs/good.rego": &fstest.MapFile{Data: []byte(src)}})
	if err != nil {
		t.Fatal(err)
	}
	return ruleMetas(modules)
}
