// Package logfilter evaluates Amazon CloudWatch Logs filter patterns on JSON
// log events, so that atrest can tell whether a subscription filter it relies
// on still passes the CloudTrail records it judges.
//
// It reads the empty pattern (every event passes) and JSON filter patterns:
// `{ SELECTOR OP VALUE }` with = and != on strings (quoted or bare, `*` a
// wildcard) and =, !=, <, <=, >, >= on numbers; `IS TRUE`, `IS FALSE`,
// `IS NULL`, `EXISTS`, `NOT EXISTS`; && and || with parentheses, && binding
// tighter. Selectors are `$.a.b` with optional `[n]` array indexes. A
// comparison on a field the event does not have does not match. Anything
// else (term and space-delimited patterns, regular expressions, `[*]`
// selectors) is an error: a pattern this package cannot read is never taken
// to pass an event.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/matching-terms-json-log-events.html
package logfilter

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnreadable marks a filter pattern this package cannot evaluate.
var ErrUnreadable = errors.New("filter pattern cannot be read")

// Filter is a parsed filter pattern.
type Filter struct {
	root node // nil: every event passes
}

// Parse parses a filter pattern.
func Parse(pattern string) (*Filter, error) {
	text := strings.TrimSpace(pattern)
	if text == "" {
		return &Filter{}, nil
	}
	if !strings.HasPrefix(text, "{") {
		return nil, fmt.Errorf("%w: only JSON filter patterns ({ $.field = value }) are read", ErrUnreadable)
	}
	p := &parser{src: text}
	if err := p.expect("{"); err != nil {
		return nil, err
	}
	root, err := p.or()
	if err != nil {
		return nil, err
	}
	if err := p.expect("}"); err != nil {
		return nil, err
	}
	p.space()
	if p.pos != len(p.src) {
		return nil, p.errorf("text after the closing brace")
	}
	return &Filter{root: root}, nil
}

// Match reports whether the filter passes a log event (decoded JSON).
func (f *Filter) Match(event any) bool {
	return f.root == nil || f.root.eval(event)
}

// MatchJSON decodes a log event message and matches it. A message that is
// not JSON never passes a JSON filter pattern.
func (f *Filter) MatchJSON(message []byte) bool {
	if f.root == nil {
		return true
	}
	var ev any
	if json.Unmarshal(message, &ev) != nil {
		return false
	}
	return f.root.eval(ev)
}

type node interface{ eval(ev any) bool }

type orNode struct{ l, r node }
type andNode struct{ l, r node }

func (n orNode) eval(ev any) bool  { return n.l.eval(ev) || n.r.eval(ev) }
func (n andNode) eval(ev any) bool { return n.l.eval(ev) && n.r.eval(ev) }

// step is one selector step: a key, or an array index.
type step struct {
	key   string
	index int // -1 for a key
}

type comparison struct {
	path []step
	op   string // = != < <= > >= IS EXISTS NOTEXISTS
	str  *string
	num  *float64
	is   string // TRUE FALSE NULL
}

func lookup(ev any, path []step) (any, bool) {
	cur := ev
	for _, s := range path {
		if s.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || s.index >= len(arr) {
				return nil, false
			}
			cur = arr[s.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[s.key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func (c comparison) eval(ev any) bool {
	v, present := lookup(ev, c.path)
	switch c.op {
	case "EXISTS":
		return present
	case "NOTEXISTS":
		return !present
	}
	if !present {
		return false
	}
	switch c.op {
	case "IS":
		switch c.is {
		case "TRUE":
			return v == true
		case "FALSE":
			return v == false
		default:
			return v == nil
		}
	}
	if c.num != nil {
		n, ok := v.(float64)
		if !ok {
			return false
		}
		switch c.op {
		case "=":
			return n == *c.num
		case "!=":
			return n != *c.num
		case "<":
			return n < *c.num
		case "<=":
			return n <= *c.num
		case ">":
			return n > *c.num
		default:
			return n >= *c.num
		}
	}
	s, ok := v.(string)
	if !ok {
		return false
	}
	m := wildcard(*c.str, s)
	if c.op == "=" {
		return m
	}
	return !m
}

// wildcard matches s against a value where * stands for any run of
// characters.
func wildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return s == pattern
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
	return strings.HasSuffix(s, last)
}

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: at offset %d: %s", ErrUnreadable, p.pos, fmt.Sprintf(format, args...))
}

func (p *parser) space() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *parser) peek(tok string) bool {
	p.space()
	return strings.HasPrefix(p.src[p.pos:], tok)
}

func (p *parser) expect(tok string) error {
	if !p.peek(tok) {
		if p.pos >= len(p.src) {
			return p.errorf("%q expected, the pattern ends", tok)
		}
		return p.errorf("%q expected", tok)
	}
	p.pos += len(tok)
	return nil
}

func (p *parser) or() (node, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peek("||") {
		p.pos += 2
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
	return l, nil
}

func (p *parser) and() (node, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for p.peek("&&") {
		p.pos += 2
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
	return l, nil
}

func (p *parser) unary() (node, error) {
	if p.peek("(") {
		p.pos++
		n, err := p.or()
		if err != nil {
			return nil, err
		}
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return n, nil
	}
	return p.comparison()
}

func (p *parser) comparison() (node, error) {
	path, err := p.selector()
	if err != nil {
		return nil, err
	}
	c := comparison{path: path}
	p.space()
	switch {
	case p.keyword("IS"):
		switch {
		case p.keyword("TRUE"):
			c.is = "TRUE"
		case p.keyword("FALSE"):
			c.is = "FALSE"
		case p.keyword("NULL"):
			c.is = "NULL"
		default:
			return nil, p.errorf("TRUE, FALSE or NULL expected after IS")
		}
		c.op = "IS"
		return c, nil
	case p.keyword("NOT"):
		if !p.keyword("EXISTS") {
			return nil, p.errorf("EXISTS expected after NOT")
		}
		c.op = "NOTEXISTS"
		return c, nil
	case p.keyword("EXISTS"):
		c.op = "EXISTS"
		return c, nil
	}
	for _, op := range []string{"!=", "<=", ">=", "=", "<", ">"} {
		if strings.HasPrefix(p.src[p.pos:], op) {
			c.op = op
			p.pos += len(op)
			break
		}
	}
	if c.op == "" {
		return nil, p.errorf("a comparison operator expected")
	}
	p.space()
	if err := p.value(&c); err != nil {
		return nil, err
	}
	return c, nil
}

// keyword consumes an upper-case keyword followed by a delimiter.
func (p *parser) keyword(kw string) bool {
	p.space()
	rest := p.src[p.pos:]
	if !strings.HasPrefix(rest, kw) {
		return false
	}
	if len(rest) > len(kw) && strings.IndexByte(" \t\r\n)}&|", rest[len(kw)]) < 0 {
		return false
	}
	p.pos += len(kw)
	return true
}

func (p *parser) selector() ([]step, error) {
	p.space()
	if !strings.HasPrefix(p.src[p.pos:], "$") {
		return nil, p.errorf("a selector ($.field) expected")
	}
	p.pos++
	var path []step
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '.':
			p.pos++
			start := p.pos
			for p.pos < len(p.src) && identByte(p.src[p.pos]) {
				p.pos++
			}
			if p.pos == start {
				return nil, p.errorf("a field name expected after '.'")
			}
			path = append(path, step{key: p.src[start:p.pos], index: -1})
		case '[':
			end := strings.IndexByte(p.src[p.pos:], ']')
			if end < 0 {
				return nil, p.errorf("']' expected")
			}
			n, err := strconv.Atoi(p.src[p.pos+1 : p.pos+end])
			if err != nil || n < 0 {
				return nil, p.errorf("array index %q is not read", p.src[p.pos+1:p.pos+end])
			}
			path = append(path, step{index: n})
			p.pos += end + 1
		default:
			if len(path) == 0 {
				return nil, p.errorf("a selector ($.field) expected")
			}
			return path, nil
		}
	}
	return path, nil
}

func identByte(b byte) bool {
	return b == '_' || b == '-' || b == '@' || b == ':' ||
		b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}

func (p *parser) value(c *comparison) error {
	if p.pos >= len(p.src) {
		return p.errorf("a value expected, the pattern ends")
	}
	switch ch := p.src[p.pos]; {
	case ch == '"':
		end := strings.IndexByte(p.src[p.pos+1:], '"')
		if end < 0 {
			return p.errorf("unterminated string")
		}
		s := p.src[p.pos+1 : p.pos+1+end]
		p.pos += end + 2
		return p.stringValue(c, s)
	case ch == '%':
		return p.errorf("regular expressions are not read")
	default:
		start := p.pos
		for p.pos < len(p.src) && strings.IndexByte(" \t\r\n)}&|", p.src[p.pos]) < 0 {
			p.pos++
		}
		word := p.src[start:p.pos]
		if word == "" {
			return p.errorf("a value expected")
		}
		if n, err := strconv.ParseFloat(word, 64); err == nil {
			c.num = &n
			return nil
		}
		return p.stringValue(c, word)
	}
}

func (p *parser) stringValue(c *comparison, s string) error {
	switch c.op {
	case "=", "!=":
		c.str = &s
		return nil
	}
	return p.errorf("%s needs a number", c.op)
}
