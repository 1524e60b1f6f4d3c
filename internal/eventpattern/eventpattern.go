// Package eventpattern matches events against Amazon EventBridge event
// patterns, so that atrest can tell whether a rule it relies on still
// matches the CloudTrail events it judges.
//
// It implements the documented matching semantics: every key of a pattern
// object must match; a list holds alternatives; an event array matches when
// any element does; exact values (strings, numbers, booleans, null) and the
// operators prefix, suffix, equals-ignore-case, wildcard, anything-but (a
// value, a list, or a prefix, suffix, equals-ignore-case or wildcard), numeric,
// exists and cidr, and $or. A pattern using anything else is an error: a
// pattern this package cannot read is never taken to match.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
package eventpattern

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrUnreadable marks a pattern that is not valid JSON or uses a construct
// this package does not implement.
var ErrUnreadable = errors.New("event pattern cannot be read")

// Pattern is a parsed event pattern.
type Pattern struct {
	root map[string]any
}

// Parse parses and checks an event pattern (a JSON object). Every construct
// is checked up front, so Match never meets one it cannot evaluate.
func Parse(text string) (*Pattern, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrUnreadable, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: text after the pattern object", ErrUnreadable)
	}
	obj, ok := root.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JSON object", ErrUnreadable)
	}
	if err := check(obj, ""); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return &Pattern{root: obj}, nil
}

// FromValue checks a pattern already decoded (from JSON or YAML) into maps,
// lists and scalars.
func FromValue(root map[string]any) (*Pattern, error) {
	if err := check(root, ""); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return &Pattern{root: root}, nil
}

// Match reports whether event (decoded JSON: maps, slices, float64, string,
// bool, nil) matches the pattern.
func (p *Pattern) Match(event map[string]any) bool {
	return matchObject(p.root, event)
}

// MatchJSON decodes an event and matches it.
func (p *Pattern) MatchJSON(event []byte) (bool, error) {
	var ev map[string]any
	if err := json.NewDecoder(bytes.NewReader(event)).Decode(&ev); err != nil {
		return false, fmt.Errorf("event: %w", err)
	}
	return p.Match(ev), nil
}

func check(obj map[string]any, path string) error {
	if len(obj) == 0 {
		return fmt.Errorf("%s: empty object", where(path))
	}
	for key, v := range obj {
		p := path + "." + key
		if key == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return fmt.Errorf("%s: $or takes a list of at least two patterns", where(p))
			}
			for i, a := range alts {
				o, ok := a.(map[string]any)
				if !ok {
					return fmt.Errorf("%s[%d]: not an object", where(p), i)
				}
				if err := check(o, path); err != nil {
					return err
				}
			}
			continue
		}
		switch w := v.(type) {
		case map[string]any:
			if err := check(w, p); err != nil {
				return err
			}
		case []any:
			if len(w) == 0 {
				return fmt.Errorf("%s: empty list", where(p))
			}
			for _, alt := range w {
				if op, ok := alt.(map[string]any); ok {
					if err := checkOperator(op, p); err != nil {
						return err
					}
					continue
				}
				if !scalar(alt) {
					return fmt.Errorf("%s: a list inside a list", where(p))
				}
			}
		default:
			return fmt.Errorf("%s: %s is neither an object nor a list", where(p), describe(v))
		}
	}
	return nil
}

func where(path string) string {
	if path == "" {
		return "pattern"
	}
	return strings.TrimPrefix(path, ".")
}

func describe(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func scalar(v any) bool {
	switch v.(type) {
	case string, float64, bool, nil, int, int64, json.Number:
		return true
	}
	return false
}

func checkOperator(op map[string]any, path string) error {
	if len(op) != 1 {
		return fmt.Errorf("%s: operator object %s must have one key", where(path), describe(op))
	}
	for name, arg := range op {
		switch name {
		case "exists":
			if _, ok := arg.(bool); !ok {
				return fmt.Errorf("%s: exists takes true or false", where(path))
			}
		case "prefix", "suffix":
			if _, ok := arg.(string); ok {
				return nil
			}
			if m, ok := arg.(map[string]any); ok && len(m) == 1 {
				if _, ok := m["equals-ignore-case"].(string); ok {
					return nil
				}
			}
			return fmt.Errorf("%s: %s takes a string", where(path), name)
		case "equals-ignore-case", "wildcard":
			if _, ok := arg.(string); !ok {
				return fmt.Errorf("%s: %s takes a string", where(path), name)
			}
		case "anything-but":
			switch a := arg.(type) {
			case []any:
				for _, x := range a {
					if !scalar(x) {
						return fmt.Errorf("%s: anything-but takes a list of values", where(path))
					}
				}
			case map[string]any:
				if len(a) != 1 {
					return fmt.Errorf("%s: anything-but object must have one key", where(path))
				}
				for k, v := range a {
					switch k {
					case "prefix", "suffix":
						if _, ok := v.(string); !ok {
							return fmt.Errorf("%s: anything-but %s takes a string", where(path), k)
						}
					case "equals-ignore-case", "wildcard":
						if !stringOrStrings(v) {
							return fmt.Errorf("%s: anything-but %s takes a string or a list of strings", where(path), k)
						}
					default:
						return fmt.Errorf("%s: anything-but %q is not supported", where(path), k)
					}
				}
			default:
				if !scalar(a) {
					return fmt.Errorf("%s: anything-but takes a value", where(path))
				}
			}
		case "numeric":
			if _, err := numericBounds(arg); err != nil {
				return fmt.Errorf("%s: %v", where(path), err)
			}
		case "cidr":
			s, ok := arg.(string)
			if !ok {
				return fmt.Errorf("%s: cidr takes a string", where(path))
			}
			if _, err := netip.ParsePrefix(s); err != nil {
				return fmt.Errorf("%s: cidr %q: %v", where(path), s, err)
			}
		default:
			return fmt.Errorf("%s: operator %q is not supported", where(path), name)
		}
	}
	return nil
}

func stringOrStrings(v any) bool {
	if _, ok := v.(string); ok {
		return true
	}
	l, ok := v.([]any)
	if !ok || len(l) == 0 {
		return false
	}
	for _, x := range l {
		if _, ok := x.(string); !ok {
			return false
		}
	}
	return true
}

type bound struct {
	op string
	n  float64
}

func numericBounds(arg any) ([]bound, error) {
	l, ok := arg.([]any)
	if !ok || len(l) == 0 || len(l)%2 != 0 || len(l) > 4 {
		return nil, errors.New("numeric takes one or two [operator, number] pairs")
	}
	var out []bound
	for i := 0; i < len(l); i += 2 {
		op, ok := l[i].(string)
		if !ok {
			return nil, errors.New("numeric: operator is not a string")
		}
		switch op {
		case "<", "<=", "=", ">", ">=":
		default:
			return nil, fmt.Errorf("numeric: operator %q is not supported", op)
		}
		n, ok := number(l[i+1])
		if !ok {
			return nil, fmt.Errorf("numeric: %v is not a number", l[i+1])
		}
		out = append(out, bound{op, n})
	}
	return out, nil
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func matchObject(pattern, event map[string]any) bool {
	for key, want := range pattern {
		if key == "$or" {
			matched := false
			for _, alt := range want.([]any) {
				if matchObject(alt.(map[string]any), event) {
					matched = true
					break
				}
			}
			if !matched {
				return false
			}
			continue
		}
		got, present := event[key]
		switch w := want.(type) {
		case map[string]any:
			if !matchNested(w, got) {
				return false
			}
		case []any:
			if !matchList(w, got, present) {
				return false
			}
		}
	}
	return true
}

// matchNested matches a nested pattern against an object, or against any
// object of an array of objects.
func matchNested(pattern map[string]any, got any) bool {
	switch g := got.(type) {
	case map[string]any:
		return matchObject(pattern, g)
	case []any:
		for _, e := range g {
			if o, ok := e.(map[string]any); ok && matchObject(pattern, o) {
				return true
			}
		}
	}
	return false
}

func matchList(alternatives []any, got any, present bool) bool {
	values := []any{got}
	if arr, ok := got.([]any); ok {
		values = arr
	}
	for _, alt := range alternatives {
		if op, ok := alt.(map[string]any); ok {
			if matchOperator(op, values, present) {
				return true
			}
			continue
		}
		if !present {
			continue
		}
		for _, v := range values {
			if equal(alt, v) {
				return true
			}
		}
	}
	return false
}

func matchOperator(op map[string]any, values []any, present bool) bool {
	for name, arg := range op {
		if name == "exists" {
			return present == arg.(bool)
		}
		if !present {
			return false
		}
		for _, v := range values {
			if matchValue(name, arg, v) {
				return true
			}
		}
	}
	return false
}

func matchValue(name string, arg, v any) bool {
	switch name {
	case "prefix", "suffix":
		s, ok := v.(string)
		if !ok {
			return false
		}
		p, fold := affix(arg)
		if fold {
			s, p = strings.ToLower(s), strings.ToLower(p)
		}
		if name == "prefix" {
			return strings.HasPrefix(s, p)
		}
		return strings.HasSuffix(s, p)
	case "equals-ignore-case":
		s, ok := v.(string)
		return ok && strings.EqualFold(s, arg.(string))
	case "wildcard":
		s, ok := v.(string)
		return ok && wildcard(arg.(string), s)
	case "anything-but":
		return !excluded(arg, v)
	case "numeric":
		n, ok := number(v)
		if !ok {
			return false
		}
		bounds, _ := numericBounds(arg)
		for _, b := range bounds {
			if !compare(n, b) {
				return false
			}
		}
		return true
	case "cidr":
		s, ok := v.(string)
		if !ok {
			return false
		}
		addr, err := netip.ParseAddr(s)
		prefix, _ := netip.ParsePrefix(arg.(string))
		return err == nil && prefix.Contains(addr)
	}
	return false
}

func affix(arg any) (string, bool) {
	if s, ok := arg.(string); ok {
		return s, false
	}
	return arg.(map[string]any)["equals-ignore-case"].(string), true
}

func compare(n float64, b bound) bool {
	switch b.op {
	case "<":
		return n < b.n
	case "<=":
		return n <= b.n
	case "=":
		return n == b.n
	case ">":
		return n > b.n
	default:
		return n >= b.n
	}
}

// excluded reports whether anything-but's argument excludes v.
func excluded(arg, v any) bool {
	switch a := arg.(type) {
	case []any:
		for _, x := range a {
			if equal(x, v) {
				return true
			}
		}
		return false
	case map[string]any:
		s, ok := v.(string)
		if !ok {
			return false
		}
		for k, x := range a {
			switch k {
			case "prefix":
				return strings.HasPrefix(s, x.(string))
			case "suffix":
				return strings.HasSuffix(s, x.(string))
			case "equals-ignore-case":
				for _, p := range strs(x) {
					if strings.EqualFold(s, p) {
						return true
					}
				}
			case "wildcard":
				for _, p := range strs(x) {
					if wildcard(p, s) {
						return true
					}
				}
			}
		}
		return false
	default:
		return equal(a, v)
	}
}

func strs(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// equal compares a pattern value with an event value: strings with strings,
// numbers numerically, booleans and null by identity.
func equal(p, v any) bool {
	if pn, ok := number(p); ok {
		vn, ok := number(v)
		return ok && pn == vn
	}
	switch pv := p.(type) {
	case string:
		s, ok := v.(string)
		return ok && s == pv
	case bool:
		b, ok := v.(bool)
		return ok && b == pv
	case nil:
		return v == nil
	}
	return false
}

// wildcard matches s against a pattern where * stands for any run of
// characters and \* for a literal star.
func wildcard(pattern, s string) bool {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(pattern); i++ {
		switch {
		case pattern[i] == '\\' && i+1 < len(pattern) && (pattern[i+1] == '*' || pattern[i+1] == '\\'):
			cur.WriteByte(pattern[i+1])
			i++
		case pattern[i] == '*':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(pattern[i])
		}
	}
	parts = append(parts, cur.String())
	return globMatch(parts, s)
}

// globMatch matches s against literal parts separated by stars.
func globMatch(parts []string, s string) bool {
	if len(parts) == 1 {
		return s == parts[0]
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return len(s) >= len(last) && strings.HasSuffix(s, last)
}
