package policy

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/atrest/atrest/internal/finding"
)

// TestStartJudgesAsNew asks an engine from Start, at once and from one
// goroutine per input, what New's engine answers: the metadata before the
// rules are compiled, then every testdata input's results, what each rule
// reads, and whether a rule reads the event. Under -race it also shows
// that nothing compiling sets is read before it is set.
func TestStartJudgesAsNew(t *testing.T) {
	want := engine(t)
	got, err := Start(t.Context())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if !reflect.DeepEqual(got.Rules(), want.Rules()) {
		t.Errorf("Start's rules differ from New's:\n%v\n%v", got.Rules(), want.Rules())
	}
	for _, m := range want.Rules() {
		if meta, ok := got.Meta(m.ID); !ok || !reflect.DeepEqual(meta, m) {
			t.Errorf("Meta(%s) = %v, %v; want %v", m.ID, meta, ok, m)
		}
		for _, name := range m.Triggers {
			if g, w := got.Triggered(m.ResourceType, name), want.Triggered(m.ResourceType, name); !reflect.DeepEqual(g, w) {
				t.Errorf("Triggered(%s, %s) = %v; want %v", m.ResourceType, name, g, w)
			}
		}
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, entry := range entries {
		if name, ok := strings.CutPrefix(entry.Name(), "input-"); ok {
			names = append(names, strings.TrimSuffix(name, ".json"))
		}
	}
	if len(names) < 10 {
		t.Fatalf("%d testdata inputs; want every one", len(names))
	}
	var wg sync.WaitGroup
	results := make([][]Result, len(names))
	errs := make([]error, len(names))
	for i, name := range names {
		in := loadInput(t, name)
		wg.Go(func() { results[i], errs[i] = got.Evaluate(t.Context(), in) })
	}
	wg.Wait()
	for i, name := range names {
		wantResults, wantErr := want.Evaluate(t.Context(), loadInput(t, name))
		if errs[i] != nil || wantErr != nil {
			t.Errorf("%s: Start's engine: %v; New's: %v", name, errs[i], wantErr)
		}
		if !reflect.DeepEqual(results[i], wantResults) {
			t.Errorf("%s: Start's engine gave\n%v\nNew's\n%v", name, results[i], wantResults)
		}
	}
	if err := got.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
	if got.ReadsEvent() != want.ReadsEvent() {
		t.Errorf("ReadsEvent: %v; want %v", got.ReadsEvent(), want.ReadsEvent())
	}
	for _, m := range want.Rules() {
		g, gok := got.Reads(m.ID)
		w, wok := want.Reads(m.ID)
		if gok != wok || !reflect.DeepEqual(g, w) {
			t.Errorf("Reads(%s) = %v, %v; want %v, %v", m.ID, g, gok, w, wok)
		}
	}
}

// TestStartRulesThatDoNotCompile: Start returns with the metadata of rules
// that do not compile; Wait names the fault, and every evaluation gives each
// rule an ERROR result carrying it, never a verdict. New refuses them.
func TestStartRulesThatDoNotCompile(t *testing.T) {
	// x is unsafe: the body's safety check, a stage New runs, refuses it.
	bad := rule("bad", "bad", `results contains {"rule": "bad", "status": "COMPLIANT", "reason": "?"} if x == 1`)
	modules, err := parseModules(testRules(t, map[string]string{"efs/good.rego": good, "efs/bad.rego": bad}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := compileEngine(t.Context(), modules, skippedStages, false); !errors.Is(err, ErrRuleSet) {
		t.Fatalf("compileEngine: %v; want ErrRuleSet", err)
	}
	e, err := startEngine(t.Context(), modules, skippedStages)
	if err != nil {
		t.Fatalf("startEngine: %v", err)
	}
	if ids := e.RuleIDs("AWS::EFS::FileSystem"); !reflect.DeepEqual(ids, []string{"bad", "good"}) {
		t.Errorf("RuleIDs = %v; want [bad good]", ids)
	}
	compileErr := e.Wait()
	if !errors.Is(compileErr, ErrRuleSet) || !strings.Contains(compileErr.Error(), "var x is unsafe") {
		t.Fatalf("Wait: %v; want ErrRuleSet naming the unsafe x", compileErr)
	}
	for _, ids := range [][]string{nil, {"good"}} {
		res, err := e.EvaluateRules(t.Context(), fsInput, ids)
		if !errors.Is(err, ErrEvaluation) || !errors.Is(err, ErrRuleSet) {
			t.Errorf("EvaluateRules(%v): %v; want ErrEvaluation wrapping ErrRuleSet", ids, err)
		}
		want := len(ids)
		if ids == nil {
			want = 2
		}
		if len(res) != want {
			t.Errorf("EvaluateRules(%v): %d results %v; want %d", ids, len(res), res, want)
		}
		for _, r := range res {
			if r.Status != finding.Error || !strings.Contains(r.Reason, "var x is unsafe") {
				t.Errorf("EvaluateRules(%v): %v; want ERROR naming the fault", ids, r)
			}
		}
	}
	if e.ReadsEvent() {
		t.Error("ReadsEvent holds for rules that did not compile")
	}
	if paths, ok := e.Reads("good"); ok {
		t.Errorf("Reads(good) = %v for rules that did not compile", paths)
	}
}
