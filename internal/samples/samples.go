// Package samples reads JSON test inputs (the sample events under events/,
// rule fixtures) for the tests of several packages, and walks the objects
// in them.
package samples

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Decoded returns every file matching the patterns (paths relative to the
// test's package), decoded from JSON; a file that is not JSON is left out.
// It fails the test when a pattern is malformed or nothing matches.
func Decoded(tb testing.TB, patterns ...string) []any {
	tb.Helper()
	var out []any
	matched := 0
	for _, p := range patterns {
		files, err := filepath.Glob(p)
		if err != nil {
			tb.Fatalf("pattern %s: %v", p, err)
		}
		matched += len(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				tb.Fatal(err)
			}
			var v any
			if json.Unmarshal(b, &v) == nil {
				out = append(out, v)
			}
		}
	}
	if matched == 0 {
		tb.Fatalf("no file matches %v", patterns)
	}
	return out
}

// Events is the pattern of the sample events, from a package two levels
// below the repository's root (internal/<package>).
var Events = filepath.Join("..", "..", "events", "*.json")

// Objects calls visit with each object in v, outermost first, and goes on
// into an object's members unless visit returns false.
func Objects(v any, visit func(obj map[string]any) (descend bool)) {
	switch v := v.(type) {
	case map[string]any:
		if !visit(v) {
			return
		}
		for _, m := range v {
			Objects(m, visit)
		}
	case []any:
		for _, m := range v {
			Objects(m, visit)
		}
	}
}

// JSON is v written as JSON; it fails the test when v has no JSON form.
func JSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
