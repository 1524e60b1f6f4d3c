package policy

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/rules"
)

// New leaves out the compiler stages that only check (checkedStages) and the
// rewrites of what the embedded rules do not use (unusedRewrites). These
// tests are where the embedded rules pass the checks, and where leaving the
// stages out is shown to change no compiled module and no result.

// TestEmbeddedRulesPassEveryCheck compiles rule trees with every compiler
// stage, strict, as newEngine does: the embedded rules pass, and a rule that
// only a left-out stage rejects is rejected here, while New's compilation
// (compileEngine with checkedStages) would accept it.
func TestEmbeddedRulesPassEveryCheck(t *testing.T) {
	tests := []struct {
		name    string
		bad     string // a rule added to a tree that is otherwise good; "" for the embedded rules
		wantErr string
	}{
		{name: "embedded rules"},
		{
			name: "type error",
			bad: rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "x"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	"a" + 1 == 2
}`),
			wantErr: "rego_type_error: plus: invalid argument(s)",
		},
		{
			name: "recursion",
			bad: rule("bad", "bad", `loop if loop

results contains {"rule": "bad", "status": "COMPLIANT", "reason": "x"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	loop
}`),
			wantErr: "rego_recursion_error: rule data.atrest.efs.bad.loop is recursive",
		},
		{
			name: "undefined function",
			bad: rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "x"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	missing(input.resource)
}`),
			wantErr: "rego_type_error: undefined function missing",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.bad == "" {
				if _, err := newEngine(t.Context(), rules.FS); err != nil {
					t.Fatalf("the embedded rules fail a compiler check New leaves out: %v", err)
				}
				return
			}
			fsys := testRules(t, map[string]string{"efs/good.rego": good, "efs/bad.rego": tt.bad})
			_, err := newEngine(t.Context(), fsys)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("newEngine = %v, want an error containing %q", err, tt.wantErr)
			}
			// The check is one New leaves out: without it the tree
			// compiles, which is why the embedded rules are checked here.
			modules, err := parseModules(fsys)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := compileEngine(t.Context(), modules, checkedStages, false); err != nil {
				t.Fatalf("compiling without the checks: %v; want no error (the stage that reports it is not among checkedStages)", err)
			}
		})
	}
}

// TestSkippedChecksChangeNoResult evaluates every input of testdata with the
// engine New builds and one compiled with every stage, all rules and every
// set of rules an event name triggers, and wants the same results.
func TestSkippedChecksChangeNoResult(t *testing.T) {
	full, err := newEngine(t.Context(), rules.FS)
	if err != nil {
		t.Fatal(err)
	}
	fast := engine(t)
	files, err := filepath.Glob(filepath.Join("testdata", "input-*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no inputs in testdata: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "input-"), ".json")
		t.Run(name, func(t *testing.T) {
			in := loadInput(t, name)
			sets := [][]string{nil} // nil: every rule of the type
			for _, ev := range cloudtrail.EventNames() {
				if ids := fast.Triggered(in.ResourceType, ev); len(ids) > 0 && !slices.ContainsFunc(sets, func(s []string) bool { return slices.Equal(s, ids) }) {
					sets = append(sets, ids)
				}
			}
			for _, ids := range sets {
				want, wantErr := full.EvaluateRules(t.Context(), in, ids)
				got, gotErr := fast.EvaluateRules(t.Context(), in, ids)
				if !slices.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
					t.Errorf("rules %v: New's engine gives %v, %v; compiled with every stage %v, %v", ids, got, gotErr, want, wantErr)
				}
				if len(want) == 0 {
					t.Errorf("rules %v: no results", ids)
				}
			}
		})
	}
}

// compiledModules compiles the rule tree fsys as compileEngine does, leaving
// out the stages skip names, and gives each compiled module as text.
func compiledModules(t *testing.T, fsys fs.FS, skip []ast.StageID) map[string]string {
	t.Helper()
	modules, err := parseModules(fsys)
	if err != nil {
		t.Fatal(err)
	}
	e, err := compileEngine(t.Context(), modules, skip, false)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for name, m := range e.compiler.Modules {
		out[name] = m.String()
	}
	return out
}

// TestSkippedStagesChangeNoModule compiles the embedded rules with every
// stage and with the stages New leaves out (skippedStages), and wants every
// compiled module the same: the checks rewrite nothing, and the rules use
// nothing unusedRewrites would rewrite. A rule that calls print, which the
// compiler erases, shows the comparison failing where a rule starts to use
// one.
func TestSkippedStagesChangeNoModule(t *testing.T) {
	tests := []struct {
		name     string
		fsys     fs.FS
		wantSame bool
	}{
		{"embedded rules", rules.FS, true},
		{"a rule calls print", testRules(t, map[string]string{"efs/good.rego": good, "efs/printing.rego": rule("printing", "printing",
			`results contains {"rule": "printing", "status": "COMPLIANT", "reason": "x"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	print("judging", input.resource)
}`)}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			every, skipped := compiledModules(t, tt.fsys, nil), compiledModules(t, tt.fsys, skippedStages)
			var differ []string
			for name, m := range every {
				if skipped[name] != m {
					differ = append(differ, name)
				}
			}
			if len(every) == 0 || len(every) != len(skipped) {
				t.Fatalf("compiled %d modules with every stage, %d without the skipped ones", len(every), len(skipped))
			}
			if tt.wantSame && len(differ) > 0 {
				t.Errorf("leaving out %v changes the compiled modules %v: remove the stage that rewrites them from unusedRewrites", unusedRewrites, differ)
			}
			if !tt.wantSame && len(differ) == 0 {
				t.Error("every compiled module is the same: the comparison cannot tell a skipped rewrite")
			}
		})
	}
}
