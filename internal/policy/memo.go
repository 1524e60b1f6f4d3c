package policy

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

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
//
// Some paths are read only where a rule iterates over an input collection:
// the key policy rule reads the key's name only for the file systems the
// key protects. Rego evaluates a body's expressions in order and a rule
// only where an expression refers to it, so a rule referred to only after
// an expression such as `some f in input.file_systems` is evaluated only
// when that collection holds an element. The analysis records such a
// collection as a guard of each path read only that way, and the memo key
// leaves out a path whose guard holds no element: an unused key's verdict
// is then remembered whatever the key's name. An expression
// `is_object(input.key.policy)` is a guard the same way, one that holds
// when the value is an object, empty or not: the key policy rule reads the
// file systems only for a policy it can evaluate, so one verdict serves
// every key whose policy is unknown. A path read directly in a body counts
// as read whenever the rule is evaluated, wherever it stands: the rule
// index may look it up before the body runs.
//
// Some values are read only for their shape (shapeReads): whether a key
// protects any file system is count(input.file_systems) > 0, and the memo
// key then holds how many, not which.

// inputPath is a path into the input document: the ground string prefix of
// an input reference (input.key.policy for input.key.policy.Statement[i]).
type inputPath struct {
	keys  []string
	terms []*ast.Term // keys as terms, to look them up
	name  string      // input.key.policy
	index int         // among every path any rule reads (Engine.paths)
	// guards are input values each of which holds whenever the path is
	// read: a collection that holds an element or, for a guard with
	// object set, an object. With any of them failing, the rule does not
	// read the path.
	guards []inputPath
	// object is set on a guard established by is_object: it holds when
	// the value is an object, of any size. Its name is is_object(input.…).
	object bool
	// shape is set when the rules read of the value only its shape: its
	// type and, for a collection or a string, how many elements or
	// characters it has (shapeReads). Its name is shape(input.…).
	shape bool
}

func newInputPath(keys []string) inputPath {
	p := inputPath{keys: keys, name: "input"}
	for _, k := range keys {
		p.terms = append(p.terms, ast.StringTerm(k))
		p.name += "." + k
	}
	return p
}

// shapeBuiltins are the builtins whose result, given one value, depends on
// nothing but the value's type and how many elements (for a string,
// characters) it has. An error of count's names only the type.
var shapeBuiltins = map[string]bool{
	ast.Count.Name: true, ast.TypeNameBuiltin.Name: true,
	ast.IsArray.Name: true, ast.IsBoolean.Name: true, ast.IsNull.Name: true, ast.IsNumber.Name: true,
	ast.IsObject.Name: true, ast.IsSet.Name: true, ast.IsString.Name: true,
}

// shapeReads finds the expressions of r that read only the shape of the
// value at a ground input path. The compiler gives a builtin's argument a
// variable of its own (`count(input.file_systems) > 0` compiles to
// `__local1__ = input.file_systems; count(__local1__, __local2__); gt(…)`):
// the binding reads the shape alone when its variable is used nowhere else
// but as the one argument of shape builtins. A rule that asks only whether
// a key protects any file system is then remembered by how many it
// protects, not by which.
func shapeReads(r *ast.Rule) map[*ast.Expr]inputPath {
	type binding struct {
		e   *ast.Expr
		v   ast.Var
		ref ast.Ref
	}
	var binds []binding
	var asArg map[ast.Var]int // uses as a shape builtin's argument
	ast.WalkExprs(r, func(e *ast.Expr) bool {
		if e.Negated || len(e.With) > 0 || !e.IsCall() {
			return false
		}
		operands := e.Operands()
		if shapeBuiltins[e.Operator().String()] && len(operands) > 0 {
			if v, isVar := operands[0].Value.(ast.Var); isVar && allVarsBut(operands[1:], v) {
				if asArg == nil {
					asArg = map[ast.Var]int{}
				}
				asArg[v]++
			}
		}
		if e.IsEquality() && len(operands) == 2 {
			for i, t := range operands {
				v, isVar := t.Value.(ast.Var)
				ref, isRef := operands[1-i].Value.(ast.Ref)
				if isVar && isRef && ref[0].Equal(ast.InputRootDocument) {
					binds = append(binds, binding{e, v, ref})
				}
			}
		}
		return false
	})
	if len(binds) == 0 || len(asArg) == 0 {
		return nil // most rules: no shape builtin is given a variable
	}
	uses := make(map[ast.Var]int, len(asArg))
	ast.WalkVars(r, func(v ast.Var) bool {
		if asArg[v] > 0 {
			uses[v]++
		}
		return false
	})
	var out map[*ast.Expr]inputPath
	for _, b := range binds {
		n := asArg[b.v]
		if n == 0 || uses[b.v] != 1+n {
			continue
		}
		if keys, _ := inputKeys(b.ref); len(keys) == len(b.ref)-1 { // a ground path
			p := newInputPath(keys)
			p.shape, p.name = true, "shape("+p.name+")"
			if out == nil {
				out = map[*ast.Expr]inputPath{}
			}
			out[b.e] = p
		}
	}
	return out
}

// allVarsBut reports whether every term is a variable other than v.
func allVarsBut(terms []*ast.Term, v ast.Var) bool {
	for _, t := range terms {
		if w, isVar := t.Value.(ast.Var); !isVar || w.Equal(v) {
			return false
		}
	}
	return true
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
		ref := resultsRef(path)
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

// resultsRef is the reference to the results rule of the package at path
// (data.atrest.efs.x), built without the parser where the path is plain
// names: parsing loads the capabilities of every builtin each time.
func resultsRef(path string) ast.Ref {
	if strings.ContainsAny(path, `["`) {
		return ast.MustParseRef(path + "." + resultsRule)
	}
	names := strings.Split(path, ".")
	if names[0] != "data" {
		return ast.MustParseRef(path + "." + resultsRule)
	}
	ref := ast.Ref{ast.DefaultRootDocument}
	for _, n := range names[1:] {
		ref = append(ref, ast.StringTerm(n))
	}
	return append(ref, ast.StringTerm(resultsRule))
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
	// after maps each rule this rule's body first refers to after an
	// expression that iterates over an input collection to those
	// collections (sorted by name). A dependency absent from it is
	// referred to before any such expression, or outside the body.
	after map[*ast.Rule][]inputPath
}

// of works out one rule's facts, once.
func (a *analysis) of(r *ast.Rule) ruleFacts {
	if f, seen := a.facts[r]; seen {
		return f
	}
	f := ruleFacts{ok: true}
	shapes := shapeReads(r)
	// One walk: a rule of lib/iam.rego is large, and every rule is read at
	// each cold start.
	ast.NewGenericVisitor(func(x any) bool {
		switch x := x.(type) {
		case ast.Ref:
			if keys, isInput := inputKeys(x); isInput {
				f.paths = append(f.paths, newInputPath(keys))
			}
		case *ast.Expr:
			if len(x.With) > 0 {
				f.ok = false
			}
			if x.IsCall() {
				f.ok = f.ok && deterministic(x.Operator())
			}
			if p, ok := shapes[x]; ok {
				f.paths = append(f.paths, p)
				return true // its one reference is the path, read for its shape
			}
		case ast.Call:
			if len(x) > 0 {
				op, isRef := x[0].Value.(ast.Ref)
				f.ok = f.ok && (!isRef || deterministic(op))
			}
		}
		return false
	}).Walk(r)
	f.after = a.guardedDeps(r)
	a.facts[r] = f
	return f
}

// guardedDeps works out ruleFacts.after for r: for each rule its body
// refers to (and that rule's else branches), the input collections iterated
// by the body's expressions before the first one that refers to it, where
// there are any.
func (a *analysis) guardedDeps(r *ast.Rule) map[*ast.Rule][]inputPath {
	guards := establishes(r.Body)
	if guards == nil {
		return nil
	}
	after := map[*ast.Rule][]inputPath{}
	first := map[*ast.Rule]bool{}
	var held []inputPath
	for i, expr := range r.Body {
		ast.WalkRefs(expr, func(ref ast.Ref) bool {
			if !ref.HasPrefix(ast.DefaultRootRef) {
				return false
			}
			for _, d := range a.c.GetRules(ref) {
				for ; d != nil; d = d.Else {
					if !first[d] {
						first[d] = true
						if len(held) > 0 {
							after[d] = held
						}
					}
				}
			}
			return false
		})
		if g := guards[i]; g != nil && !slices.ContainsFunc(held, func(h inputPath) bool { return h.name == g.name }) {
			held = slices.Clone(held) // the slices given out stay as they are
			held = append(held, *g)
			slices.SortFunc(held, func(a, b inputPath) int { return slices.Compare(a.keys, b.keys) })
		}
	}
	return after
}

// establishes gives, for each expression of body, the guard that holds
// once the expression is true (nil where there is none): the collection it
// iterates (iterates), or the value it finds an object (isObject). It is
// nil when no expression of body establishes a guard.
func establishes(body ast.Body) []*inputPath {
	var out []*inputPath
	for i, e := range body {
		g, ok := iterates(e)
		if !ok {
			g, ok = isObject(e, body[:i])
		}
		if ok {
			if out == nil {
				out = make([]*inputPath, len(body))
			}
			out[i] = &g
		}
	}
	return out
}

// isObjectRef is the operator of a call of is_object.
var isObjectRef = ast.IsObject.Ref()

// isObject reports the input value an expression `is_object(input.…)`
// holds only when it is an object. The compiler binds the argument to a
// variable first (`__local1__ = input.key.policy; is_object(__local1__)`):
// before, the expressions ahead of e in its body, are searched for that
// binding. A negated call, a call with `with`, or one whose result is
// bound to a variable holds nothing.
func isObject(e *ast.Expr, before ast.Body) (inputPath, bool) {
	if e.Negated || len(e.With) > 0 || !e.IsCall() || !e.Operator().Equal(isObjectRef) {
		return inputPath{}, false
	}
	operands := e.Operands()
	if len(operands) != 1 {
		return inputPath{}, false
	}
	var (
		p  inputPath
		ok bool
	)
	switch v := operands[0].Value.(type) {
	case ast.Var:
		for j := len(before) - 1; j >= 0 && !ok; j-- {
			var w ast.Var
			w, p, ok = groundBinding(before[j])
			ok = ok && w.Equal(v)
		}
	case ast.Ref:
		var keys []string
		keys, ok = inputKeys(v)
		ok = ok && len(keys) == len(v)-1
		p = newInputPath(keys)
	}
	if !ok {
		return inputPath{}, false
	}
	p.object, p.name = true, "is_object("+p.name+")"
	return p, true
}

// groundBinding reports an expression binding a variable to a ground
// input path: `v = input.key.policy`.
func groundBinding(e *ast.Expr) (ast.Var, inputPath, bool) {
	if e.Negated || len(e.With) > 0 || !e.IsEquality() {
		return "", inputPath{}, false
	}
	operands := e.Operands()
	for i, t := range operands {
		v, isVar := t.Value.(ast.Var)
		ref, isRef := operands[1-i].Value.(ast.Ref)
		if !isVar || !isRef {
			continue
		}
		if keys, isInput := inputKeys(ref); isInput && len(keys) == len(ref)-1 {
			return v, newInputPath(keys), true
		}
	}
	return "", inputPath{}, false
}

// iterates reports the input collection an expression holds only when it
// has an element: a unification with, or a bare, reference that goes on
// past the collection's ground path (input.file_systems[i], as
// `some f in input.file_systems` compiles). A negated expression, or one
// with `with`, holds nothing.
func iterates(e *ast.Expr) (inputPath, bool) {
	if e.Negated || len(e.With) > 0 {
		return inputPath{}, false
	}
	var operands []*ast.Term
	switch {
	case e.IsEquality():
		operands = e.Operands()
	default:
		if t, ok := e.Terms.(*ast.Term); ok {
			operands = []*ast.Term{t}
		}
	}
	for _, t := range operands {
		ref, isRef := t.Value.(ast.Ref)
		if !isRef {
			continue
		}
		if keys, isInput := inputKeys(ref); isInput && len(keys) > 0 && len(keys) < len(ref)-1 {
			return newInputPath(keys), true
		}
	}
	return inputPath{}, false
}

// inputKeys gives the ground string prefix of an input reference, after
// input (the keys of input.key.policy for input.key.policy.Statement[i]);
// isInput is false for any other reference.
func inputKeys(ref ast.Ref) (keys []string, isInput bool) {
	if len(ref) == 0 || !ref[0].Equal(ast.InputRootDocument) {
		return nil, false
	}
	for _, t := range ref[1:] {
		s, isString := t.Value.(ast.String)
		if !isString {
			break
		}
		keys = append(keys, string(s))
	}
	return keys, true
}

// closureReads collects the input paths the rules roots and everything they
// depend on read, reduced to the shortest (a path under another adds
// nothing) and sorted; ok is false when the closure is not a function of
// its input alone. Each path keeps the guards every rule that reads it is
// evaluated under (see guardedDeps): a rule's are those its callers are
// evaluated under, with the collections iterated before the call, common
// to every call.
func (a *analysis) closureReads(roots []*ast.Rule) (paths []inputPath, ok bool) {
	// The rules of the closure, callers before the rules they call (the
	// rules form no cycle): a reverse postorder.
	var order []*ast.Rule
	seen := map[*ast.Rule]bool{}
	var visit func(r *ast.Rule)
	visit = func(r *ast.Rule) {
		if r == nil || seen[r] {
			return
		}
		seen[r] = true
		visit(r.Else)
		for dep := range a.c.Graph.Dependencies(r) {
			if d, isRule := dep.(*ast.Rule); isRule {
				visit(d)
			}
		}
		order = append(order, r)
	}
	for _, r := range roots {
		visit(r)
	}
	slices.Reverse(order)

	type reach struct {
		seen   bool // a caller, or the query, evaluates the rule
		guards []inputPath
	}
	reached := make(map[*ast.Rule]reach, len(order))
	for _, r := range roots {
		reached[r] = reach{seen: true}
	}
	called := func(d *ast.Rule, under []inputPath) {
		if prev := reached[d]; prev.seen {
			under = common(prev.guards, under)
		}
		reached[d] = reach{true, under}
	}
	var found []inputPath
	ok = true
	for _, r := range order {
		f := a.of(r)
		g := reached[r].guards
		if r.Else != nil {
			called(r.Else, g)
		}
		for dep := range a.c.Graph.Dependencies(r) {
			if d, isRule := dep.(*ast.Rule); isRule {
				called(d, union(g, f.after[d]))
			}
		}
		for _, p := range f.paths {
			p.guards = g
			found = append(found, p)
		}
		ok = ok && f.ok
	}
	return shortest(found), ok
}

// common is the guards in both a and b (each sorted by name).
func common(a, b []inputPath) []inputPath {
	var out []inputPath
	for _, p := range a {
		if slices.ContainsFunc(b, func(q inputPath) bool { return q.name == p.name }) {
			out = append(out, p)
		}
	}
	return out
}

// union is the guards in a or b (each sorted by name), sorted.
func union(a, b []inputPath) []inputPath {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := slices.Clone(a)
	for _, q := range b {
		if !slices.ContainsFunc(out, func(p inputPath) bool { return p.name == q.name }) {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, func(x, y inputPath) int { return slices.Compare(x.keys, y.keys) })
	return out
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

// shortest drops the paths that lie under another and sorts the rest. A
// path kept has only the guards common to every path it covers: it is read
// whenever any of them is. A value read whole covers a read of its shape
// only where it is read whenever the shape is (its guards are among the
// shape's); the shape of a key's file systems, asked for every key, stays
// beside its file systems read whole only for a key with grants.
func shortest(paths []inputPath) []inputPath {
	var whole, shapes []inputPath
	for _, p := range paths {
		if p.shape {
			shapes = append(shapes, p)
		} else {
			whole = append(whole, p)
		}
	}
	out := merged(whole, under)
	for _, sp := range merged(shapes, func(p, q inputPath) bool { return slices.Equal(p.keys, q.keys) }) {
		if !slices.ContainsFunc(out, func(p inputPath) bool { return !p.shape && under(sp, p) && within(p.guards, sp.guards) }) {
			out = append(out, sp)
		}
	}
	slices.SortStableFunc(out, func(a, b inputPath) int {
		if c := slices.Compare(a.keys, b.keys); c != 0 {
			return c
		}
		return cmp.Compare(b2i(a.shape), b2i(b.shape)) // the value whole first
	})
	return out
}

// merged sorts paths and drops each one covers says lies under the one
// kept before it, keeping the guards common to both.
func merged(paths []inputPath, covers func(p, kept inputPath) bool) []inputPath {
	slices.SortFunc(paths, func(a, b inputPath) int { return slices.Compare(a.keys, b.keys) })
	var out []inputPath
	for _, p := range paths {
		if n := len(out); n > 0 && covers(p, out[n-1]) {
			out[n-1].guards = common(out[n-1].guards, p.guards) // sorted: a prefix comes right before what it covers
			continue
		}
		out = append(out, p)
	}
	return out
}

// under reports whether p is prefix or lies under it.
func under(p, prefix inputPath) bool {
	return len(p.keys) >= len(prefix.keys) && slices.Equal(p.keys[:len(prefix.keys)], prefix.keys)
}

// within reports whether every guard in a is in b.
func within(a, b []inputPath) bool {
	for _, g := range a {
		if !slices.ContainsFunc(b, func(h inputPath) bool { return h.name == g.name }) {
			return false
		}
	}
	return true
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
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
	if e.Wait() != nil {
		return nil, false
	}
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

// valueSource gives the value of an input at a path, nil where the input
// holds none; ok is false when it cannot tell.
type valueSource func(p inputPath) (t *ast.Term, ok bool)

// sourceOf is the source of a whole input value.
func sourceOf(input ast.Value) valueSource {
	return func(p inputPath) (*ast.Term, bool) { return valueAt(input, p), true }
}

// readsKey hashes a rule's ID and the values of input at the paths it
// reads, each written as pathText writes it; texts keeps each path's text
// (by inputPath.index) for the other rules of one input. ok is false when
// the rule is not remembered, or input cannot tell a value it reads.
//
// The key's text is the ID, then for each path a 0, its name, and its
// value's text. A rule reads the same paths in the same order for every
// input, and each value's text says where it ends: two inputs have one key
// only where the rule reads the same of both.
func (e *Engine) readsKey(id string, input valueSource, docs []knownDoc, texts *pathTexts) (sum [sha256.Size]byte, ok bool) {
	paths, ok := e.reads[id]
	if !ok {
		return sum, false
	}
	buf := textBuffers.Get().(*[]byte)
	defer textBuffers.Put(buf)
	text := append((*buf)[:0], id...)
	for _, p := range paths {
		held, ok := guardsHold(input, p.guards)
		if !ok {
			return sum, false
		}
		text = append(append(text, 0), p.name...)
		if !held {
			text = append(text, unreadMark)
			continue
		}
		if text, ok = texts.appendText(text, input, p, docs); !ok {
			return sum, false
		}
	}
	*buf = text
	return sha256.Sum256(text), true
}

// The first byte of a path's text in a memo key: what follows it.
const (
	unreadMark    = 'u' // nothing: a guard of the path does not hold, so the rule does not read it
	undefinedMark = 'x' // nothing: the input holds no value there
	shapeMark     = 's' // the value's shape text (shapeText), sized
	valueMark     = 'v' // the value's text (appendValueText), sized
	hashMark      = 'h' // the hash of "=" and the value's text, for a long one
)

// maxInlineText is the longest value text a memo key holds as it is; a
// longer one is hashed once for every rule that reads it.
const maxInlineText = 64

// guardsHold reports whether every guard holds in input: a collection
// guard when its value is an array, object or set that is not empty
// (anything else, an absent value included, is a collection `input.g[_]`
// finds nothing in); an object guard when its value is an object. ok is
// false when input cannot tell.
func guardsHold(input valueSource, guards []inputPath) (held, ok bool) {
	for _, g := range guards {
		t, ok := input(g)
		if !ok {
			return false, false
		}
		if t == nil {
			return false, true
		}
		if g.object {
			if _, isObject := t.Value.(ast.Object); !isObject {
				return false, true
			}
			continue
		}
		switch v := t.Value.(type) {
		case ast.Object:
			if v.Len() == 0 {
				return false, true
			}
		case *ast.Array:
			if v.Len() == 0 {
				return false, true
			}
		case ast.Set:
			if v.Len() == 0 {
				return false, true
			}
		default:
			return false, true
		}
	}
	return true, true
}

// valueAt is the value at p in input, nil where the input holds none.
func valueAt(input ast.Value, p inputPath) *ast.Term {
	t := ast.NewTerm(input)
	for _, k := range p.terms {
		obj, isObject := t.Value.(ast.Object)
		if !isObject {
			return nil
		}
		if t = obj.Get(k); t == nil {
			return nil
		}
	}
	return t
}

// pathTexts are the texts of one input's paths in memo keys, each worked
// out once for every rule that reads it.
type pathTexts struct {
	at  []pathText // by inputPath.index
	buf []byte     // the texts, one after another
}

// pathText is where one path's text is in pathTexts.buf, once worked out.
type pathText struct {
	start, end int
	done       bool
}

// newPathTexts are the texts of an input whose rules read n paths.
func newPathTexts(n int) *pathTexts {
	t := pathTextsPool.Get().(*pathTexts)
	t.at = slices.Grow(t.at[:0], n)[:n]
	clear(t.at)
	t.buf = t.buf[:0]
	return t
}

// release returns t for reuse.
func (t *pathTexts) release() { pathTextsPool.Put(t) }

var pathTextsPool = sync.Pool{New: func() any { return new(pathTexts) }}

// appendText appends the text of the value at p in input, working it out
// the first time p is asked.
func (t *pathTexts) appendText(text []byte, input valueSource, p inputPath, docs []knownDoc) ([]byte, bool) {
	at := &t.at[p.index]
	if !at.done {
		start := len(t.buf)
		buf, ok := pathValueText(t.buf, input, p, docs)
		if !ok {
			return text, false
		}
		t.buf, *at = buf, pathText{start: start, end: len(buf), done: true}
	}
	return append(text, t.buf[at.start:at.end]...), true
}

// textBuffers are reused for the texts the memos hash.
var textBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// pathValueText appends the text that stands for the value at p in a memo
// key: undefinedMark where the input holds none; for a shape read,
// shapeMark and the shape's text; a value text of up to maxInlineText
// bytes as valueMark and the text, a longer one as hashMark and the hash of
// "=" and the text. ok is false when the value is not data, or input
// cannot tell it.
func pathValueText(buf []byte, input valueSource, p inputPath, docs []knownDoc) (_ []byte, ok bool) {
	t, ok := input(p)
	switch {
	case !ok:
		return buf, false
	case t == nil:
		return append(buf, undefinedMark), true
	case p.shape:
		return appendSized(append(buf, shapeMark), shapeText(t.Value)), true
	}
	vbuf := textBuffers.Get().(*[]byte)
	defer textBuffers.Put(vbuf)
	text, ok := appendValueText(append((*vbuf)[:0], '='), t, docs)
	*vbuf = text
	if !ok {
		return buf, false
	}
	if v := text[1:]; len(v) <= maxInlineText {
		return append(binary.AppendUvarint(append(buf, valueMark), uint64(len(v))), v...), true
	}
	sum := sha256.Sum256(text)
	return append(append(buf, hashMark), sum[:]...), true
}

// shapeText is the text of a value's shape: its type and, for a
// collection or a string, what count gives for it.
func shapeText(v ast.Value) string {
	text := "shape:" + ast.ValueName(v)
	switch v := v.(type) {
	case *ast.Array:
		text += ":" + strconv.Itoa(v.Len())
	case ast.Object:
		text += ":" + strconv.Itoa(v.Len())
	case ast.Set:
		text += ":" + strconv.Itoa(v.Len())
	case ast.String:
		text += ":" + strconv.Itoa(utf8.RuneCountInString(string(v)))
	}
	return text
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
