package policy

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/rules"
)

// BenchmarkEvaluate measures one evaluation of every rule of a resource type
// against a realistic record (a policy to read, grants to check), as written
// (no memo); and for a key, with the memo but another file system each time,
// so that the rules are evaluated and the key policy rule's outcome for the
// creator is remembered (the common case of a log: many file systems, few
// creators and key policies).
func BenchmarkEvaluate(b *testing.B) {
	for _, bm := range []struct{ name, input string }{
		{"file_system", "fs-encrypted-cmk-tls"},
		{"key", "key-cmk-healthy"},
	} {
		for _, memo := range []bool{false, true} {
			if memo && bm.name != "key" {
				continue
			}
			name := bm.name + "/evaluated"
			if memo {
				name = bm.name + "/outcome_remembered"
			}
			b.Run(name, func(b *testing.B) {
				e := plainEngine(b)
				if memo {
					var err error
					if e, err = New(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				in := loadInput(b, bm.input)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if memo {
						i++
						renameFileSystem(in, fmt.Sprintf("fs-%017x", i))
					}
					if _, err := e.Evaluate(b.Context(), in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// renameFileSystem gives the key's file systems another ID.
func renameFileSystem(in *Input, id string) {
	for i := range in.FileSystems {
		in.FileSystems[i].ID = id
	}
}

// BenchmarkInputValue compares the direct conversion with a JSON round trip.
func BenchmarkInputValue(b *testing.B) {
	in := loadInput(b, "key-cmk-healthy")
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := inputValue(in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json_round_trip", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			data, _ := json.Marshal(in)
			var doc any
			_ = json.Unmarshal(data, &doc)
			_ = doc
		}
	})
}

// BenchmarkNew measures what New does at a cold start: parsing the embedded
// rules (once per process) and compiling them without the stages New leaves
// out (skippedStages); compile_every_stage is the compilation the tests
// check the rules with, for comparison.
func BenchmarkNew(b *testing.B) {
	modules, err := parseModules(rules.FS)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := parseModules(rules.FS); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, bm := range []struct {
		name string
		skip []ast.StageID
	}{{"compile", skippedStages}, {"compile_every_stage", nil}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compileEngine(b.Context(), modules, bm.skip, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMemoKey hashes what every rule of a resource type reads of a
// realistic input, its policies parsed from their texts as a pipeline's
// are: the cost of asking the memo, paid for every rule judged. The value
// read is built as judging builds it when the memo answers every rule
// (view: each path's value alone), and as it did before (value: the whole
// input value, then the paths read in it).
func BenchmarkMemoKey(b *testing.B) {
	e := engine(b)
	for _, name := range []string{"key-cmk-healthy", "fs-encrypted-cmk-tls"} {
		in := docInput(b, name)
		in.Event = nil // no rule reads it: judging leaves it out
		if e.readsEvent {
			b.Fatal("a rule reads the event")
		}
		if !viewable(in) {
			b.Fatalf("%s: not viewable", name)
		}
		ids := e.byType[in.ResourceType]
		for _, built := range []string{"view", "value"} {
			b.Run(in.ResourceType+"/"+built, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					view := newInputView(in)
					source := view.at
					if built == "value" {
						v, err := inputValue(in)
						if err != nil {
							b.Fatal(err)
						}
						source = sourceOf(v)
					}
					docs, texts := docsOf(in), newPathTexts(e.paths)
					for _, id := range ids {
						if _, ok := e.readsKey(id, source, docs, texts); !ok {
							b.Fatalf("%s not remembered", id)
						}
					}
					texts.release()
					view.release()
				}
			})
		}
	}
}

// docInput loads a testdata input with its policies parsed from their JSON
// texts, as a pipeline's are.
func docInput(tb testing.TB, name string) *Input {
	tb.Helper()
	in := loadInput(tb, name)
	parse := func(v any) any {
		text, err := json.Marshal(v)
		if err != nil {
			tb.Fatal(err)
		}
		d, ok := ParseDocumentText(string(text))
		if !ok {
			tb.Fatalf("%s: policy %s does not parse", name, text)
		}
		return d
	}
	if in.Key != nil && in.Key.Policy != nil {
		in.Key.Policy = parse(in.Key.Policy)
	}
	if in.FileSystem != nil && in.FileSystem.Policy != nil {
		in.FileSystem.Policy = parse(in.FileSystem.Policy)
	}
	return in
}
