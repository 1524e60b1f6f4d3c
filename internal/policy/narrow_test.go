package policy

import (
	"encoding/json"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/atrest/atrest/rules"
)

// ruleTestInputs are the inputs the rules' own tests judge (`with input
// as …`), each evaluated in its test's package and decoded into an Input;
// a term that refers to a variable of its test's body, or a value the
// Input types cannot hold, is left out. Policies are parsed into
// Documents, as a pipeline's are.
func ruleTestInputs(t *testing.T) map[string]*Input {
	t.Helper()
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(rules.FS, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(name, ".rego") {
			return err
		}
		src, err := fs.ReadFile(rules.FS, name)
		if err != nil {
			return err
		}
		modules[name], err = ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	c := ast.NewCompiler()
	if c.Compile(modules); c.Failed() {
		t.Fatal(c.Errors)
	}
	inputs := map[string]*Input{}
	for name, m := range modules {
		if !strings.HasSuffix(name, "_test.rego") {
			continue
		}
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			for _, w := range x.With {
				if !w.Target.Equal(ast.NewTerm(ast.InputRootRef)) {
					continue
				}
				rs, err := rego.New(
					rego.Compiler(c),
					rego.ParsedPackage(m.Package),
					rego.ParsedImports(m.Imports),
					rego.ParsedQuery(ast.NewBody(ast.Equality.Expr(ast.VarTerm("x"), w.Value))),
				).Eval(t.Context())
				if err != nil || len(rs) != 1 {
					continue // it names a variable of the test's body
				}
				text, err := json.Marshal(rs[0].Bindings["x"])
				if err != nil {
					t.Fatal(err)
				}
				var in Input
				if json.Unmarshal(text, &in) != nil {
					continue
				}
				name := w.Location.String()
				if d, ok := withDocuments(t, &in); ok {
					inputs[name] = d
				} else {
					inputs[name] = &in
				}
			}
			return false
		})
	}
	return inputs
}

// TestNarrowedInputJudgesAsWhole: every rule judges an input narrowed to
// what the rules asked read as it judges the whole input, asked alone (a
// query of its own) or with the other rules of its type (Query). Both
// engines evaluate every rule, with no memo; one narrows what it can.
func TestNarrowedInputJudgesAsWhole(t *testing.T) {
	narrow, whole := plainEngine(t), plainEngine(t)
	narrow.wholeInputs = false
	if narrow.queryPaths == nil {
		t.Fatal("Query has no narrowed input")
	}
	inputs := ruleTestInputs(t)
	for name, in := range valueTestInputs(t) {
		inputs[name] = in
		if d, ok := withDocuments(t, in); ok {
			inputs[name+", policies parsed"] = d
		}
	}
	for _, name := range []string{
		"fs-aws-managed-required-cmk", "fs-deleted", "fs-encrypted-cmk-tls", "fs-key-not-allowed",
		"fs-unencrypted", "key-asymmetric", "key-aws-managed", "key-cmk-healthy",
		"key-grant-revoked-policy-narrow", "key-no-file-systems", "key-pending-deletion", "key-unknown",
	} {
		if d, ok := withDocuments(t, loadInput(t, name)); ok {
			inputs[name] = d
		}
	}
	narrowed, judged := 0, 0
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		in := inputs[name]
		ids := narrow.byType[in.ResourceType]
		if len(ids) == 0 {
			continue
		}
		if viewable(in) {
			narrowed++
		}
		asks := [][]string{ids}
		for _, id := range ids {
			if _, ok := narrow.narrowedPaths([]string{id}); !ok {
				t.Errorf("rule %s alone has no narrowed input", id)
			}
			asks = append(asks, []string{id})
		}
		for _, ask := range asks {
			want, wantErr := whole.EvaluateRules(t.Context(), in, ask)
			got, gotErr := narrow.EvaluateRules(t.Context(), in, ask)
			judged++
			if !slices.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("%s, rules %v:\nnarrowed %v (%v)\n   whole %v (%v)", name, ask, got, gotErr, want, wantErr)
			}
		}
	}
	// The rules' tests hold well over a hundred inputs of a type; most
	// have their policies as Documents.
	if narrowed < 150 {
		t.Errorf("%d inputs judged on a narrowed input, want at least 150", narrowed)
	}
	t.Logf("%d inputs, %d narrowed, %d judgments compared", len(inputs), narrowed, judged)
}

// TestNarrowedValueHoldsOnlyWhatIsRead: a narrowed value holds each path's
// value as the whole value does, and nothing at a path no rule reads.
func TestNarrowedValueHoldsOnlyWhatIsRead(t *testing.T) {
	e := plainEngine(t)
	in := loadInput(t, "key-cmk-healthy")
	wholeValue, err := inputValue(in)
	if err != nil {
		t.Fatal(err)
	}
	paths := e.queryPaths
	v, ok := narrowedValue(sourceOf(wholeValue), paths)
	if !ok {
		t.Fatal("no narrowed value")
	}
	for _, p := range paths {
		want, got := valueAt(wholeValue, p), valueAt(v, p)
		if (want == nil) != (got == nil) || want != nil && !want.Equal(got) {
			t.Errorf("%s: narrowed %v, whole %v", p, got, want)
		}
	}
	for _, keys := range [][]string{{"key", "arn"}, {"key", "id"}, {"key", "custom_key_store_id"}} {
		p := newInputPath(keys)
		if valueAt(wholeValue, p) == nil {
			t.Errorf("%s: the whole value holds nothing there, so the check tells nothing", p)
		}
		if slices.ContainsFunc(paths, func(q inputPath) bool { return under(p, q) }) {
			t.Errorf("%s: a rule reads it, so the check tells nothing", p)
		}
		if got := valueAt(v, p); got != nil {
			t.Errorf("%s: narrowed value holds %v, read by no rule", p, got)
		}
	}
}
