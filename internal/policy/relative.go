package policy

import (
	"crypto/sha256"

	"github.com/open-policy-agent/opa/v1/ast"
)

// RelativePolicy is a file system's policy in the form iam.relative
// (rules/lib/iam.rego) gives it for the resource judged: with the resource
// left out where the policy's decisions do not depend on which resource it
// is. Resource is "*" when no statement names a resource other than "*";
// ThisResource, with the resource replaced by ThisResource in every
// Resource and NotResource, when every resource a statement names is "*"
// or the resource itself (a policy written from a template, as the EFS
// console writes them); the resource, with the policy as it is, otherwise.
// Every request decides the same against the pair as against the policy
// and the resource.
//
// The engine sets it on every file system it judges, from the file
// system's policy and the input's resource, replacing any value given:
// the in-transit rule reads the pair and not the resource, so that one
// remembered verdict serves every file system whose policy was written
// from one template, and the file system's policy text is read for
// nothing but its shape. TestRelativeFollowsRego holds it to iam.relative.
type RelativePolicy struct {
	Policy   any    `json:"policy"`
	Resource string `json:"resource"`
}

// ThisResource stands in for the resource a policy is attached to, as
// iam.this_resource does.
const ThisResource = "arn:atrest:this:::resource"

// relativeMemo is a Document's relative form for one resource: a
// pipeline keeps one Document per policy text, and a policy written from
// a template names its one file system.
type relativeMemo struct {
	resource string
	out      *RelativePolicy // shared, never changed
}

// AsJudged is in as the engine judges it: with its file system's
// PolicyRelative set (withRelativePolicy). An input handed to OPA without
// the engine, as a JSON document, must be this one.
func AsJudged(in *Input) *Input { return withRelativePolicy(in) }

// withRelativePolicy returns in with its file system's PolicyRelative
// set, on copies of in and its file system; in itself when it judges no
// file system. A policy whose Rego value cannot be built is left without
// one: building the input then fails and says why.
func withRelativePolicy(in *Input) *Input {
	fs := in.FileSystem
	if fs == nil {
		return in
	}
	var rel *RelativePolicy
	if fs.Policy != nil {
		doc, isDoc := fs.Policy.(*Document)
		if !isDoc {
			var err error
			if doc, err = NewDocument(fs.Policy); err != nil {
				doc = nil
			}
		}
		if doc != nil {
			rel = doc.relative(in.Resource)
		}
	}
	if fs.PolicyRelative == rel {
		return in
	}
	copied, fsCopy := *in, *fs
	fsCopy.PolicyRelative = rel
	copied.FileSystem = &fsCopy
	return &copied
}

// relative is iam.relative's pair for d and resource, remembered for the
// last resource asked.
func (d *Document) relative(resource string) *RelativePolicy {
	if m := d.rel.Load(); m != nil && m.resource == resource {
		return m.out
	}
	out := &RelativePolicy{Policy: d, Resource: resource}
	switch named := namedResources(d.term); {
	case len(named) == 0:
		out.Resource = "*"
	case namesOnly(named, resource):
		t := relativeTerm(d.term, resource)
		rd := &Document{term: t}
		text, _ := appendValueText([]byte("policy document value\x00"), t, nil)
		rd.sum, rd.summed = sha256.Sum256(text), true
		out = &RelativePolicy{Policy: rd, Resource: ThisResource}
	}
	d.rel.Store(&relativeMemo{resource: resource, out: out})
	return out
}

// statementTerms lists a policy's statements as iam.statements does:
// Statement's elements when it is an array, Statement itself when it is
// another value but null, none when it is null or absent.
func statementTerms(policy *ast.Term) []*ast.Term {
	obj, ok := policy.Value.(ast.Object)
	if !ok {
		return nil
	}
	s := obj.Get(ast.InternedTerm("Statement"))
	if s == nil {
		return nil
	}
	if _, isNull := s.Value.(ast.Null); isNull {
		return nil
	}
	return asList(s)
}

// resourceElements are the statement elements that name resources.
var resourceElements = [...]*ast.Term{ast.InternedTerm("Resource"), ast.InternedTerm("NotResource")}

// namedResources lists, as iam.named_resources does, every value other
// than "*" of a Resource or NotResource of a statement that is an object,
// an array's elements one by one.
func namedResources(policy *ast.Term) []*ast.Term {
	var named []*ast.Term
	star := ast.String("*")
	for _, s := range statementTerms(policy) {
		obj, ok := s.Value.(ast.Object)
		if !ok {
			continue
		}
		for _, element := range resourceElements {
			v := obj.Get(element)
			if v == nil {
				continue
			}
			for _, p := range asList(v) {
				if !star.Equal(p.Value) {
					named = append(named, p)
				}
			}
		}
	}
	return named
}

// asList is iam.as_list: an array's elements, or the value alone.
func asList(v *ast.Term) []*ast.Term {
	a, ok := v.Value.(*ast.Array)
	if !ok {
		return []*ast.Term{v}
	}
	out := make([]*ast.Term, a.Len())
	for i := range out {
		out[i] = a.Elem(i)
	}
	return out
}

// namesOnly holds when every named value is the string resource.
func namesOnly(named []*ast.Term, resource string) bool {
	r := ast.String(resource)
	for _, p := range named {
		if !r.Equal(p.Value) {
			return false
		}
	}
	return true
}

// relativeTerm is the policy with Statement a list of its statements, in
// each of which every Resource and NotResource value that is the resource
// is ThisResource (iam.relative_statement).
func relativeTerm(policy *ast.Term, resource string) *ast.Term {
	r := ast.String(resource)
	this := ast.StringTerm(ThisResource)
	replace := func(v *ast.Term) *ast.Term {
		if r.Equal(v.Value) {
			return this
		}
		return v
	}
	statements := statementTerms(policy)
	rewritten := make([]*ast.Term, len(statements))
	for i, s := range statements {
		obj, ok := s.Value.(ast.Object)
		if !ok {
			rewritten[i] = s
			continue
		}
		out := ast.NewObject()
		obj.Foreach(func(k, v *ast.Term) {
			if k.Equal(resourceElements[0]) || k.Equal(resourceElements[1]) {
				if a, isArray := v.Value.(*ast.Array); isArray {
					elems := make([]*ast.Term, a.Len())
					for j := range elems {
						elems[j] = replace(a.Elem(j))
					}
					v = ast.ArrayTerm(elems...)
				} else {
					v = replace(v)
				}
			}
			out.Insert(k, v)
		})
		rewritten[i] = ast.NewTerm(out)
	}
	out := ast.NewObject()
	policy.Value.(ast.Object).Foreach(func(k, v *ast.Term) {
		if k.Equal(ast.InternedTerm("Statement")) {
			v = ast.ArrayTerm(rewritten...)
		}
		out.Insert(k, v)
	})
	return ast.NewTerm(out)
}
