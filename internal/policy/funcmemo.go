package policy

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"
)

// A rule's memo answers only when everything the rule reads is unchanged.
// Some rules do most of their work in a function whose arguments repeat far
// more often than the rule's whole input: the key policy rule decides EFS's
// calls for one creator's file systems against one key policy, and keys
// created alike share their default key policy. A function whose METADATA
// says
//
//	custom:
//	  memoize: true
//
// is remembered by its arguments. The engine stands a builtin in for it: a
// compiler stage of its own, right after references are resolved, points
// each call of the function at the builtin, so the rules and their tests
// stay plain Rego and evaluation pays nothing for the stand-in (a `with`
// in the query would make OPA look every call up among its replacements).
// The builtin answers from the memo, or evaluates the function once on
// those arguments and remembers the value. A memoized function must read
// nothing but its arguments and call no builtin whose result varies: New
// refuses one that does not.

// DefaultFuncMemoSize bounds how many values of each function an engine
// remembers; once a function's are full, they are cleared. The largest
// value takes about 1.6 KB (the key policy rule's outcome for one creator,
// with its key; measured on 2,000), so its full memo holds about 6 MB; the
// others' values are a boolean or a small object.
const DefaultFuncMemoSize = 4_000

// memoizeKey is the METADATA custom key that marks a remembered function.
const memoizeKey = "memoize"

// memoFunc is a function the engine remembers by its arguments.
type memoFunc struct {
	ref     ast.Ref // data.atrest.efs.kms_key_policy_grants_efs.outcome
	arity   int
	builtin string   // the builtin that stands in for it
	body    ast.Body // out = ref(input[0], ..., input[arity-1]), compiled
}

// memoFuncs finds the functions marked memoize in the parsed modules.
func memoFuncs(modules []*ast.Module) ([]*memoFunc, error) {
	var out []*memoFunc
	seen := map[string]bool{}
	for _, m := range modules {
		for _, r := range m.Rules {
			if !marked(r) {
				continue
			}
			ref := r.Ref()
			if len(r.Head.Args) == 0 {
				return nil, fmt.Errorf("%w: %s is marked %s but is not a function", ErrRuleSet, ref, memoizeKey)
			}
			if seen[ref.String()] {
				continue
			}
			seen[ref.String()] = true
			out = append(out, &memoFunc{ref: ref, arity: len(r.Head.Args), builtin: fmt.Sprintf("atrest.memo%d", len(out))})
		}
	}
	return out, nil
}

// marked reports whether a rule's METADATA marks it memoize: true.
func marked(r *ast.Rule) bool {
	for _, a := range r.Annotations {
		if v, ok := a.Custom[memoizeKey]; ok && v == true {
			return true
		}
	}
	return false
}

// declare is the builtin declaration of f: any arguments, any value.
func (f *memoFunc) declare() *rego.Function {
	args := make([]types.Type, f.arity)
	for i := range args {
		args[i] = types.A
	}
	return &rego.Function{Name: f.builtin, Decl: types.NewFunction(types.Args(args...), types.A)}
}

// funcMemo remembers function values by the hash of the function and its
// arguments. It is safe for concurrent use.
type funcMemo struct {
	mu  sync.Mutex
	max int // values per function
	// values holds each function's values (nil: the function is
	// undefined there), by its builtin: one function's values never push
	// out another's.
	values map[string]map[[sha256.Size]byte]*ast.Term
	hits   int
	misses int
}

// memoOptions are the rego options that define the memoized functions'
// builtins on e.
func (e *Engine) memoOptions() []func(*rego.Rego) {
	opts := make([]func(*rego.Rego), len(e.funcs))
	for i, f := range e.funcs {
		opts[i] = rego.FunctionDyn(f.declare(), func(bctx rego.BuiltinContext, args []*ast.Term) (*ast.Term, error) {
			return e.callMemo(bctx, f, args)
		})
	}
	return opts
}

// memoBuiltins are the memoized functions' builtins for a query evaluated
// by topdown itself: a memoized function's own, which may call another.
func (e *Engine) memoBuiltins() map[string]*topdown.Builtin {
	out := make(map[string]*topdown.Builtin, len(e.funcs))
	for _, f := range e.funcs {
		decl := f.declare()
		out[f.builtin] = &topdown.Builtin{
			Decl: &ast.Builtin{Name: decl.Name, Decl: decl.Decl},
			Func: func(bctx topdown.BuiltinContext, args []*ast.Term, iter func(*ast.Term) error) error {
				v, err := e.callMemo(bctx, f, args)
				if err != nil || v == nil {
					return err
				}
				return iter(v)
			},
		}
	}
	return out
}

// callMemoBuiltins is the compiler stage that points every call of a
// memoized function at its builtin. It runs once references are resolved,
// so a call names the function by its full reference however the rule
// wrote it. The function itself stays as written: the builtin's query
// calls it.
func (e *Engine) callMemoBuiltins(c *ast.Compiler) *ast.Error {
	if len(e.funcs) == 0 {
		return nil
	}
	to := make(map[string]*ast.Term, len(e.funcs))
	for _, f := range e.funcs {
		to[f.ref.String()] = ast.NewTerm(ast.MustParseRef(f.builtin))
	}
	redirect := func(op *ast.Term) *ast.Term {
		if r, isRef := op.Value.(ast.Ref); isRef && r.HasPrefix(ast.DefaultRootRef) {
			if t, ok := to[r.String()]; ok {
				return t
			}
		}
		return op
	}
	for _, m := range c.Modules {
		ast.WalkExprs(m, func(x *ast.Expr) bool {
			if terms, isCall := x.Terms.([]*ast.Term); isCall && len(terms) > 0 {
				terms[0] = redirect(terms[0])
			}
			return false
		})
		ast.WalkTerms(m, func(t *ast.Term) bool {
			if call, isCall := t.Value.(ast.Call); isCall && len(call) > 0 {
				call[0] = redirect(call[0])
			}
			return false
		})
	}
	return nil
}

// checkMemoFuncs compiles each memoized function's query and checks it
// reads nothing but its arguments.
func (e *Engine) checkMemoFuncs(a *analysis) error {
	for _, f := range e.funcs {
		rules := e.compiler.GetRules(f.ref)
		if len(rules) == 0 {
			return fmt.Errorf("%w: memoized function %s is not defined", ErrRuleSet, f.ref)
		}
		paths, ok := a.closureReads(rules)
		if !ok || len(paths) > 0 {
			return fmt.Errorf("%w: memoized function %s reads the input or calls a builtin whose result varies", ErrRuleSet, f.ref)
		}
		args := make([]string, f.arity)
		for i := range args {
			args[i] = fmt.Sprintf("input[%d]", i)
		}
		body, err := e.compiler.QueryCompiler().Compile(ast.MustParseBody(fmt.Sprintf("%s = %s(%s)", memoOut, f.ref, strings.Join(args, ", "))))
		if err != nil {
			return fmt.Errorf("%w: memoized function %s: %w", ErrRuleSet, f.ref, err)
		}
		f.body = body
	}
	return nil
}

// memoOut is the variable a memoized function's query binds.
const memoOut = "__atrest_memo_out__"

// emptyStore is the base document store of the functions' evaluations:
// the rules load none.
var emptyStore = sync.OnceValue(func() storage.Store { return inmem.New() })

// callMemo answers a call of f from the memo, or evaluates f on args and
// remembers its value. OPA passes a builtin the term its result goes to
// after the arguments, where the call has one: a variable of that call,
// which is no part of what f is called on.
func (e *Engine) callMemo(bctx rego.BuiltinContext, f *memoFunc, args []*ast.Term) (*ast.Term, error) {
	if len(args) < f.arity {
		return nil, fmt.Errorf("%s called with %d arguments, not %d", f.ref, len(args), f.arity)
	}
	args = args[:f.arity]
	if !e.fmemo.on() {
		return e.evalFunc(bctx, f, args)
	}
	key, ok := argsKey(f, args)
	if ok {
		if v, hit := e.fmemo.lookup(f, key); hit {
			return v, nil
		}
	}
	v, err := e.evalFunc(bctx, f, args)
	if err != nil {
		return nil, err
	}
	if ok {
		e.fmemo.store(f, key, v)
	}
	return v, nil
}

// evalFunc evaluates f on args: nil when f is undefined there.
func (e *Engine) evalFunc(bctx rego.BuiltinContext, f *memoFunc, args []*ast.Term) (*ast.Term, error) {
	ctx := bctx.Context
	if ctx == nil {
		ctx = context.Background()
	}
	store := emptyStore()
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, err
	}
	defer store.Abort(ctx, txn)
	q := topdown.NewQuery(f.body).
		WithCompiler(e.compiler).
		WithStore(store).
		WithTransaction(txn).
		WithInput(ast.ArrayTerm(args...)).
		WithBuiltins(e.builtins).
		WithStrictBuiltinErrors(true)
	if bctx.Cancel != nil {
		q = q.WithCancel(bctx.Cancel)
	}
	rs, err := q.Run(ctx)
	if err != nil {
		return nil, err
	}
	switch len(rs) {
	case 0:
		return nil, nil
	case 1:
		return rs[0][ast.Var(memoOut)], nil
	}
	return nil, fmt.Errorf("%s gave %d values", f.ref, len(rs))
}

// argsKey hashes f and the value text of its arguments; ok is false when
// an argument is not data.
func argsKey(f *memoFunc, args []*ast.Term) (sum [sha256.Size]byte, ok bool) {
	buf := textBuffers.Get().(*[]byte)
	defer textBuffers.Put(buf)
	text := append((*buf)[:0], f.builtin...)
	text = append(text, 0)
	for _, a := range args {
		if text, ok = appendValueText(text, a, nil); !ok {
			break
		}
	}
	*buf = text
	return sha256.Sum256(text), ok
}

// on reports whether the memo remembers anything.
func (m *funcMemo) on() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.max > 0
}

// lookup returns the remembered value for key.
func (m *funcMemo) lookup(f *memoFunc, key [sha256.Size]byte) (*ast.Term, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[f.builtin][key]
	if ok {
		m.hits++
	} else {
		m.misses++
	}
	return v, ok
}

// store remembers a value of f; once f has max values, they are
// forgotten.
func (m *funcMemo) store(f *memoFunc, key [sha256.Size]byte, v *ast.Term) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.max <= 0 {
		return
	}
	values := m.values[f.builtin]
	switch {
	case values == nil:
		values = map[[sha256.Size]byte]*ast.Term{}
		m.values[f.builtin] = values
	case len(values) >= m.max:
		clear(values)
	}
	values[key] = v
}
