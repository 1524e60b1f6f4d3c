package policy

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// A rule's verdict is a function of the values at the paths it reads (its
// reads, memo.go), and of nothing else: the memo rests on that. The rules
// the memo does not answer are therefore evaluated, when every one of them
// is known by its reads, on a narrowed input: an object holding, at each
// path one of them reads (and at each collection guarding such a path),
// the value the whole input holds there, built by the input's view, and
// nothing else. The view has built most of those values already, to ask
// the memo; the whole input, an object of objects with every field of a
// key or a file system, is built only where a rule's reads are not known.
//
// An intermediate object holds only the keys read below it. No rule can
// tell: a rule that reads such an object itself (its keys, its size, the
// object as a value) reads its path, and its path is then the one built,
// whole. A path whose value the whole input lacks (below a null, a string,
// or a missing key) is left out, and so are the objects above it that no
// other path needs: below them the rule finds nothing either way.

// narrowedPaths are the paths of a narrowed input for a query asking the
// rules ids alone, worked out once for each set of rules; ok is false when
// a rule's reads are not known (it is not remembered) or one is the whole
// input. Query itself asks every rule: its paths, queryPaths, are what
// the analysis finds it reads.
func (e *Engine) narrowedPaths(ids []string) ([]inputPath, bool) {
	key := strings.Join(ids, ",")
	e.mu.Lock()
	defer e.mu.Unlock()
	paths, ok := e.narrowings[key]
	if !ok {
		var reads [][]inputPath
		for _, id := range ids {
			rp, known := e.reads[id]
			if !known {
				reads = nil
				break
			}
			reads = append(reads, rp)
		}
		paths = narrowed(reads)
		e.narrowings[key] = paths
	}
	return paths, paths != nil
}

// narrowed is reads, with the collections guarding each path, as the
// paths of a narrowed input: none under another, each named by its path
// (a path read for its shape is built whole), sorted. It is nil when reads
// is, or a path is the whole input.
func narrowed(reads [][]inputPath) []inputPath {
	if reads == nil {
		return nil
	}
	var paths []inputPath
	for _, rp := range reads {
		for _, p := range rp {
			paths = append(paths, p)
			paths = append(paths, p.guards...)
		}
	}
	slices.SortFunc(paths, func(a, b inputPath) int { return slices.Compare(a.keys, b.keys) })
	out := make([]inputPath, 0, len(paths)) // none read: an empty object
	for _, p := range paths {
		if len(p.keys) == 0 {
			return nil
		}
		if n := len(out); n > 0 && under(p, out[n-1]) {
			continue // sorted: a path's prefixes come before it
		}
		out = append(out, newInputPath(p.keys))
	}
	return out
}

// narrowedValue is the input value holding source's value at each of
// paths and nothing else; ok is false when source cannot tell a value.
func narrowedValue(source valueSource, paths []inputPath) (ast.Value, bool) {
	root := ast.NewObject()
	for _, p := range paths {
		t, ok := source(p)
		if !ok {
			return nil, false
		}
		if t == nil {
			continue
		}
		obj := root
		for _, k := range p.terms[:len(p.terms)-1] {
			child := obj.Get(k)
			if child == nil {
				child = ast.NewTerm(ast.NewObject())
				obj.Insert(k, child)
			}
			if obj, ok = child.Value.(ast.Object); !ok {
				return nil, false // paths under another: not from narrowedPaths
			}
		}
		obj.Insert(p.terms[len(p.terms)-1], t)
	}
	return root, true
}
