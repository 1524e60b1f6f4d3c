package policy

import (
	"testing"
)

func BenchmarkRuleX(b *testing.B) {
	for _, name := range []string{"key-cmk-healthy", "key-no-file-systems", "fs-encrypted-cmk-tls", "fs-unencrypted"} {
		in := loadInput(b, name)
		e := engine(b)
		for _, id := range e.RuleIDs(in.ResourceType) {
			b.Run(name+"/"+id, func(b *testing.B) {
				for b.Loop() {
					if _, err := e.EvaluateRules(b.Context(), in, []string{id}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		b.Run(name+"/all", func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Evaluate(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
