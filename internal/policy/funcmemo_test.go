package policy

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// memoized is a test function file: f marked memoize, with body.
func memoized(pkg, body string) string {
	return "package atrest.lib." + pkg + "\n\n# METADATA\n# custom:\n#   memoize: true\n" + body + "\n"
}

// TestMemoFuncsFound checks the embedded rules' remembered functions: the
// key policy rule's outcome for one creator, and what a file-system policy
// decides for plaintext clients.
func TestMemoFuncsFound(t *testing.T) {
	e := engine(t)
	var refs []string
	for _, f := range e.funcs {
		refs = append(refs, f.ref.String())
	}
	for _, want := range []string{
		"data.atrest.efs.kms_key_policy_grants_efs.outcome",
		"data.atrest.efs.encryption_in_transit_enforced.stopping",
	} {
		if !slices.Contains(refs, want) {
			t.Errorf("memoized functions %v, want %s among them", refs, want)
		}
	}
}

// TestMemoFuncsRefused checks that New refuses a memoized function whose
// value is not a function of its arguments alone, or a rule marked memoize
// that is not a function.
func TestMemoFuncsRefused(t *testing.T) {
	caller := rule("calls", "calls", `import data.atrest.lib.m

results contains {"rule": "calls", "status": "COMPLIANT", "reason": m.f("x")} if {
	input.resource_type == "AWS::EFS::FileSystem"
}`)
	for name, lib := range map[string]string{
		"reads input": memoized("m", `f(x) := concat(" ", [x, input.resource])`),
		"reads input through a rule": memoized("m", `f(x) := concat(" ", [x, r])

r := input.resource`),
		"reads the clock": memoized("m", `f(x) := sprintf("%s %d", [x, time.now_ns()])`),
		"not a function":  memoized("m", `f := "x"`),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := newEngine(t.Context(), testRules(t, map[string]string{"lib/m.rego": lib, "efs/calls.rego": caller}))
			if !errors.Is(err, ErrRuleSet) || !strings.Contains(err.Error(), "data.atrest.lib.m.f") || !strings.Contains(err.Error(), "memoize") {
				t.Fatalf("New: %v, want ErrRuleSet naming the memoized function", err)
			}
		})
	}
}

// TestMemoFuncAnswers checks a memoized function is evaluated once per
// distinct arguments, gives what the function gives (undefined included)
// and that turning the memo off evaluates it as written.
func TestMemoFuncAnswers(t *testing.T) {
	e, err := newEngine(t.Context(), testRules(t, map[string]string{
		"lib/m.rego": memoized("m", `f(x) := upper(x) if x != "undefined"`),
		"efs/calls.rego": rule("calls", "calls", `import data.atrest.lib.m

results contains {"rule": "calls", "status": "COMPLIANT", "reason": reason} if {
	input.resource_type == "AWS::EFS::FileSystem"
}

reason := v if {
	v := m.f(input.resource)
} else := "undefined here"`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	judge := func(resource string) string {
		t.Helper()
		in := *fsInput
		in.Resource = resource
		got, err := e.EvaluateRules(t.Context(), &in, []string{"calls"})
		if err != nil {
			t.Fatal(err)
		}
		return got[0].Reason
	}
	for round := range 2 {
		for resource, want := range map[string]string{"arn:a": "ARN:A", "arn:b": "ARN:B", "undefined": "undefined here"} {
			if got := judge(resource); got != want {
				t.Errorf("round %d, %s: %q, want %q", round, resource, got, want)
			}
		}
		e.memo.mu.Lock()
		clear(e.memo.results) // judge again, so the rule calls the function
		e.memo.mu.Unlock()
	}
	if st := e.MemoStats(); st.FuncMisses != 3 || st.FuncHits != 3 {
		t.Errorf("function memo %+v, want 3 misses then 3 hits", st)
	}
	e.SetMemoSize(0)
	if got := judge("arn:c"); got != "ARN:C" {
		t.Errorf("memo off: %q, want ARN:C", got)
	}
	if st := e.MemoStats(); st.FuncMisses != 3 || st.FuncHits != 3 {
		t.Errorf("memo off: function memo %+v, want it untouched", st)
	}
}

// TestMemoFuncByEveryArgument judges one key against a key policy that
// names it and another key against the same policy: the key policy rule's
// remembered outcome must not answer for the other key.
func TestMemoFuncByEveryArgument(t *testing.T) {
	e := engine(t)
	in := loadInput(t, "key-cmk-healthy")
	in.Key.Policy = map[string]any{"Statement": []any{map[string]any{
		"Effect": "Allow", "Principal": map[string]any{"AWS": in.FileSystems[0].Creator},
		"Action": "kms:*", "Resource": in.Resource,
	}}}
	first, err := e.EvaluateRules(t.Context(), in, []string{"efs_kms_key_policy_grants_efs"})
	if err != nil || first[0].Status != "COMPLIANT" {
		t.Fatalf("key named by its policy: %v (%v), want COMPLIANT", first, err)
	}
	other := *in
	other.Resource = strings.Replace(in.Resource, "1234abcd", "9999abcd", 1)
	second, err := e.EvaluateRules(t.Context(), &other, []string{"efs_kms_key_policy_grants_efs"})
	if err != nil || second[0].Status != "NON_COMPLIANT" {
		t.Fatalf("key the policy does not name: %v (%v), want NON_COMPLIANT", second, err)
	}
	if st := e.MemoStats(); st.FuncMisses < 2 {
		t.Errorf("function memo %+v: want both keys evaluated", st)
	}
}

// TestMemoFuncSharedBySessions judges keys with one key policy, each
// protecting a file system created by another session of one role: the
// second session's file system is answered from what the key policy
// decided for the first. A session the key policy names is evaluated, and
// judged on what the policy says of it.
func TestMemoFuncSharedBySessions(t *testing.T) {
	e := engine(t)
	const role = "arn:aws:sts::111122223333:assumed-role/deployer/"
	named := role + "named-session"
	policy := map[string]any{"Statement": []any{
		map[string]any{"Sid": "Account", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::111122223333:root"},
			"Action": "kms:*", "Resource": "*"},
		map[string]any{"Sid": "NotThisSession", "Effect": "Deny", "Principal": map[string]any{"AWS": named},
			"Action": "kms:*", "Resource": "*"},
	}}
	judge := func(key, creator string) (Result, MemoStats) {
		t.Helper()
		in := loadInput(t, "key-cmk-healthy")
		in.Resource = strings.Replace(in.Resource, "1234abcd", key, 1)
		in.Key.Policy = policy
		in.FileSystems[0].Creator = creator
		before := e.MemoStats()
		got, err := e.EvaluateRules(t.Context(), in, []string{"efs_kms_key_policy_grants_efs"})
		if err != nil {
			t.Fatal(err)
		}
		after := e.MemoStats()
		return got[0], MemoStats{FuncHits: after.FuncHits - before.FuncHits, FuncMisses: after.FuncMisses - before.FuncMisses}
	}
	first, _ := judge("1111abcd", role+"ci-1")
	second, calls := judge("2222abcd", role+"ci-2")
	if first.Status != "COMPLIANT" || second.Status != "COMPLIANT" || calls.FuncMisses != 0 {
		t.Errorf("session ci-1 %v, ci-2 %v, function memo %+v: want COMPLIANT twice, the second remembered", first, second, calls)
	}
	if !strings.Contains(second.Reason, role+"ci-2") {
		t.Errorf("reason %q does not name the second session", second.Reason)
	}
	denied, calls := judge("3333abcd", named)
	if denied.Status != "NON_COMPLIANT" || !strings.Contains(denied.Reason, "NotThisSession denies") || calls.FuncMisses == 0 {
		t.Errorf("session the policy denies: %v, function memo %+v: want it evaluated and NON_COMPLIANT", denied, calls)
	}
}

// TestMemoFuncSharedByPolicyTemplate judges file systems whose policies are
// one template naming each its own file system: the second is answered
// from the verdict remembered for the first (their policies are one
// relative to each file system), and a file system whose policy names
// another is evaluated, its policy's decisions too, and judged on what its
// own policy says.
func TestMemoFuncSharedByPolicyTemplate(t *testing.T) {
	e := engine(t)
	judge := func(id, named string, denyPlaintext bool) Result {
		t.Helper()
		in := loadInput(t, "fs-encrypted-cmk-tls")
		arn := "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/" + id
		in.Resource, in.FileSystem.ID = arn, id
		allow := map[string]any{"Effect": "Allow", "Principal": map[string]any{"AWS": "*"},
			"Action": "elasticfilesystem:ClientMount", "Resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/" + named}
		deny := map[string]any{"Effect": "Deny", "Principal": map[string]any{"AWS": "*"}, "Action": "*", "Resource": arn,
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}
		statements := []any{allow}
		if denyPlaintext {
			statements = append(statements, deny)
		}
		in.FileSystem.Policy = map[string]any{"Statement": statements}
		got, err := e.EvaluateRules(t.Context(), in, []string{"efs_encryption_in_transit_enforced"})
		if err != nil {
			t.Fatal(err)
		}
		return got[0]
	}
	first := judge("fs-1", "fs-1", true)
	before := e.MemoStats()
	second := judge("fs-2", "fs-2", true)
	after := e.MemoStats()
	if first.Status != "COMPLIANT" || second.Status != "COMPLIANT" || after.Hits != before.Hits+1 || after.Misses != before.Misses {
		t.Errorf("template on fs-1 %v, on fs-2 %v, memo %+v then %+v: want COMPLIANT twice, the second remembered", first, second, before, after)
	}
	// With the Allow alone, a file system it names lets plaintext clients
	// mount; one whose Allow names another file system does not, and what
	// the first's policy decided must not answer for it.
	if own := judge("fs-4", "fs-4", false); own.Status != "NON_COMPLIANT" {
		t.Errorf("Allow naming its own file system: %v, want NON_COMPLIANT", own)
	}
	misses := e.MemoStats().FuncMisses
	other := judge("fs-3", "fs-4", false)
	if other.Status != "COMPLIANT" || !strings.Contains(other.Reason, "no statement allows") || e.MemoStats().FuncMisses != misses+1 {
		t.Errorf("Allow naming another file system: %v, memo %+v: want it evaluated, no statement allowing", other, e.MemoStats())
	}
}

// plainEngine compiles the embedded rules as New does but leaves the calls
// of memoized functions as written, with no memo: the rules evaluated as
// opa evaluates them.
func plainEngine(tb testing.TB) *Engine {
	tb.Helper()
	modules, err := embeddedModules()
	if err != nil {
		tb.Fatal(err)
	}
	e := compiled(tb, modules, checkedStages, true)
	e.wholeInputs = true // the reference: every rule evaluated on the whole input
	return e
}

// compiled is compileEngine's engine, with no memo when plain; it fails
// the test when the modules do not compile.
func compiled(tb testing.TB, modules []*ast.Module, skip []ast.StageID, plain bool) *Engine {
	tb.Helper()
	e, err := compileEngine(tb.Context(), modules, skip, plain)
	if err != nil {
		tb.Fatal(err)
	}
	if plain {
		e.SetMemoSize(0)
	}
	return e
}

// callsOf counts, in the engine's compiled modules, the calls whose
// operator is ref.
func callsOf(e *Engine, ref string) int {
	n := 0
	count := func(op *ast.Term) {
		if op.String() == ref {
			n++
		}
	}
	for _, m := range e.compiler.Modules {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if terms, isCall := x.Terms.([]*ast.Term); isCall && len(terms) > 0 {
				count(terms[0])
			}
			return false
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if call, isCall := t.Value.(ast.Call); isCall && len(call) > 0 {
				count(call[0])
			}
			return false
		})
	}
	return n
}

// TestMemoFuncCalledEverywhere writes the calls of a memoized function in
// every place Rego allows one (an expression, an assignment, a rule's
// value, an else, a comprehension, an every, an argument of another call,
// through an import and by its full name, from another memoized function)
// and checks that each is answered by the builtin: after compiling, no call
// names the function, the first round evaluates each distinct argument
// once (two calls with one argument share its value) and the second
// answers all from the memo, with what plain Rego gives.
func TestMemoFuncCalledEverywhere(t *testing.T) {
	rules := testRules(t, map[string]string{
		"lib/m.rego": memoized("m", `f(x) := upper(x) if x != "undefined"`) + `
# METADATA
# custom:
#   memoize: true
g(x) := concat("+", [f(x), data.atrest.lib.m.f("g")])
`,
		"efs/calls.rego": rule("calls", "calls", `import data.atrest.lib.m

results contains {"rule": "calls", "status": "COMPLIANT", "reason": concat(" ", [a, b, c, d, e, h, k, n])} if {
	input.resource_type == "AWS::EFS::FileSystem"
	m.f("expr")
	every s in ["every"] {
		m.f(s) == "EVERY"
	}
}

a := m.f(input.resource)

b := v if {
	v := data.atrest.lib.m.f("undefined")
} else := m.f("else")

c := concat(",", [m.f(x) | some x in ["comp1", "comp2"]])

d := lower(m.f("nested"))

e := m.g("both")

h := x if {
	x := m.f("assigned")
}

k := sprintf("%s", [m.f("argument")])

n := m.f("nested")`),
	})
	modules, err := parseModules(rules)
	if err != nil {
		t.Fatal(err)
	}
	e, plain := compiled(t, modules, nil, false), compiled(t, modules, nil, true)
	for _, f := range e.funcs {
		if n := callsOf(e, f.ref.String()); n != 0 {
			t.Errorf("%d calls of %s are left in the compiled rules", n, f.ref)
		}
		if n := callsOf(e, f.builtin); n == 0 {
			t.Errorf("no call of %s in the compiled rules", f.builtin)
		}
		if n := callsOf(plain, f.builtin); n != 0 {
			t.Errorf("%d calls of %s in the plain engine's rules", n, f.builtin)
		}
	}
	judge := func(e *Engine) string {
		t.Helper()
		got, err := e.EvaluateRules(t.Context(), fsInput, []string{"calls"})
		if err != nil {
			t.Fatal(err)
		}
		return got[0].Reason
	}
	wantReason := judge(plain)
	if wantReason != "ARN:FS ELSE COMP1,COMP2 nested BOTH+G ASSIGNED ARGUMENT NESTED" {
		t.Fatalf("plain Rego gives %q", wantReason)
	}
	for round := range 2 {
		if got := judge(e); got != wantReason {
			t.Errorf("round %d: %q, want %q", round, got, wantReason)
		}
		e.memo.mu.Lock()
		clear(e.memo.results)
		e.memo.mu.Unlock()
	}
	// The first round evaluates f on expr, every, arn:fs, undefined, else,
	// comp1, comp2, nested, assigned and argument, g on both, and f on
	// both and g inside it: 13; f on nested a second time, from another
	// call, is answered. The second round answers the rule's 12 calls.
	st := e.MemoStats()
	if st.FuncMisses != 13 || st.FuncHits != 13 {
		t.Errorf("function memo %+v, want 13 misses, then 13 hits", st)
	}
	if p := plain.MemoStats(); p.FuncHits+p.FuncMisses != 0 {
		t.Errorf("plain engine's function memo %+v, want it unused", p)
	}
}

// TestMemoFuncBoundPerFunction fills one function's memo past its bound and
// checks that another function's values stay remembered.
func TestMemoFuncBoundPerFunction(t *testing.T) {
	e, err := newEngine(t.Context(), testRules(t, map[string]string{
		"lib/m.rego": memoized("m", `f(x) := upper(x)`) + `
# METADATA
# custom:
#   memoize: true
g(x) := lower(x)
`,
		"efs/calls.rego": rule("calls", "calls", `import data.atrest.lib.m

results contains {"rule": "calls", "status": "COMPLIANT", "reason": concat(" ", [m.g("G"), m.f(input.resource)])} if {
	input.resource_type == "AWS::EFS::FileSystem"
}`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	e.SetMemoSize(2)
	for _, resource := range []string{"a", "b", "c", "d", "e"} {
		in := *fsInput
		in.Resource = resource
		got, err := e.EvaluateRules(t.Context(), &in, []string{"calls"})
		if err != nil || got[0].Reason != "g "+strings.ToUpper(resource) {
			t.Fatalf("%s: %v (%v)", resource, got, err)
		}
	}
	// f is evaluated on each of five resources, its memo cleared twice on
	// the way; g once, then answered four times.
	if st := e.MemoStats(); st.FuncMisses != 6 || st.FuncHits != 4 {
		t.Errorf("function memo %+v, want 6 misses (f 5, g 1) and 4 hits (g)", st)
	}
}
