package policy

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// withDocuments is in with its policies parsed from their JSON texts into
// Documents, as a pipeline's are; ok is false when in has none.
func withDocuments(t *testing.T, in *Input) (*Input, bool) {
	t.Helper()
	parse := func(p any) any {
		text, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		if d, ok := ParseDocumentText(string(text)); ok {
			return d
		}
		var v any
		if err := json.Unmarshal(text, &v); err != nil {
			t.Fatal(err)
		}
		d, err := NewDocumentText(string(text), v)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	c := *in
	found := false
	if in.Key != nil && in.Key.Policy != nil {
		k := *in.Key
		k.Policy, c.Key, found = parse(k.Policy), &k, true
	}
	if in.FileSystem != nil && in.FileSystem.Policy != nil {
		fs := *in.FileSystem
		fs.Policy, c.FileSystem, found = parse(fs.Policy), &fs, true
	}
	return &c, found
}

// viewPaths are the paths the view is held to: every field of the input
// types by its json name, a key no type has below each, paths into
// policies, and what the rules read.
func viewPaths(e *Engine) []inputPath {
	var keys [][]string
	var walk func(t reflect.Type, prefix []string)
	walk = func(t reflect.Type, prefix []string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == viewTimeType || len(prefix) > 4 {
			return
		}
		for name, i := range jsonFields(t) {
			p := append(append([]string{}, prefix...), name)
			keys = append(keys, p, append(append([]string{}, p...), "no_such_key"))
			walk(t.Field(i).Type, p)
		}
	}
	walk(reflect.TypeFor[Input](), nil)
	for _, doc := range [][]string{{"key", "policy"}, {"file_system", "policy"}} {
		for _, below := range [][]string{{"Version"}, {"Statement"}, {"Nested"}, {"Nested", "a"}, {"Nested", "b"}, {"n"}, {"Version", "x"}} {
			keys = append(keys, append(append([]string{}, doc...), below...))
		}
	}
	var paths []inputPath
	for _, k := range keys {
		paths = append(paths, newInputPath(k))
	}
	for _, ps := range e.reads {
		for _, p := range ps {
			paths = append(paths, p)
			paths = append(paths, p.guards...)
		}
	}
	return paths
}

// TestInputViewHoldsWhatTheValueHolds: at every path, the view of an input
// holds what its whole value holds, the same value with the same text (the
// memo's keys are hashed from it). It cannot tell only below an event or
// a policy that is not a Document, which an input judged by the view
// never has (viewable).
func TestInputViewHoldsWhatTheValueHolds(t *testing.T) {
	e, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	paths := viewPaths(e)
	inputs := valueTestInputs(t)
	for name, in := range valueTestInputs(t) {
		if d, ok := withDocuments(t, in); ok {
			inputs[name+", policies parsed"] = d
		}
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			whole, err := inputValue(in)
			if err != nil {
				t.Fatal(err)
			}
			docs := docsOf(in)
			view := newInputView(in)
			for _, p := range paths {
				want := valueAt(whole, p)
				got, ok := view.at(p)
				if !ok {
					if !viewable(in) && (p.keys[0] == "event" || len(p.keys) > 1 && p.keys[1] == "policy") {
						continue
					}
					t.Errorf("%s: the view cannot tell", p.name)
					continue
				}
				if (got == nil) != (want == nil) {
					t.Errorf("%s: view %v, value %v", p.name, got, want)
					continue
				}
				if got == nil {
					continue
				}
				gotText, okG := appendValueText(nil, got, docs)
				wantText, okW := appendValueText(nil, want, docs)
				if got.Value.Compare(want.Value) != 0 || string(gotText) != string(wantText) || okG != okW {
					t.Errorf("%s: view %v, value %v", p.name, got, want)
				}
			}
			if !viewable(in) {
				return
			}
			for id := range e.reads {
				wantKey, okW := e.readsKey(id, sourceOf(whole), docs, make([]pathSum, e.paths))
				gotKey, okG := e.readsKey(id, newInputView(in).at, docs, make([]pathSum, e.paths))
				if gotKey != wantKey || okG != okW {
					t.Errorf("%s: the view's memo key differs from the value's", id)
				}
			}
		})
	}
}

// TestViewable: an input with an event, or a policy that is not a
// Document, is built whole before the memo is asked, so that building it
// fails as it would without the memo.
func TestViewable(t *testing.T) {
	doc, err := NewDocument(map[string]any{"Version": "2012-10-17"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   Input
		want bool
	}{
		{Input{}, true},
		{Input{Key: &KeyInput{Policy: doc}, FileSystem: &FileSystemInput{Policy: doc}}, true},
		{Input{Key: &KeyInput{}, FileSystem: &FileSystemInput{}}, true},
		{Input{Event: &EventInput{}}, false},
		{Input{Key: &KeyInput{Policy: map[string]any{}}}, false},
		{Input{FileSystem: &FileSystemInput{Policy: "text"}}, false},
	} {
		if got := viewable(&c.in); got != c.want {
			t.Errorf("viewable(%+v) = %v, want %v", c.in, got, c.want)
		}
	}
}

// An input whose value cannot be built fails every rule, whether or not
// the memo would answer them from what it reads.
func TestUnbuildableInputFailsEvenWhenRemembered(t *testing.T) {
	e, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := loadInput(t, "key-cmk-healthy")
	if _, err := e.EvaluateRules(context.Background(), in, e.byType[in.ResourceType]); err != nil {
		t.Fatal(err)
	}
	bad := *in
	k := *in.Key
	k.Policy = map[string]any{"n": func() {}}
	bad.Key = &k
	results, err := e.EvaluateRules(context.Background(), &bad, e.byType[in.ResourceType])
	if err == nil || !strings.Contains(err.Error(), "convert input") {
		t.Fatalf("err = %v, want the conversion's", err)
	}
	for _, r := range results {
		if r.Status != "ERROR" {
			t.Errorf("%s: %s, want ERROR", r.Rule, r.Status)
		}
	}
}
