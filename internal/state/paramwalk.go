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
// decides and names what is wrong. Nested objects and lists of them are
// walked alike; members of other types (maps) it hands to json.Unmarshal
// one by one.
// FuzzWalkParams holds it to json.Unmarshal.

// paramKind is how walkParams reads a field.
type paramKind int

const (
	kindOther paramKind = iota // any other type: by json.Unmarshal, the member alone
	kindString
	kindStringPtr
	kindBoolPtr
	kindIntPtr
	kindStrings
	kindStruct    // a struct, walked as the parameters are
	kindStructPtr // a pointer to one
	kindStructs   // a list of them
)

// paramType is a struct type's fields by the lower-case form of their JSON
// names, and how each is read; walkable is false when encoding/json would
// match them otherwise (an embedded struct, a tag option, two names that
// differ only in case).
type paramType struct {
	fields   map[string]int
	kinds    []paramKind // by field index
	walkable bool
}

var paramTypes sync.Map // reflect.Type -> *paramType

func paramTypeOf(t reflect.Type) *paramType {
	if pt, ok := paramTypes.Load(t); ok {
		return pt.(*paramType)
	}
	pt := &paramType{fields: map[string]int{}, kinds: make([]paramKind, t.NumField()), walkable: t.NumField() <= 64}
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
		switch sf.Type {
		case reflect.TypeFor[string]():
			kind = kindString
		case reflect.TypeFor[*string]():
			kind = kindStringPtr
		case reflect.TypeFor[*bool]():
			kind = kindBoolPtr
		case reflect.TypeFor[*int]():
			kind = kindIntPtr
		case reflect.TypeFor[[]string]():
			kind = kindStrings
		default:
			switch ft := sf.Type; {
			case ft.Kind() == reflect.Struct:
				kind = kindStruct
			case ft.Kind() == reflect.Pointer && ft.Elem().Kind() == reflect.Struct:
				kind = kindStructPtr
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				kind = kindStructs
			}
		}
		pt.fields[lower], pt.kinds[i] = i, kind
	}
	paramTypes.Store(t, pt)
	return pt
}

// walkParams reads the JSON object raw into *v, a struct, as json.Unmarshal
// would; ok is false when it leaves raw to json.Unmarshal, with *v then
// reset to its zero value. *v must be zero.
func walkParams(raw []byte, v any) bool {
	rv := reflect.ValueOf(v).Elem()
	if !jsonwalk.Valid(raw) || !utf8.Valid(raw) {
		return false
	}
	w := &jsonwalk.Walk{B: raw}
	if !walkStruct(w, rv) || !w.End() {
		rv.SetZero()
		return false
	}
	return true
}

// walkStruct reads the object next in w into the struct sv.
func walkStruct(w *jsonwalk.Walk, sv reflect.Value) bool {
	pt := paramTypeOf(sv.Type())
	return pt.walkable && w.Members(pt.fields, func(f int) bool {
		return walkParam(w, sv.Field(f), pt.kinds[f])
	})
}

// walkParam reads the value next in w into the field fv.
func walkParam(w *jsonwalk.Walk, fv reflect.Value, kind paramKind) bool {
	if kind == kindOther {
		tok, ok := w.Value()
		return ok && json.Unmarshal(tok, fv.Addr().Interface()) == nil
	}
	if w.Null() {
		if kind != kindString && kind != kindStruct {
			fv.SetZero()
		}
		return true
	}
	switch kind {
	case kindString:
		return w.StringInto(fv.Addr().Interface().(*string))
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
		if !ok {
			return false
		}
		n, err := strconv.ParseInt(string(tok), 10, strconv.IntSize)
		if err != nil {
			return false
		}
		i := int(n)
		fv.Set(reflect.ValueOf(&i))
		return true
	case kindStrings:
		return w.StringsInto(fv.Addr().Interface().(*[]string))
	case kindStruct:
		return walkStruct(w, fv)
	case kindStructPtr:
		p := reflect.New(fv.Type().Elem())
		fv.Set(p)
		return walkStruct(w, p.Elem())
	default: // kindStructs
		list := reflect.MakeSlice(fv.Type(), 0, 1)
		ok := w.Array(func() bool {
			list = reflect.Append(list, reflect.Zero(fv.Type().Elem()))
			return w.Null() || walkStruct(w, list.Index(list.Len()-1))
		})
		fv.Set(list)
		return ok
	}
}
