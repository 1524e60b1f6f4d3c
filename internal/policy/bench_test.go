package policy

import (
	"encoding/json"
	"testing"
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
