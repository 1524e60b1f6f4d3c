package policy

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/atrest/atrest/rules"
)

// The rule input schema has three forms that must agree: the Go types in
// input.go, the converter in value.go and the jsonc blocks of the rules
// READMEs. The tests here derive every key path from the types by reflection
// and check the converter and the READMEs against them, so a field added to
// one form only fails a test.

var timeType = reflect.TypeOf(time.Time{})

// schemaDocs are the README blocks that document the input, and the heading
// their jsonc block follows. A block may hold a whole object or, in a rule
// package's README, the members it adds to the top-level object.
var schemaDocs = []struct {
	path, heading string
}{
	{"../../rules/README.md", "## Input schema"},
	{"../../rules/cloudtrail/README.md", "## Input (added to the schema in ../README.md)"},
}

// jsonName is the key encoding/json writes for f, "" when it skips f.
func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	switch name {
	case "-":
		return ""
	case "":
		return f.Name
	}
	return name
}

// schemaPaths lists every key path of t's JSON form: "a.b" for a member of
// an object, "a[].b" for a member of the objects in an array. A path whose
// value is a time, a scalar or any document is a leaf.
func schemaPaths(t reflect.Type, prefix string, out map[string]reflect.Type) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return
	case t.Kind() == reflect.Slice:
		schemaPaths(t.Elem(), prefix+"[]", out)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			name := jsonName(f)
			if name == "" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			out[path] = f.Type
			schemaPaths(f.Type, path, out)
		}
	}
}

// populate sets every field reachable from v to a non-zero value: strings to
// s, numbers to n, booleans and *bool to true, one element in every slice, a
// small document in every any. It fails on a kind it cannot fill, so a new
// field of a new kind cannot go unpopulated.
func populate(t *testing.T, v reflect.Value, s string, n int, path string) {
	t.Helper()
	if v.Type() == timeType {
		v.Set(reflect.ValueOf(time.Date(2025, 3, 4, 10, 15, 30, 0, time.UTC)))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(n))
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		populate(t, p.Elem(), s, n, path)
		v.Set(p)
	case reflect.Slice:
		l := reflect.MakeSlice(v.Type(), 1, 1)
		populate(t, l.Index(0), s, n, path+"[]")
		v.Set(l)
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			populate(t, v.Field(i), s, n, path+"."+f.Name)
		}
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"Statement": []any{map[string]any{"Sid": s}}}))
	default:
		t.Fatalf("%s: populate cannot fill a %s; teach it the kind", path, v.Kind())
	}
}

// populatedInput is an Input with every field set (strings to s).
func populatedInput(t *testing.T, s string) *Input {
	t.Helper()
	in := &Input{}
	populate(t, reflect.ValueOf(in).Elem(), s, 7, "Input")
	return in
}

// documentPaths lists the key paths of a decoded JSON document the way
// schemaPaths lists them for a type. Below a key the types know as a leaf
// (a policy document, a scalar) nothing is listed.
func documentPaths(doc any, prefix string, types map[string]reflect.Type, out map[string]any) {
	switch d := doc.(type) {
	case []any:
		for _, e := range d {
			documentPaths(e, prefix+"[]", types, out)
		}
	case map[string]any:
		for k, e := range d {
			path := k
			if prefix != "" {
				path = prefix + "." + k
			}
			out[path] = e
			if t, ok := types[path]; ok && !isLeaf(t) {
				documentPaths(e, path, types, out)
			}
		}
	}
}

func isLeaf(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	for t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t == timeType || t.Kind() != reflect.Struct
}

// valueFits reports whether a README example value can be the JSON form of
// a field of type t: null only where encoding/json writes null.
func valueFits(t reflect.Type, v any) bool {
	if v == nil {
		k := t.Kind()
		return k == reflect.Pointer || k == reflect.Slice || k == reflect.Interface
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339Nano, s)
		return err == nil || s == ""
	}
	switch t.Kind() {
	case reflect.String:
		_, ok := v.(string)
		return ok
	case reflect.Bool:
		_, ok := v.(bool)
		return ok
	case reflect.Int, reflect.Int64, reflect.Int32:
		_, ok := v.(float64)
		return ok
	case reflect.Slice:
		_, ok := v.([]any)
		return ok
	case reflect.Struct:
		_, ok := v.(map[string]any)
		return ok
	case reflect.Interface:
		return true
	}
	return false
}

// jsoncBlock returns the first ```jsonc block after heading in the markdown
// text md.
func jsoncBlock(md, heading string) (string, error) {
	lines := strings.Split(md, "\n")
	at := slices.Index(lines, heading)
	if at < 0 {
		return "", fmt.Errorf("no heading %q", heading)
	}
	start := -1
	for i := at + 1; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case start < 0 && strings.HasPrefix(line, "## "):
			return "", fmt.Errorf("no jsonc block under %q", heading)
		case start < 0 && line == "```jsonc":
			start = i + 1
		case start >= 0 && line == "```":
			return strings.Join(lines[start:i], "\n"), nil
		}
	}
	return "", fmt.Errorf("jsonc block under %q is not closed", heading)
}

// jsoncToJSON turns a README jsonc block into JSON: // comments go, bare
// ... placeholders (as in [...] or {...}) go, and a block that lists
// members without braces gets them.
func jsoncToJSON(src string) string {
	var b strings.Builder
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case inString:
			b.WriteByte(c)
			if c == '\\' && i+1 < len(src) {
				i++
				b.WriteByte(src[i])
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
			b.WriteByte(c)
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case strings.HasPrefix(src[i:], "..."):
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	out := strings.TrimSpace(b.String())
	if !strings.HasPrefix(out, "{") {
		out = "{" + out + "}"
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func TestSchemaPathsSeeEveryKind(t *testing.T) {
	types := map[string]reflect.Type{}
	schemaPaths(reflect.TypeOf(Input{}), "", types)
	tests := []struct {
		name, path string
		present    bool
	}{
		{name: "top-level member", path: "resource_type", present: true},
		{name: "member behind a pointer", path: "file_system.kms_key_arn", present: true},
		{name: "member of objects in a slice", path: "key.grants[].operations", present: true},
		{name: "two levels of pointers", path: "key.primary.rotation_period_days", present: true},
		{name: "config member", path: "config.watched_subscription_filters", present: true},
		{name: "config field json skips", path: "config.monitored_regions", present: false},
		{name: "inside a time", path: "event.event_time.wall", present: false},
		{name: "inside a policy document", path: "key.policy.Statement", present: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := types[tc.path]; ok != tc.present {
				t.Errorf("path %q listed = %v, want %v", tc.path, ok, tc.present)
			}
		})
	}
}

// TestInputValueCoversEveryField checks the converter against the JSON form
// for an input with every field set, so a field the converter does not
// write (or writes under another key) fails here.
func TestInputValueCoversEveryField(t *testing.T) {
	tests := []struct {
		name, s string
	}{
		{name: "plain strings", s: "x"},
		{name: "invalid UTF-8 strings", s: "a\xffb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := populatedInput(t, tc.s)
			got, err := inputValue(in)
			if err != nil {
				t.Fatalf("inputValue: %v", err)
			}
			want := jsonFormValue(t, in)
			if got.Compare(want) != 0 || got.String() != want.String() {
				t.Errorf("inputValue differs from the JSON form in %v:\n got %s\nwant %s", differingPaths(t, got, want), got, want)
			}
			// Every path of the types is in the JSON form with no null on
			// the way: the populated input left nothing out.
			data, err := json.Marshal(in)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var doc any
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatalf("unmarshal: %v", err)
			}
			types := map[string]reflect.Type{}
			schemaPaths(reflect.TypeOf(Input{}), "", types)
			seen := map[string]any{}
			documentPaths(doc, "", types, seen)
			for _, p := range sortedKeys(types) {
				if v, ok := seen[p]; !ok || v == nil {
					t.Errorf("%s: not set in the populated input (value %v)", p, v)
				}
			}
		})
	}
}

// TestREADMESchemaMatchesTypes checks the jsonc blocks of the rules READMEs
// against the types: every key they show exists, with a value of the
// field's JSON type, and every key path of the types is shown in one of
// them.
func TestREADMESchemaMatchesTypes(t *testing.T) {
	types := map[string]reflect.Type{}
	schemaPaths(reflect.TypeOf(Input{}), "", types)
	shown := map[string]string{}
	for _, d := range schemaDocs {
		t.Run(d.path, func(t *testing.T) {
			md, err := os.ReadFile(d.path)
			if err != nil {
				t.Fatal(err)
			}
			block, err := jsoncBlock(string(md), d.heading)
			if err != nil {
				t.Fatalf("%s: %v", d.path, err)
			}
			var doc any
			if err := json.Unmarshal([]byte(jsoncToJSON(block)), &doc); err != nil {
				t.Fatalf("%s: jsonc block under %q does not parse: %v", d.path, d.heading, err)
			}
			paths := map[string]any{}
			documentPaths(doc, "", types, paths)
			for _, p := range sortedKeys(paths) {
				ft, ok := types[p]
				switch {
				case !ok:
					t.Errorf("%s: key %q is no field of policy.Input", d.path, p)
				case !valueFits(ft, paths[p]):
					t.Errorf("%s: key %q shows %#v, not a JSON %s", d.path, p, paths[p], ft)
				}
				shown[p] = d.path
			}
		})
	}
	for _, p := range sortedKeys(types) {
		if _, ok := shown[p]; !ok {
			t.Errorf("key %q of policy.Input is in no README input schema", p)
		}
	}
}

// differingPaths names the key paths where the values got and want differ,
// for a readable failure.
func differingPaths(t *testing.T, got, want ast.Value) []string {
	t.Helper()
	types := map[string]reflect.Type{}
	schemaPaths(reflect.TypeOf(Input{}), "", types)
	paths := func(v ast.Value) map[string]string {
		doc, err := ast.JSON(v)
		if err != nil {
			t.Fatalf("ast.JSON: %v", err)
		}
		out := map[string]any{}
		documentPaths(doc, "", types, out)
		s := make(map[string]string, len(out))
		for k, e := range out {
			s[k] = fmt.Sprint(e)
		}
		return s
	}
	g, w := paths(got), paths(want)
	var diff []string
	for _, k := range sortedKeys(w) {
		if gv, ok := g[k]; !ok || gv != w[k] {
			diff = append(diff, k)
		}
	}
	for _, k := range sortedKeys(g) {
		if _, ok := w[k]; !ok {
			diff = append(diff, k)
		}
	}
	return diff
}

func TestJSONCToJSON(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{name: "comment after a member", in: `{"a": 1, // one` + "\n" + `"b": 2}`, want: `{"a":1,"b":2}`},
		{name: "slashes inside a string stay", in: `{"u": "s3://b/k"} // c`, want: `{"u":"s3://b/k"}`},
		{name: "placeholder array and object", in: `{"p": {"S": [...]}, "q": {...}}`, want: `{"p":{"S":[]},"q":{}}`},
		{name: "placeholder string stays", in: `{"arn": "..."}`, want: `{"arn":"..."}`},
		{name: "escaped quote in a string", in: `{"a": "x\"//y"}`, want: `{"a":"x\"//y"}`},
		{name: "members without braces", in: `"a": 1, // c` + "\n" + `"b": {}`, want: `{"a":1,"b":{}}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc any
			if err := json.Unmarshal([]byte(jsoncToJSON(tc.in)), &doc); err != nil {
				t.Fatalf("jsoncToJSON(%q) = %q does not parse: %v", tc.in, jsoncToJSON(tc.in), err)
			}
			got, _ := json.Marshal(doc)
			var want any
			if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
				t.Fatal(err)
			}
			wantJSON, _ := json.Marshal(want)
			if string(got) != string(wantJSON) {
				t.Errorf("got %s, want %s", got, wantJSON)
			}
		})
	}
}

// inputRefPath is the schema path a rule's reference into input reads, as far
// as its terms are constants: a string term names a member, any other term
// indexes a slice ("[]") or, on an object, ends the path (a computed key).
// ok is false when the path leaves the types.
func inputRefPath(ref ast.Ref, types map[string]reflect.Type) (path string, ok bool) {
	var t reflect.Type = reflect.TypeOf(Input{})
	for _, term := range ref[1:] {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == timeType || t.Kind() == reflect.Interface {
			return path, true // inside a leaf document: anything goes
		}
		var next string
		s, isString := term.Value.(ast.String)
		switch {
		case t.Kind() == reflect.Slice:
			next = path + "[]"
		case isString && path == "":
			next = string(s)
		case isString:
			next = path + "." + string(s)
		default:
			return path, true // a computed member name
		}
		ft, known := types[next]
		if !known {
			return next, false
		}
		if t.Kind() == reflect.Slice {
			ft = t.Elem()
		}
		path, t = next, ft
	}
	return path, true
}

// TestRulesReadOnlyInputKeys checks every reference to input in the rules
// (tests left out) against the types: a rule reading a key the input does
// not have gets undefined forever, which no error would show.
func TestRulesReadOnlyInputKeys(t *testing.T) {
	types := map[string]reflect.Type{}
	schemaPaths(reflect.TypeOf(Input{}), "", types)
	// Slices' element paths, for references that index them.
	for p, ft := range types {
		if ft.Kind() == reflect.Slice {
			types[p+"[]"] = ft.Elem()
		}
	}
	var files []string
	err := fs.WalkDir(rules.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego") {
			files = append(files, p)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("no rules: %v", err)
	}
	refs := 0
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			src, err := fs.ReadFile(rules.FS, f)
			if err != nil {
				t.Fatal(err)
			}
			m, err := ast.ParseModuleWithOpts(f, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1})
			if err != nil {
				t.Fatal(err)
			}
			ast.WalkRefs(m, func(r ast.Ref) bool {
				if !r.HasPrefix(ast.InputRootRef) || len(r) < 2 {
					return false
				}
				refs++
				if p, ok := inputRefPath(r, types); !ok {
					t.Errorf("%s:%d: %s reads %q, no key of policy.Input", f, r[0].Location.Row, r, p)
				}
				return false
			})
		})
	}
	if refs == 0 {
		t.Error("no reference to input found in the rules; the test checks nothing")
	}
}

func TestInputRefPath(t *testing.T) {
	types := map[string]reflect.Type{}
	schemaPaths(reflect.TypeOf(Input{}), "", types)
	for p, ft := range types {
		if ft.Kind() == reflect.Slice {
			types[p+"[]"] = ft.Elem()
		}
	}
	tests := []struct {
		name, ref, path string
		ok              bool
	}{
		{name: "member", ref: "input.key.key_state", path: "key.key_state", ok: true},
		{name: "member of a slice element", ref: "input.key.grants[_].operations[i]", path: "key.grants[].operations[]", ok: true},
		{name: "computed member", ref: "input.verification[name]", path: "verification", ok: true},
		{name: "inside a policy document", ref: "input.key.policy.Statement[_].Effect", path: "key.policy", ok: true},
		{name: "misspelt member", ref: "input.key.key_status", path: "key.key_status", ok: false},
		{name: "member of a scalar", ref: "input.resource.arn", path: "resource.arn", ok: false},
		{name: "config field json skips", ref: "input.config.monitored_regions", path: "config.monitored_regions", ok: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := ast.ParseRef(tc.ref)
			if err != nil {
				t.Fatal(err)
			}
			path, ok := inputRefPath(ref, types)
			if path != tc.path || ok != tc.ok {
				t.Errorf("inputRefPath(%s) = %q, %v; want %q, %v", tc.ref, path, ok, tc.path, tc.ok)
			}
		})
	}
}

func TestJSONCBlock(t *testing.T) {
	tests := []struct {
		name, md, want, err string
	}{
		{name: "block under the heading", md: "# r\n## Input\n\ntext\n```jsonc\n{\"a\": 1}\n```\n## Next\n", want: "{\"a\": 1}"},
		{name: "first block only", md: "## Input\n```jsonc\n{}\n```\n```jsonc\n{\"b\": 2}\n```\n", want: "{}"},
		{name: "no heading", md: "## Other\n```jsonc\n{}\n```\n", err: `no heading "## Input"`},
		{name: "block under the next heading", md: "## Input\ntext\n## Next\n```jsonc\n{}\n```\n", err: `no jsonc block under "## Input"`},
		{name: "block not closed", md: "## Input\n```jsonc\n{}\n", err: `jsonc block under "## Input" is not closed`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jsoncBlock(tc.md, "## Input")
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("jsoncBlock error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("jsoncBlock = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
