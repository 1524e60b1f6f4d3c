package state

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/jsonwalk"
)

// A record's parameters are read into the types above by a walk over their
// JSON (walkParams) where it reads them plainly, and by json.Unmarshal
// otherwise: a CreateKey's key policy, a string of escaped JSON, is most of
// its parameters, and json.Unmarshal reads it twice, byte by byte, to check
// and then to decode it. The walk reads members as json.Unmarshal does:
// names in any case, null leaving a string as it is and a pointer or slice
// nil, `[]` as an empty slice. Whatever it does not read plainly (a member
// given twice, a key with an escape, a value of another type than the
// field's, a number that is no int) it leaves to json.Unmarshal, which
// decides and names what is wrong; members of other types (nested objects,
// maps, lists of objects) it hands to json.Unmarshal one by one.
// FuzzWalkParams holds it to json.Unmarshal.

// paramKind is how walkParams reads a field.
type paramKind int

const (
	kindOther paramKind = iota // by json.Unmarshal, the member alone
	kindString
	kindStringPtr
	kindBoolPtr
	kindIntPtr
	kindStrings
)

type paramField struct {
	index int
	kind  paramKind
}

// paramType is a struct type's fields by the lower-case form of their JSON
// names; walkable is false when encoding/json would match them otherwise
// (an embedded struct, a tag option, two names that differ only in case).
type paramType struct {
	fields   map[string]paramField
	walkable bool
}

var paramTypes sync.Map // reflect.Type -> *paramType

func paramTypeOf(t reflect.Type) *paramType {
	if pt, ok := paramTypes.Load(t); ok {
		return pt.(*paramType)
	}
	pt := &paramType{fields: map[string]paramField{}, walkable: t.NumField() <= 64}
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("json"), ",")
		if sf.Anonymous || opts != "" || name == "" || name == "-" {
			pt.walkable = false
			break
		}
		lower := strings.ToLower(name)
		if _, twice := pt.fields[lower]; twice {
			pt.walkable = false
			break
		}
		kind := kindOther
		switch ft := sf.Type; {
		case ft.Kind() == reflect.String:
			kind = kindString
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.String:
			kind = kindStringPtr
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Bool:
			kind = kindBoolPtr
		case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Int:
			kind = kindIntPtr
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			kind = kindStrings
		}
		pt.fields[lower] = paramField{index: i, kind: kind}
	}
	paramTypes.Store(t, pt)
	return pt
}

// walkParams reads the JSON object raw into *v, a struct, as json.Unmarshal
// would; ok is false when it leaves raw to json.Unmarshal, with *v then
// reset to its zero value. *v must be zero.
func walkParams(raw []byte, v any) bool {
	rv := reflect.ValueOf(v).Elem()
	pt := paramTypeOf(rv.Type())
	if !pt.walkable || !jsonwalk.Valid(raw) || !utf8.Valid(raw) {
		return false
	}
	w := &jsonwalk.Walk{B: raw}
	var seen uint64
	ok := w.Object(func(key []byte) bool {
		var buf [64]byte
		if len(key) > len(buf) {
			return w.Skip() // longer than every name
		}
		lower := buf[:len(key)]
		for i, c := range key {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			lower[i] = c
		}
		f, known := pt.fields[string(lower)]
		if !known {
			return w.Skip()
		}
		if seen&(1<<f.index) != 0 {
			return false
		}
		seen |= 1 << f.index
		return walkParam(w, rv.Field(f.index), f.kind)
	})
	if !ok || !w.End() {
		rv.SetZero()
		return false
	}
	return true
}

// walkParam reads the value next in w into the field fv.
func walkParam(w *jsonwalk.Walk, fv reflect.Value, kind paramKind) bool {
	if kind == kindOther {
		tok, ok := w.Value()
		return ok && json.Unmarshal(tok, fv.Addr().Interface()) == nil
	}
	if w.Null() {
		if kind != kindString {
			fv.SetZero()
		}
		return true
	}
	switch kind {
	case kindString:
		s, ok := w.Text()
		fv.SetString(s)
		return ok
	case kindStringPtr:
		s, ok := w.Text()
		fv.Set(reflect.ValueOf(&s))
		return ok
	case kindBoolPtr:
		tok, ok := w.Value()
		if !ok || string(tok) != "true" && string(tok) != "false" {
			return false
		}
		b := string(tok) == "true"
		fv.Set(reflect.ValueOf(&b))
		return true
	case kindIntPtr:
		tok, ok := w.Value()
		if !ok || tok[0] == '"' {
			return false
		}
		n, err := strconv.ParseInt(string(tok), 10, strconv.IntSize)
		if err != nil {
			return false
		}
		i := int(n)
		fv.Set(reflect.ValueOf(&i))
		return true
	default: // kindStrings
		list := []string{}
		ok := w.Array(func() bool {
			list = append(list, "")
			return w.Null() || walkString(w, &list[len(list)-1])
		})
		fv.Set(reflect.ValueOf(list))
		return ok
	}
}

// walkString reads a string into dst.
func walkString(w *jsonwalk.Walk, dst *string) bool {
	s, ok := w.Text()
	*dst = s
	return ok
}
