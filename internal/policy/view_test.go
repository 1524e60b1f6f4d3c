package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
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
		if r := fs.PolicyRelative; r != nil && r.Policy != nil {
			fs.PolicyRelative = &RelativePolicy{Policy: parse(r.Policy), Resource: r.Resource}
		}
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
				wantKey, okW := e.readsKey(id, sourceOf(whole), docs, newPathTexts(e.paths))
				gotKey, okG := e.readsKey(id, newInputView(in).at, docs, newPathTexts(e.paths))
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
	if len(results) != len(e.byType[in.ResourceType]) {
		t.Fatalf("%d results, want one for each of the %d rules", len(results), len(e.byType[in.ResourceType]))
	}
	for _, r := range results {
		if r.Status != "ERROR" {
			t.Errorf("%s: %s, want ERROR", r.Rule, r.Status)
		}
	}
}

// TestMemoKeysTellWhatRulesRead: over inputs of every kind, two inputs
// have one memo key for a rule exactly where the rule reads the same of
// both: at each path it reads, the same value (the same shape, for a
// shape read), or nothing where a guard does not hold.
func TestMemoKeysTellWhatRulesRead(t *testing.T) {
	e, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type seen struct{ read, input string }
	for id, paths := range e.reads {
		byKey := map[[32]byte]seen{}
		byRead := map[string][32]byte{}
		for name, in := range valueTestInputs(t) {
			for _, in := range []*Input{in, must(withDocuments(t, in))} {
				if in == nil || !viewable(in) {
					continue
				}
				r := readOf(t, paths, in)
				docs := docsOf(in)
				view := newInputView(in)
				texts := newPathTexts(e.paths)
				key, ok := e.readsKey(id, view.at, docs, texts)
				texts.release()
				view.release()
				if !ok {
					t.Fatalf("%s: no key for %s", id, name)
				}
				if prev, dup := byKey[key]; dup && prev.read != r {
					t.Errorf("%s: %s and %s read %s and %s, and have one key", id, prev.input, name, prev.read, r)
				}
				if prev, dup := byRead[r]; dup && prev != key {
					t.Errorf("%s: %s reads what another input reads, with another key", id, name)
				}
				byKey[key], byRead[r] = seen{r, name}, key
			}
		}
		if len(byKey) < 3 {
			t.Errorf("%s: %d keys over the inputs: the test tells little", id, len(byKey))
		}
	}
}

// readOf is what a rule that reads paths reads of in: at each path the
// value's text, its shape for a shape read, or nothing where the input
// holds none or a guard does not hold.
func readOf(t *testing.T, paths []inputPath, in *Input) string {
	t.Helper()
	whole, err := inputValue(in)
	if err != nil {
		t.Fatal(err)
	}
	docs := docsOf(in)
	var read []string
	for _, p := range paths {
		held, _ := guardsHold(sourceOf(whole), p.guards)
		v := valueAt(whole, p)
		switch {
		case !held:
			read = append(read, "unread")
		case v == nil:
			read = append(read, "undefined")
		case p.shape:
			// What count says of it, for a collection or a string.
			n := -1
			switch x := v.Value.(type) {
			case *ast.Array:
				n = x.Len()
			case ast.Object:
				n = x.Len()
			case ast.Set:
				n = x.Len()
			case ast.String:
				n = len([]rune(string(x)))
			}
			read = append(read, fmt.Sprintf("shape %s %d", ast.ValueName(v.Value), n))
		default:
			text, _ := appendValueText(nil, v, docs)
			read = append(read, fmt.Sprintf("%q", text))
		}
	}
	return strings.Join(read, " ")
}

// must is in, or nil when ok is false.
func must(in *Input, ok bool) *Input {
	if !ok {
		return nil
	}
	return in
}

// readWhole reports whether a rule that reads paths reads the value at
// shape's path whole in in: a path it lies under is read, its guards
// holding.
func readWhole(paths []inputPath, shape inputPath, in *Input) bool {
	whole, err := inputValue(in)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(paths, func(p inputPath) bool {
		held, _ := guardsHold(sourceOf(whole), p.guards)
		return !p.shape && under(shape, p) && held
	})
}

// TestMemoKeysFollowEachReadValue changes one value a rule reads, one at a
// time, in inputs of every kind, keeping its length or making it longer:
// the key changes exactly where what the rule reads does (readOf). A value
// read only for its shape keeps its key when its shape stays, unless the
// rule also reads it whole where a guard holds (the monitoring rule reads
// input.watched whole once is_object says it is an object); one a guard
// keeps the rule from reading keeps it too.
func TestMemoKeysFollowEachReadValue(t *testing.T) {
	e, err := New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := func(id string, in *Input) [32]byte {
		doc, _ := withDocuments(t, in)
		view, texts := newInputView(doc), newPathTexts(e.paths)
		defer view.release()
		defer texts.release()
		k, ok := e.readsKey(id, view.at, docsOf(doc), texts)
		if !ok {
			t.Fatalf("%s: no key", id)
		}
		return k
	}
	// change returns the input with the value at keys changed by how, or
	// nil where there is nothing there of a kind it changes.
	change := func(in *Input, keys []string, how string) *Input {
		data, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := json.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		m := doc
		for _, k := range keys[:len(keys)-1] {
			if m, _ = m[k].(map[string]any); m == nil {
				return nil
			}
		}
		last := keys[len(keys)-1]
		switch v := m[last].(type) {
		case nil:
			if how != "none" {
				return nil
			}
		case string:
			if how == "longer" {
				m[last] = v + "x"
			} else if v != "" {
				m[last] = v[:len(v)-1] + string(rune('a'+(v[len(v)-1]-'a'+1)%26))
			} else {
				return nil
			}
		case bool:
			if how == "longer" {
				return nil
			}
			m[last] = !v
		case float64:
			if how == "longer" {
				return nil
			}
			m[last] = v + 1
		case []any:
			if how != "longer" || len(v) == 0 {
				return nil
			}
			m[last] = append(v, v[len(v)-1])
		case map[string]any:
			if how == "longer" {
				return nil
			}
			if last == "policy" {
				// Another value with as many keys: a policy's shape
				// is its size.
				if _, ok := v["Sid"]; ok || len(v) == 0 {
					v["Sid"] = "changed"
				} else {
					v[slices.Sorted(maps.Keys(v))[0]] = "changed"
				}
				break
			}
			// A record of the input's types: change its first scalar.
			names := slices.Sorted(maps.Keys(v))
			i := slices.IndexFunc(names, func(k string) bool {
				switch v[k].(type) {
				case string, bool, float64:
					return true
				}
				return false
			})
			if i < 0 {
				return nil
			}
			switch x := v[names[i]].(type) {
			case string:
				v[names[i]] = x + "x"
			case bool:
				v[names[i]] = !x
			case float64:
				v[names[i]] = x + 1
			}
		default:
			return nil
		}
		data, err = json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.DisallowUnknownFields()
		var out Input
		if err := dec.Decode(&out); err != nil {
			t.Fatalf("%v: %v", keys, err)
		}
		return &out
	}
	changed := 0
	for name, in := range valueTestInputs(t) {
		in.Event = nil // judging leaves it out: no rule reads it
		if _, err := json.Marshal(in); err != nil {
			continue
		}
		// The JSON form, read back, with the relative policy the engine
		// sets: a rule reads it, and it is changed like any value.
		base := change(withRelativePolicy(in), []string{"no_such_field"}, "none")
		for id, paths := range e.reads {
			before, readBefore := key(id, base), readOf(t, paths, base)
			for _, p := range paths {
				for _, how := range []string{"same length", "longer"} {
					other := change(base, p.keys, how)
					if other == nil {
						continue
					}
					changed++
					same, readSame := key(id, other) == before, readOf(t, paths, other) == readBefore
					if same != readSame {
						t.Errorf("%s, %s: %s changed (%s): key the same %v, what the rule reads the same %v", name, id, p.name, how, same, readSame)
					}
					if p.shape && how == "same length" && !same && !readWhole(paths, p, other) {
						t.Errorf("%s, %s: %s changed, its shape kept: another key", name, id, p.name)
					}
				}
			}
		}
	}
	if changed < 200 {
		t.Errorf("%d values changed: the test tells little", changed)
	}
}
