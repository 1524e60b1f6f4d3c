package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/atrest/atrest/internal/finding"
)

// relativeQuery prepares iam.relative on the input's policy and resource,
// on the rules as opa evaluates them.
func relativeQuery(tb testing.TB) rego.PreparedEvalQuery {
	tb.Helper()
	q, err := rego.New(
		rego.Compiler(plainEngine(tb).compiler),
		rego.Query("r := data.atrest.lib.iam.relative(input.policy, input.resource)"),
	).PrepareForEval(tb.Context())
	if err != nil {
		tb.Fatal(err)
	}
	return q
}

// checkRelative fails unless d's relative form for resource is the pair
// iam.relative gives, and its JSON form is the pair's policy.
func checkRelative(t *testing.T, q rego.PreparedEvalQuery, d *Document, resource string) {
	t.Helper()
	got := d.relative(resource)
	rs, err := q.Eval(t.Context(), rego.EvalParsedInput(ast.NewObject(
		item("policy", d.term), item("resource", stringTerm(resource)))))
	if err != nil || len(rs) != 1 {
		t.Fatalf("iam.relative(%v, %q): %v, %v", d.term, resource, rs, err)
	}
	want, err := ast.InterfaceToValue(rs[0].Bindings["r"])
	if err != nil {
		t.Fatal(err)
	}
	policy, err := anyTerm(got.Policy)
	if err != nil {
		t.Fatal(err)
	}
	if pair := ast.NewArray(policy, ast.StringTerm(got.Resource)); pair.Compare(want) != 0 {
		t.Fatalf("relative form of %v for %q:\n got %v\nwant %v (iam.relative)", d.term, resource, pair, want)
	}
	text, err := json.Marshal(got.Policy)
	if err != nil {
		t.Fatal(err)
	}
	var decoded any
	if err := json.Unmarshal(text, &decoded); err != nil {
		t.Fatal(err)
	}
	back, err := anyTerm(decoded)
	if err != nil {
		t.Fatal(err)
	}
	if back.Value.Compare(policy.Value) != 0 {
		t.Fatalf("JSON form of the relative policy %s, value %v", text, policy)
	}
}

// docOf builds the document a pipeline would from text; ok is false for
// a text that is no JSON object.
func docOf(t *testing.T, text string) (*Document, bool) {
	t.Helper()
	if d, ok := ParseDocumentText(text); ok {
		return d, true
	}
	var v any
	if json.Unmarshal([]byte(text), &v) != nil {
		return nil, false
	}
	if _, isObject := v.(map[string]any); !isObject {
		return nil, false
	}
	d, err := NewDocumentText(text, v)
	if err != nil {
		return nil, false
	}
	return d, true
}

// resourcesFor are the resources a policy is asked relative to: every
// string it holds that looks like an ARN (so that each resource a
// statement names is asked), "*", none, and one it does not name.
func resourcesFor(text string) []string {
	out := []string{"*", "", ThisResource, "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0aaaaaaaaaaaaaaaa"}
	for _, part := range strings.Split(text, `"`) {
		if strings.HasPrefix(part, "arn:") {
			out = append(out, part)
		}
	}
	return out
}

const fsARN = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"

// relativeCases are policies of every shape iam.relative tells apart.
var relativeCases = []string{
	`{}`,
	`{"Version":"2012-10-17"}`,
	`{"Statement":null}`,
	`{"Statement":"x"}`,
	`{"Statement":[]}`,
	`{"Statement":[1,"s",null]}`,
	`{"Statement":{"Effect":"Deny","Principal":"*","Action":"*"}}`,
	`{"Statement":{"Effect":"Deny","Principal":"*","Action":"*","Resource":"` + fsARN + `"}}`,
	`{"Statement":[{"Effect":"Allow","Resource":"*"},{"Effect":"Deny","Resource":["*","` + fsARN + `"]}]}`,
	`{"Statement":[{"Effect":"Allow","NotResource":"` + fsARN + `"},{"Effect":"Deny","Resource":"` + fsARN + `","NotResource":["` + fsARN + `"]}]}`,
	`{"Statement":[{"Resource":"` + fsARN + `"},{"Resource":"arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0*"}]}`,
	`{"Statement":[{"Resource":["` + fsARN + `","arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"]}]}`,
	`{"Statement":[{"Resource":"` + fsARN + `"},"not a statement",{"Resource":["` + fsARN + `","` + fsARN + `"]}]}`,
	`{"Statement":[{"Resource":1}]}`,
	`{"Statement":[{"Resource":null}]}`,
	`{"Statement":[{"Resource":[]}]}`,
	`{"Statement":[{"Resource":{"a":"` + fsARN + `"}}]}`,
	`{"Statement":[{"Resource":"` + ThisResource + `"}]}`,
	`{"Statement":[{"Resource":"` + fsARN + `","Condition":{"ArnEquals":{"aws:SourceArn":"` + fsARN + `"}}}],"Id":"` + fsARN + `"}`,
}

// TestRelativeFollowsRego holds the engine's relative form of a policy to
// iam.relative's, on every policy of the fixtures and sample events and
// on policies of each shape, relative to each resource they name and to
// others.
func TestRelativeFollowsRego(t *testing.T) {
	q := relativeQuery(t)
	texts := append(policyTexts(t), relativeCases...)
	asked := 0
	for _, text := range texts {
		d, ok := docOf(t, text)
		if !ok {
			t.Fatalf("%s: no JSON object", text)
		}
		for _, r := range resourcesFor(text) {
			checkRelative(t, q, d, r)
			asked++
		}
	}
	// Every kind of pair was asked.
	kinds := map[string]bool{}
	for _, text := range texts {
		d, _ := docOf(t, text)
		for _, r := range resourcesFor(text) {
			switch rel := d.relative(r); {
			case rel.Resource == "*":
				kinds["*"] = true
			case rel.Resource == ThisResource && rel.Policy != d:
				kinds["this"] = true
			case rel.Policy == d && rel.Resource == r:
				kinds["as is"] = true
			}
		}
	}
	if len(kinds) != 3 {
		t.Errorf("pairs of kinds %v asked, want *, this and as is", kinds)
	}
	t.Logf("%d policies, %d pairs", len(texts), asked)
}

// TestRelativeRemembersTheLastResource asks one document for two
// resources in turn: each answer is its own resource's.
func TestRelativeRemembersTheLastResource(t *testing.T) {
	d, _ := docOf(t, relativeCases[7]) // names fsARN
	other := "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1"
	for i, r := range []string{fsARN, other, fsARN, fsARN, other} {
		got := d.relative(r)
		if want := map[string]string{fsARN: ThisResource, other: other}[r]; got.Resource != want {
			t.Errorf("ask %d, %s: resource %q, want %q", i, r, got.Resource, want)
		}
	}
	if d.relative(fsARN) != d.relative(fsARN) {
		t.Error("the same resource asked twice: two forms built")
	}
}

// TestRelativeTemplatesShareTheirForm gives two file systems the same
// template: their relative forms are one value with one sum, which the
// memo keys by.
func TestRelativeTemplatesShareTheirForm(t *testing.T) {
	template := `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Resource":"%s","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`
	a := fsARN
	b := strings.Replace(fsARN, "fs-0123456789abcdef0", "fs-0fedcba9876543210", 1)
	da, _ := docOf(t, strings.Replace(template, "%s", a, 1))
	db, _ := docOf(t, strings.Replace(template, "%s", b, 1))
	ra, rb := da.relative(a), db.relative(b)
	pa, pb := ra.Policy.(*Document), rb.Policy.(*Document)
	sa, oka := pa.Sum()
	sb, okb := pb.Sum()
	if !oka || !okb || sa != sb || pa.term.Value.Compare(pb.term.Value) != 0 || ra.Resource != ThisResource || rb.Resource != ThisResource {
		t.Fatalf("relative forms %v (%x, %v) and %v (%x, %v), want one value and sum, resource %s", pa.term, sa, oka, pb.term, sb, okb, ThisResource)
	}
	// Another template: another sum.
	dc, _ := docOf(t, strings.Replace(strings.Replace(template, "%s", a, 1), "Deny", "Allow", 1))
	if sc, _ := dc.relative(a).Policy.(*Document).Sum(); sc == sa {
		t.Error("two templates share a sum")
	}
	// The sum of a value text is not the sum of a text.
	if tsum, _ := da.Sum(); tsum == sa {
		t.Error("a relative form's sum is its policy text's")
	}
}

// TestWithRelativePolicy checks the engine sets every file system's
// relative policy on a copy, replacing a value given, and leaves the
// caller's input as it was.
func TestWithRelativePolicy(t *testing.T) {
	d, _ := docOf(t, relativeCases[7])
	given := &RelativePolicy{Policy: d, Resource: "arn:given"}
	in := &Input{ResourceType: "AWS::EFS::FileSystem", Resource: fsARN,
		FileSystem: &FileSystemInput{ARN: fsARN, Policy: d, PolicyRelative: given}}
	out := withRelativePolicy(in)
	if out == in || out.FileSystem == in.FileSystem || in.FileSystem.PolicyRelative != given {
		t.Fatalf("the caller's input changed: %+v", in.FileSystem)
	}
	if r := out.FileSystem.PolicyRelative; r == nil || r.Resource != ThisResource {
		t.Fatalf("relative policy %+v, want one relative to %s", r, ThisResource)
	}
	// A policy decoded by encoding/json gets one too.
	var v any
	if err := json.Unmarshal([]byte(relativeCases[7]), &v); err != nil {
		t.Fatal(err)
	}
	in.FileSystem.Policy = v
	if r := withRelativePolicy(in).FileSystem.PolicyRelative; r == nil || r.Resource != ThisResource {
		t.Fatalf("decoded policy: relative policy %+v", r)
	}
	// No policy, no relative policy; no file system, the input itself.
	in.FileSystem.Policy = nil
	if r := withRelativePolicy(in).FileSystem.PolicyRelative; r != nil {
		t.Fatalf("no policy: relative policy %+v", r)
	}
	key := &Input{ResourceType: "AWS::KMS::Key", Resource: "arn:k"}
	if withRelativePolicy(key) != key {
		t.Fatal("an input without a file system was copied")
	}
}

// FuzzRelative holds the relative form to iam.relative on any policy text
// and resource.
func FuzzRelative(f *testing.F) {
	for _, text := range append(policyTexts(f), relativeCases...) {
		rs := resourcesFor(text)
		f.Add(text, rs[len(rs)-1])
	}
	q := relativeQuery(f)
	f.Fuzz(func(t *testing.T, text, resource string) {
		d, ok := docOf(t, text)
		if !ok || !utf8.ValidString(resource) {
			return // a resource is read from JSON: it is UTF-8
		}
		checkRelative(t, q, d, resource)
	})
}

// TestAsJudgedJSONJudgesAsTheEngine hands the JSON form of each file
// system fixture, as AsJudged gives it, to OPA without the engine: the
// results are the engine's. Without AsJudged the in-transit rule says the
// relative policy is missing rather than judge a policy it was not given
// relative to the file system.
func TestAsJudgedJSONJudgesAsTheEngine(t *testing.T) {
	e := engine(t)
	q, err := rego.New(rego.Compiler(plainEngine(t).compiler), rego.Query(Query)).PrepareForEval(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	eval := func(in *Input) map[string]Result {
		t.Helper()
		text, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Fatal(err)
		}
		rs, err := q.Eval(t.Context(), rego.EvalInput(doc))
		if err != nil || len(rs) != 1 {
			t.Fatalf("eval: %v, %v", rs, err)
		}
		out := map[string]Result{}
		for _, r := range rs[0].Expressions[0].Value.([]any) {
			m := r.(map[string]any)
			out[m["rule"].(string)] = Result{Rule: m["rule"].(string), Status: finding.Status(m["status"].(string)), Reason: m["reason"].(string)}
		}
		return out
	}
	judged := 0
	for _, name := range []string{"fs-encrypted-cmk-tls", "fs-deleted", "fs-key-not-allowed", "fs-unencrypted"} {
		in := loadInput(t, name)
		want, err := e.Evaluate(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		got := eval(AsJudged(in))
		for _, w := range want {
			if got[w.Rule] != w {
				t.Errorf("%s: OPA on the JSON form %v, engine %v", name, got[w.Rule], w)
			}
		}
		if in.FileSystem.Policy != nil && !in.FileSystem.Deleted {
			judged++
			bare := eval(in)["efs_encryption_in_transit_enforced"]
			if !strings.Contains(bare.Reason, "policy_relative") {
				t.Errorf("%s without AsJudged: %v, want the missing relative policy named", name, bare)
			}
		}
	}
	if judged == 0 {
		t.Fatal("no fixture has a file-system policy")
	}
}
