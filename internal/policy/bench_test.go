package policy

import (
	"encoding/json"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/rules"
)

// BenchmarkEvaluate measures one evaluation of every rule of a resource type
// against a realistic record (a policy to read, grants to check).
func BenchmarkEvaluate(b *testing.B) {
	for _, bm := range []struct{ name, input string }{
		{"file_system", "fs-encrypted-cmk-tls"},
		{"key", "key-cmk-healthy"},
	} {
		b.Run(bm.name, func(b *testing.B) {
			e := engine(b)
			in := loadInput(b, bm.input)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Evaluate(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
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
// rules (once per process) and compiling them without the stages that only
// check; compile_every_stage is the compilation the tests check the rules
// with, for comparison.
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
	}{{"compile", checkedStages}, {"compile_every_stage", nil}} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := compileEngine(b.Context(), modules, bm.skip); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
