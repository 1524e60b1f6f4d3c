package policy

import (
	"crypto/sha256"
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/internal/finding"
)

// DefaultMemoSize bounds how many rule results an engine remembers; once
// full the memo is cleared, which costs only evaluations. A result takes
// about 330 bytes (its reason, its key, the map's share), so a full memo
// holds about 7 MB: a small share of a 256 MB function.
const DefaultMemoSize = 20_000

// A rule's verdict is a function of the parts of the input it reads, and of
// nothing else: the engine loads no base documents, and a rule that calls a
// builtin whose result varies between calls, or replaces something with
// `with`, is not remembered. The engine
// works out, once at compile time, which parts of the input each rule reads
// (its reads: the input paths referred to by the rules and functions its
// results depend on), and remembers each result under a hash of the rule ID
// and of the values at those paths. A rule judged again on an input that
// differs only where it does not read (another record, another field of the
// resource, another resource in the same state when the rule names none)
// costs that hash, not an evaluation.

// inputPath is a path into the input document: the ground string prefix of
// an input reference (input.key.policy for input.key.policy.Statement[i]).
type inputPath struct {
	keys  []string
	terms []*ast.Term // keys as terms, to look them up
	name  string      // input.key.policy
	index int         // among every path any rule reads (Engine.paths)
}

func newInputPath(keys []string) inputPath {
	p := inputPath{keys: keys, name: "input"}
	for _, k := range keys {
		p.terms = append(p.terms, ast.StringTerm(k))
		p.name += "." + k
	}
	return p
}

func (p inputPath) String() string { return p.name }

// ruleReads works out the input paths each rule reads, from the compiled
// rules: the rules in the dependency closure of the rule's results set, with
// their else branches. A rule absent from the map is never remembered: its
// closure calls a non-deterministic builtin or uses `with`.
// Each distinct path is given an index, from 0 to the count returned.
// event reports whether any rule's closure, remembered or not, reads the
// triggering event (input.event) or the input as a whole.
func ruleReads(a *analysis, pkg map[string]string) (map[string][]inputPath, int, bool) {
	reads := map[string][]inputPath{}
	event := false
	for id, path := range pkg {
		ref := ast.MustParseRef(path + "." + resultsRule)
		paths, ok := a.closureReads(a.c.GetRules(ref))
		for _, p := range paths {
			event = event || len(p.keys) == 0 || p.keys[0] == "event"
		}
		if ok {
			reads[id] = paths
		}
	}
	index := map[string]int{}
	for _, paths := range reads {
		for i, p := range paths {
			n, seen := index[p.name]
			if !seen {
				n = len(index)
				index[p.name] = n
			}
			paths[i].index = n
		}
	}
	return reads, len(index), event
}

// analysis works out what compiled rules read. Each rule is read once,
// however many closures it belongs to (lib/iam.rego's functions belong to
// most).
type analysis struct {
	c     *ast.Compiler
	facts map[*ast.Rule]ruleFacts
}

func newAnalysis(c *ast.Compiler) *analysis {
	return &analysis{c: c, facts: map[*ast.Rule]ruleFacts{}}
}

// ruleFacts is what one rule, without what it depends on, reads: the input
// paths it refers to, and whether it is a function of them alone (it calls
// no non-deterministic builtin and uses no `with`).
type ruleFacts struct {
	paths []inputPath
	ok    bool
}

// of works out one rule's facts, once.
func (a *analysis) of(r *ast.Rule) ruleFacts {
	if f, seen := a.facts[r]; seen {
		return f
	}
	f := ruleFacts{ok: true}
	// One walk: a rule of lib/iam.rego is large, and every rule is read at
	// each cold start.
	ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case ast.Ref:
			if len(x) > 0 && x[0].Equal(ast.InputRootDocument) {
				var keys []string
				for _, t := range x[1:] {
					s, isString := t.Value.(ast.String)
					if !isString {
						break
					}
					keys = append(keys, string(s))
				}
				f.paths = append(f.paths, newInputPath(keys))
			}
		case *ast.Expr:
			if len(x.With) > 0 {
				f.ok = false
			}
			if x.IsCall() {
				f.ok = f.ok && deterministic(x.Operator())
			}
		case ast.Call:
			if len(x) > 0 {
				op, isRef := x[0].Value.(ast.Ref)
				f.ok = f.ok && (!isRef || deterministic(op))
			}
		}
		return false
	}).Walk(r)
	a.facts[r] = f
	return f
}

// closureReads collects the input paths the rules roots and everything they
// depend on read, reduced to the shortest (a path under another adds
// nothing) and sorted; ok is false when the closure is not a function of
// its input alone.
func (a *analysis) closureReads(roots []*ast.Rule) (paths []inputPath, ok bool) {
	seen := map[*ast.Rule]bool{}
	queue := slices.Clone(roots)
	var found []inputPath
	ok = true
	for len(queue) > 0 {
		r := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		if r == nil || seen[r] {
			continue
		}
		seen[r] = true
		queue = append(queue, r.Else)
		for dep := range a.c.Graph.Dependencies(r) {
			if d, isRule := dep.(*ast.Rule); isRule {
				queue = append(queue, d)
			}
		}
		f := a.of(r)
		found = append(found, f.paths...)
		ok = ok && f.ok
	}
	return shortest(found), ok
}

// deterministic reports whether a called operator gives the same result for
// the same arguments: a rule function, or a builtin not marked otherwise.
func deterministic(op ast.Ref) bool {
	if op.HasPrefix(ast.DefaultRootRef) {
		return true // a function of the rules: no builtin is named data.…
	}
	b, isBuiltin := ast.BuiltinMap[op.String()]
	return !isBuiltin || !b.IsNondeterministic()
}

// shortest drops the paths that lie under another and sorts the rest.
func shortest(paths []inputPath) []inputPath {
	slices.SortFunc(paths, func(a, b inputPath) int { return slices.Compare(a.keys, b.keys) })
	var out []inputPath
	for _, p := range paths {
		if len(out) > 0 && under(p, out[len(out)-1]) {
			continue // sorted: a prefix comes right before what it covers
		}
		out = append(out, p)
	}
	return out
}

// under reports whether p is prefix or lies under it.
func under(p, prefix inputPath) bool {
	return len(p.keys) >= len(prefix.keys) && slices.Equal(p.keys[:len(prefix.keys)], prefix.keys)
}

// memo remembers rule results by the hash of what the rule read. It is
// safe for concurrent use.
type memo struct {
	mu      sync.Mutex
	max     int
	results map[[sha256.Size]byte]Result
	hits    int
	misses  int
}

// MemoStats counts rule results the engine took from its memo (Hits) and
// evaluated (Misses).
type MemoStats struct {
	Hits, Misses int
	// FuncHits and FuncMisses count the calls of memoized functions
	// answered from the memo and evaluated.
	FuncHits, FuncMisses int
}

// MemoStats reports how often the engine's memo answered.
func (e *Engine) MemoStats() MemoStats {
	e.memo.mu.Lock()
	st := MemoStats{Hits: e.memo.hits, Misses: e.memo.misses}
	e.memo.mu.Unlock()
	e.fmemo.mu.Lock()
	st.FuncHits, st.FuncMisses = e.fmemo.hits, e.fmemo.misses
	e.fmemo.mu.Unlock()
	return st
}

// Reads returns the input paths (as input.key.policy) whose values decide
// the rule's verdict, and false when the engine does not remember the
// rule's results.
func (e *Engine) Reads(id string) ([]string, bool) {
	paths, ok := e.reads[id]
	if !ok {
		return nil, false
	}
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = p.String()
	}
	return out, true
}

// SetMemoSize bounds the memo at n results and empties it, with the memo of
// function values; n <= 0 turns both off, so every rule is evaluated every
// time, as written.
func (e *Engine) SetMemoSize(n int) {
	e.memo.mu.Lock()
	e.memo.max = n
	clear(e.memo.results)
	e.memo.mu.Unlock()
	e.fmemo.mu.Lock()
	e.fmemo.max = min(max(n, 0), DefaultFuncMemoSize)
	clear(e.fmemo.values)
	e.fmemo.mu.Unlock()
}

// readsKey hashes a rule's ID and the values of input at the paths it
// reads; digests keeps each path's hash (by inputPath.index) for the other
// rules of one input. ok is false when the rule is not remembered.
func (e *Engine) readsKey(id string, input ast.Value, docs []knownDoc, digests []pathSum) (sum [sha256.Size]byte, ok bool) {
	paths, ok := e.reads[id]
	if !ok {
		return sum, false
	}
	buf := textBuffers.Get().(*[]byte)
	defer textBuffers.Put(buf)
	text := append((*buf)[:0], id...)
	for _, p := range paths {
		d := &digests[p.index]
		if !d.done {
			if d.sum, ok = pathDigest(input, p, docs); !ok {
				return sum, false
			}
			d.done = true
		}
		text = append(append(append(text, 0), p.name...), d.sum[:]...)
	}
	*buf = text
	return sha256.Sum256(text), true
}

// pathSum is the hash of the value at one input path, once worked out.
type pathSum struct {
	sum  [sha256.Size]byte
	done bool
}

// pathSums are reused for the hashes of one input's paths.
var pathSums = sync.Pool{New: func() any { return new([]pathSum) }}

// textBuffers are reused for the texts the memos hash.
var textBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// pathDigest hashes the value text of the value at p after "=", or
// "undefined" where the input holds none; ok is false when the value is not
// data.
func pathDigest(input ast.Value, p inputPath, docs []knownDoc) (sum [sha256.Size]byte, ok bool) {
	t := ast.NewTerm(input)
	for _, k := range p.terms {
		obj, isObject := t.Value.(ast.Object)
		if isObject {
			t = obj.Get(k)
		}
		if !isObject || t == nil {
			return sha256.Sum256([]byte("undefined")), true
		}
	}
	buf := textBuffers.Get().(*[]byte)
	defer textBuffers.Put(buf)
	text, ok := appendValueText(append((*buf)[:0], '='), t, docs)
	*buf = text
	return sha256.Sum256(text), ok
}

// on reports whether the memo remembers anything.
func (m *memo) on() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max > 0
}

// lookup returns the remembered result for key.
func (m *memo) lookup(key [sha256.Size]byte) (Result, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[key]
	if ok {
		m.hits++
	}
	return r, ok
}

// store remembers results; misses counts the rules evaluated.
func (m *memo) store(keys map[string][sha256.Size]byte, results []Result, evaluated int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.misses += evaluated
	for _, r := range results {
		key, ok := keys[r.Rule]
		if !ok || r.Status == finding.Error || !r.Status.Valid() || m.max <= 0 {
			continue // not remembered, or an ERROR
		}
		if len(m.results) >= m.max {
			clear(m.results)
		}
		m.results[key] = r
	}
}
