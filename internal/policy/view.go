package policy

import (
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/internal/config"
)

// An inputView gives the value at an input path that inputValue's whole
// value holds there, building that value alone, with the functions
// inputValue builds it with. Asking the memo reads a few values of an
// input (a key's spec, a file system's encryption), and most rules are
// answered from it: the whole value, a Rego object of objects, is built
// only for the rules evaluated.
//
// It walks the Input by its fields' json names, the names inputValue gives
// them (TestInputValueMatchesJSONForm): a nil pointer holds null, and
// nothing below it; an array, a string or a number holds nothing below it
// either; a policy document's value is its Rego value, read as valueAt
// reads the whole value.
type inputView struct {
	in    reflect.Value // the Input
	built []viewed      // values built so far, by path
}

// viewed is the value built for one path.
type viewed struct {
	keys []string
	term *ast.Term
	ok   bool
}

// viewable reports whether the view of in holds what inputValue(in) holds
// at every path, and inputValue(in) is built without error: true when in's
// policies are nil or Documents (their values built already) and in has no
// event, the other values inputValue may refuse. Otherwise the whole value
// is built first, so that its error is never missed.
func viewable(in *Input) bool {
	policyOK := func(p any) bool {
		_, isDoc := p.(*Document)
		return p == nil || isDoc
	}
	return in.Event == nil &&
		(in.Key == nil || policyOK(in.Key.Policy)) &&
		(in.FileSystem == nil || policyOK(in.FileSystem.Policy) &&
			(in.FileSystem.PolicyRelative == nil || policyOK(in.FileSystem.PolicyRelative.Policy)))
}

// newInputView is a view of in; release returns it for reuse.
func newInputView(in *Input) *inputView {
	v := inputViews.Get().(*inputView)
	v.in = reflect.ValueOf(in).Elem()
	return v
}

// release returns v for reuse; v is not used after. The values it gave
// are the caller's.
func (v *inputView) release() {
	clear(v.built)
	v.in, v.built = reflect.Value{}, v.built[:0]
	inputViews.Put(v)
}

var inputViews = sync.Pool{New: func() any { return new(inputView) }}

// at is the value at p, nil where the input holds none; ok is false for a
// value the view does not build (the caller then reads the whole value).
func (v *inputView) at(p inputPath) (t *ast.Term, ok bool) {
	for _, b := range v.built {
		if slices.Equal(b.keys, p.keys) {
			return b.term, b.ok
		}
	}
	t, ok = viewAt(v.in, p)
	v.built = append(v.built, viewed{p.keys, t, ok})
	return t, ok
}

// viewAt walks x along p's keys and builds the value it ends at.
func viewAt(x reflect.Value, p inputPath) (*ast.Term, bool) {
	for i, k := range p.keys {
		if x.Kind() == reflect.Pointer {
			if x.IsNil() {
				return nil, true // null holds nothing
			}
			x = x.Elem()
		}
		switch x.Kind() {
		case reflect.Struct:
			if x.Type() == viewTimeType {
				return nil, true // a string
			}
			f, found := jsonFields(x.Type())[k]
			if !found {
				return nil, true
			}
			x = x.Field(f)
		case reflect.Interface:
			// A policy: its value is read the way valueAt reads it.
			t, ok := viewTerm(x)
			if !ok || t == nil {
				return nil, ok
			}
			return valueAt(t.Value, inputPath{terms: p.terms[i:]}), true
		default:
			return nil, true // a scalar or an array holds no key
		}
	}
	return viewTerm(x)
}

var viewTimeType = reflect.TypeFor[time.Time]()

// viewTerm builds x's value as inputValue does.
func viewTerm(x reflect.Value) (*ast.Term, bool) {
	switch x.Kind() {
	case reflect.String:
		return stringTerm(x.String()), true
	case reflect.Bool:
		return ast.InternedTerm(x.Bool()), true
	case reflect.Int:
		return ast.InternedTerm(int(x.Int())), true
	case reflect.Interface:
		if x.IsNil() {
			return ast.InternedNullTerm, true
		}
		d, isDoc := x.Interface().(*Document)
		if !isDoc {
			return nil, false // built, and checked, with the whole value
		}
		return d.term, true
	case reflect.Pointer, reflect.Slice:
		if x.IsNil() {
			return ast.InternedNullTerm, true
		}
	}
	switch v := x.Interface().(type) {
	case *bool:
		return boolPtrTerm(v), true
	case []string:
		return stringsTerm(v), true
	case *FileSystemInput:
		t, err := fileSystemTerm(v)
		return t, err == nil
	case *KeyInput:
		t, err := keyTerm(v)
		return t, err == nil
	case []FileSystemRef:
		return fileSystemsTerm(v), true
	case []GrantInput:
		return grantsTerm(v), true
	case *PrimaryKeyInput:
		return primaryTerm(v), true
	case *RelativePolicy:
		t, err := relativePolicyTerm(v)
		return t, err == nil
	case *TrailInput:
		return trailTerm(v), true
	case *WatchedInput:
		return watchedTerm(v), true
	case []RetargetInput:
		return retargetedTerm(v), true
	case []DroppedInput:
		return droppedTerm(v), true
	case *VerificationInput:
		return verificationTerm(v), true
	case config.Config:
		return configTerm(v), true
	}
	return nil, false // an event, or a type inputValue does not hold
}

// jsonFieldsOf caches, per struct type, the index of each field by the
// name encoding/json gives it.
var jsonFieldsOf sync.Map // reflect.Type → map[string]int

func jsonFields(t reflect.Type) map[string]int {
	if m, ok := jsonFieldsOf.Load(t); ok {
		return m.(map[string]int)
	}
	m := map[string]int{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		m[name] = i
	}
	jsonFieldsOf.Store(t, m)
	return m
}
