// Package policy evaluates atrest's Rego rules against one resource snapshot
// at a time. The rules in rules.FS are compiled and prepared once (New); each
// Evaluate hands one Input to the prepared query data.main.results and
// returns one Result per rule of the input's resource type. Everything a
// finding says about a rule (title, severity, remediation, controls) comes
// from the rule's METADATA annotations, read once into RuleMeta.
package policy

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/rules"
)

// Query is the one document the engine asks the rules for: a set of
// {"rule", "status", "reason"} objects.
const Query = "data.main.results"

// resultsRule is the name of the set every rule package defines.
const resultsRule = "results"

// Sentinel errors a caller can branch on with errors.Is.
var (
	// ErrEvaluation wraps every failure of Evaluate: a Rego error, a
	// cancelled context, or a result set that does not have exactly one
	// well-formed result for each rule of the input's resource type.
	ErrEvaluation = errors.New("policy evaluation failed")
	// ErrRuleSet wraps every failure of New: a rule that does not parse or
	// compile, or lacks required metadata.
	ErrRuleSet = errors.New("invalid rule set")
)

// validEventName reports whether s is written as a CloudTrail event name:
// an upper-case letter, then letters and digits.
func validEventName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// RequiresKeyVerification is the custom.requires of a rule judged from an
// envelope round trip through the key: without a key verifier its verdict
// says no round trip was performed.
const RequiresKeyVerification = "key_verification"

// Severities a rule may declare in custom.severity.
var severities = []string{"CRITICAL", "HIGH", "MEDIUM", "LOW"}

// RuleMeta is what a rule's METADATA annotations say about it.
type RuleMeta struct {
	// ID is custom.id, the rule's stable name in findings.
	ID string
	// Title is the annotation title.
	Title string
	// Description is the annotation description.
	Description string
	// Severity is custom.severity: CRITICAL, HIGH, MEDIUM or LOW.
	Severity string
	// ResourceType is custom.resource_type, the only type the rule judges.
	ResourceType string
	// Remediation is custom.remediation.
	Remediation string
	// RemediationAction is custom.remediation_action, the automated action
	// (internal/remediation) that remediates the rule, or "" when none does.
	RemediationAction string
	// Requires is custom.requires, a fact the rule judges that only a driver
	// that gathers it can give (RequiresKeyVerification), or "" when every
	// driver's input holds what the rule needs.
	Requires string
	// SettleAfter is custom.settle_after: the event names (creations) right
	// after which a NON_COMPLIANT verdict of the rule is expected to be
	// fixed by the next call of the same deployment, so it is held for the
	// settle window (config settle_seconds) before it is published.
	SettleAfter []string
	// Controls is custom.controls, the compliance controls the rule maps to.
	Controls []string
	// RelatedResources are the related_resources URLs (AWS documentation).
	RelatedResources []string
	// Triggers is custom.triggers: the event names whose records can change
	// the rule's verdict on a resource they touch. Empty means every record
	// can (the rule reads a fact that any evaluation may establish).
	Triggers []string
}

// Result is one rule's judgement of the input resource.
type Result struct {
	// Rule is the rule's ID.
	Rule string
	// Status is COMPLIANT, NON_COMPLIANT or NOT_APPLICABLE as the rule
	// decided, or ERROR when the rule could not be evaluated.
	Status finding.Status
	// Reason names the fact that decided the status (or the error).
	Reason string
}

// Engine evaluates the prepared rule set. It is safe for concurrent use.
type Engine struct {
	query  rego.PreparedEvalQuery
	rules  []RuleMeta          // sorted by ID
	byID   map[string]RuleMeta // ID -> meta
	byType map[string][]string // resource type -> sorted rule IDs
	pkg    map[string]string   // ID -> the rule's package path (data.atrest...)

	// triggered lists, per resource type and event name, the rules a record
	// of that name can change (RuleMeta.Triggers), sorted by ID.
	triggered map[string]map[string][]string
	// compiler holds the compiled rules; queries for a subset of the rules
	// are prepared against it, once each, on first use.
	compiler *ast.Compiler
	mu       sync.Mutex
	subsets  map[string]*rego.PreparedEvalQuery // joined rule IDs -> query
	// queryPaths are the paths of a narrowed input for Query, and
	// narrowings, by joined rule IDs, those for a subset (narrow.go); nil
	// where there is none. wholeInputs evaluates every rule on the whole
	// input instead (tests compare).
	queryPaths  []inputPath
	narrowings  map[string][]inputPath
	wholeInputs bool
	// readsEvent is set when a rule, or anything it depends on, refers to
	// input.event or to input as a whole (ruleReads).
	readsEvent bool
	// reads are the input paths each remembered rule reads; memo holds
	// the results by their hash (memo.go).
	reads map[string][]inputPath
	paths int // distinct paths in reads
	memo  *memo
	// funcs are the functions remembered by their arguments, and fmemo
	// holds their values (funcmemo.go). The compiled rules call builtins
	// that stand in for them; builtins are the same for a function's own
	// query.
	funcs    []*memoFunc
	fmemo    *funcMemo
	builtins map[string]*topdown.Builtin

	// compiled is closed once the fields above that compiling sets are
	// set (Start compiles on a goroutine of its own); compileErr is what
	// compiling gave. Every method that reads those fields waits for it.
	compiled   chan struct{}
	compileErr error
}

// Wait blocks until the rules are compiled and returns the error compiling
// them gave (wrapping ErrRuleSet when the rules do not compile). An engine
// from New is compiled already.
func (e *Engine) Wait() error {
	<-e.compiled
	return e.compileErr
}

// ReadsEvent reports whether any rule reads the triggering event
// (input.event); when none does, a resource's results depend on its
// snapshot alone and may be reused across records. It waits for the
// compilation, and is false when the rules did not compile.
func (e *Engine) ReadsEvent() bool { return e.Wait() == nil && e.readsEvent }

// RuleIDs returns the IDs of the rules of a resource type, sorted. The
// slice must not be changed.
func (e *Engine) RuleIDs(resourceType string) []string { return e.byType[resourceType] }

// New compiles the embedded rules (rules.FS, skipping _test.rego files) and
// prepares the query once. It fails when a rule lacks any of the metadata a
// finding needs.
//
// The embedded rules are fixed when the binary is built, and the tests
// (TestEmbeddedRulesPassEveryCheck) and `opa check --strict` check them with
// every compiler stage, so New leaves out the stages that only check
// (checkedStages): they would find nothing, and they are a third of what
// compiling costs at a cold start. Every stage that rewrites the rules or
// builds what evaluation reads still runs, so the prepared query is the
// same, except the rewrites of what the embedded rules do not use
// (unusedRewrites).
func New(ctx context.Context) (*Engine, error) {
	modules, err := embeddedModules()
	if err != nil {
		return nil, err
	}
	return compileEngine(ctx, modules, skippedStages, false)
}

// Start is New that returns once the rules' metadata is read, compiling
// them on a goroutine of its own: a caller with other work before its
// first evaluation (reading a log file) overlaps the two. The metadata
// (Rules, Meta, RuleIDs, Triggered) is there at once; evaluating waits for
// the compilation, and gives every rule an ERROR result carrying Wait's
// error when the rules did not compile.
func Start(ctx context.Context) (*Engine, error) {
	modules, err := embeddedModules()
	if err != nil {
		return nil, err
	}
	return startEngine(ctx, modules, skippedStages)
}

// startEngine reads the modules' metadata and compiles them on a goroutine
// of its own, leaving out the stages skip names.
func startEngine(ctx context.Context, modules []*ast.Module, skip []ast.StageID) (*Engine, error) {
	e, err := metaEngine(modules)
	if err != nil {
		return nil, err
	}
	go e.compile(ctx, modules, skip, false)
	return e, nil
}

// skippedStages are the stages New leaves out.
var skippedStages = slices.Concat(checkedStages, unusedRewrites)

// unusedRewrites are the compiler stages that rewrite only what the embedded
// rules do not use: print calls, rego.metadata calls, template strings,
// values replaced with `with`, test rules, and METADATA comments, which
// parseModules has read already. On the embedded rules they change nothing
// (TestSkippedStagesChangeNoModule compares every module compiled with and
// without them, and fails when a rule starts to use one), and they are ~7 %
// of compiling the rules (the compiler's stage timers).
var unusedRewrites = []ast.StageID{
	ast.StageRewritePrintCalls, ast.StageRewriteRegoMetadataCalls, ast.StageRewriteTemplateStrings,
	ast.StageRewriteWithValues, ast.StageRewriteTestRulesForTracing, ast.StageParseMetadataBlocks,
}

// checkedStages are the compiler stages that only report errors: they
// neither rewrite a module nor build anything evaluation reads. The type
// checker's environment is read by evaluation only for `with` replacing a
// function: the engine's queries use none, and neither do the embedded
// rules (TestSkippedChecksChangeNoResult would show one that did).
var checkedStages = []ast.StageID{
	ast.StageCheckUnusedImports, ast.StageCheckKeywordOverrides, ast.StageCheckDuplicateImports,
	ast.StageCheckVoidCalls, ast.StageCheckRuleConflicts, ast.StageCheckUndefinedFuncs,
	ast.StageCheckSafetyRuleHeads, ast.StageCheckRecursion, ast.StageCheckTypes,
	ast.StageCheckUnsafeBuiltins, ast.StageCheckDeprecatedBuiltins, ast.StageBuildRequiredCapabilities,
}

// embeddedModules are the embedded rules, parsed once per process: New and
// Metadata share them (the compiler works on copies).
var embeddedModules = sync.OnceValues(func() ([]*ast.Module, error) {
	return parseModules(rules.FS)
})

// newEngine builds an engine from any rule tree with every compiler stage;
// tests pass broken ones.
func newEngine(ctx context.Context, fsys fs.FS) (*Engine, error) {
	modules, err := parseModules(fsys)
	if err != nil {
		return nil, err
	}
	return compileEngine(ctx, modules, nil, false)
}

// compileEngine builds an engine from parsed modules, leaving out the
// compiler stages skip names. Plain leaves the calls of memoized functions
// as written: the rules evaluated as opa does, to compare with.
func compileEngine(ctx context.Context, modules []*ast.Module, skip []ast.StageID, plain bool) (*Engine, error) {
	e, err := metaEngine(modules)
	if err != nil {
		return nil, err
	}
	e.compile(ctx, modules, skip, plain)
	if err := e.Wait(); err != nil {
		return nil, err
	}
	return e, nil
}

// metaEngine builds an engine that knows the modules' rules by their
// metadata, not yet compiled.
func metaEngine(modules []*ast.Module) (*Engine, error) {
	metas, err := ruleMetas(modules)
	if err != nil {
		return nil, err
	}
	e := &Engine{rules: metas, byID: map[string]RuleMeta{}, byType: map[string][]string{},
		pkg: map[string]string{}, subsets: map[string]*rego.PreparedEvalQuery{},
		narrowings: map[string][]inputPath{},
		memo:       &memo{max: DefaultMemoSize, results: map[[sha256.Size]byte]Result{}},
		fmemo:      &funcMemo{max: DefaultFuncMemoSize, values: map[string]map[[sha256.Size]byte]*ast.Term{}},
		compiled:   make(chan struct{})}
	for _, meta := range metas { // sorted by ID, so byType's lists are too
		e.byID[meta.ID] = meta
		e.byType[meta.ResourceType] = append(e.byType[meta.ResourceType], meta.ID)
	}
	for _, m := range modules {
		if isRule(m) {
			meta, _ := ruleMeta(m)
			e.pkg[meta.ID] = m.Package.Path.String()
		}
	}
	e.triggered = triggerIndex(metas)
	return e, nil
}

// compile compiles the modules into the engine's prepared query, with the
// memo's read analysis, and closes e.compiled with compileErr set.
func (e *Engine) compile(ctx context.Context, modules []*ast.Module, skip []ast.StageID, plain bool) {
	defer close(e.compiled)
	opts := []func(*rego.Rego){
		rego.Query(Query),
		rego.StrictBuiltinErrors(true),
		rego.Strict(true),
		rego.CompilerHook(func(c *ast.Compiler) {
			e.compiler = c.WithSkipStages(skip...)
			if !plain {
				e.compiler.WithStageAfterID(ast.StageResolveRefs, ast.CompilerStageDefinition{
					Name: "atrest.memo_calls", MetricName: "compile_stage_atrest_memo_calls", Stage: e.callMemoBuiltins})
			}
		}),
	}
	for _, m := range modules {
		opts = append(opts, rego.ParsedModule(m))
	}
	var err error
	if e.funcs, err = memoFuncs(modules); err != nil {
		e.compileErr = err
		return
	}
	e.builtins = e.memoBuiltins()
	opts = append(opts, e.memoOptions()...)
	if e.query, err = rego.New(opts...).PrepareForEval(ctx); err != nil {
		e.compileErr = fmt.Errorf("%w: %w", ErrRuleSet, err)
		return
	}
	a := newAnalysis(e.compiler)
	if err := e.checkMemoFuncs(a); err != nil {
		e.compileErr = err
		return
	}
	e.reads, e.paths, e.readsEvent = ruleReads(a, e.pkg)
	if paths, ok := a.closureReads(e.compiler.GetRules(ast.MustParseRef(Query))); ok {
		e.queryPaths = narrowed([][]inputPath{paths})
	}
}

// embeddedMetadata is Metadata's result, read once.
var embeddedMetadata = sync.OnceValues(func() ([]RuleMeta, error) {
	modules, err := embeddedModules()
	if err != nil {
		return nil, err
	}
	return ruleMetas(modules)
})

// Metadata returns the metadata of every embedded rule, sorted by ID, as
// New reads it, without compiling the rules. The slice is the caller's.
func Metadata() ([]RuleMeta, error) {
	metas, err := embeddedMetadata()
	return slices.Clone(metas), err
}

// ruleMetas reads the metadata of every rule module, sorted by ID.
func ruleMetas(modules []*ast.Module) ([]RuleMeta, error) {
	var metas []RuleMeta
	seen := map[string]bool{}
	for _, m := range modules {
		if !isRule(m) {
			continue
		}
		meta, err := ruleMeta(m)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrRuleSet, m.Package.Location.File, err)
		}
		if seen[meta.ID] {
			return nil, fmt.Errorf("%w: %s: rule id %q used twice", ErrRuleSet, m.Package.Location.File, meta.ID)
		}
		seen[meta.ID] = true
		metas = append(metas, meta)
	}
	if len(metas) == 0 {
		return nil, fmt.Errorf("%w: no rules found", ErrRuleSet)
	}
	slices.SortFunc(metas, func(a, b RuleMeta) int { return cmp.Compare(a.ID, b.ID) })
	return metas, nil
}

// parseModules parses every non-test .rego file of fsys with its annotations,
// in the order fs.WalkDir visits them. The files are parsed at once, up to
// one per core, longest first (the IAM library is a third of the rules'
// text): at a cold start parsing is a quarter of the rules' preparation.
// The error returned is the first file's in that order, so it does not
// depend on which parse ends first.
func parseModules(fsys fs.FS) ([]*ast.Module, error) {
	type file struct {
		name, src string
		module    *ast.Module
		err       error
	}
	var files []*file
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(name) != ".rego" || strings.HasSuffix(name, "_test.rego") {
			return nil
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		files = append(files, &file{name: name, src: string(src)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrRuleSet, err)
	}
	queue := slices.Clone(files)
	slices.SortStableFunc(queue, func(a, b *file) int { return cmp.Compare(len(b.src), len(a.src)) })
	next := make(chan *file, len(queue))
	for _, f := range queue {
		next <- f
	}
	close(next)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(queue)) {
		wg.Go(func() {
			for f := range next {
				f.module, f.err = ast.ParseModuleWithOpts(f.name, f.src, ast.ParserOptions{
					ProcessAnnotation: true,
					RegoVersion:       ast.RegoV1,
				})
			}
		})
	}
	wg.Wait()
	modules := make([]*ast.Module, 0, len(files))
	for _, f := range files {
		if f.err != nil {
			return nil, fmt.Errorf("%w: %w", ErrRuleSet, f.err)
		}
		modules = append(modules, f.module)
	}
	return modules, nil
}

// isRule reports whether a module is a rule: it defines the results set and
// is not the entry point.
func isRule(m *ast.Module) bool {
	if m.Package.Path.String()+"."+resultsRule == Query {
		return false
	}
	for _, r := range m.Rules {
		if r.Head.Ref().Equal(ast.Ref{ast.VarTerm(resultsRule)}) {
			return true
		}
	}
	return false
}

// ruleMeta reads a rule's package METADATA annotation.
func ruleMeta(m *ast.Module) (RuleMeta, error) {
	var a *ast.Annotations
	for _, candidate := range m.Annotations {
		if candidate.Scope == "package" {
			a = candidate
		}
	}
	if a == nil {
		return RuleMeta{}, errors.New("no package METADATA annotation")
	}
	meta := RuleMeta{Title: a.Title, Description: a.Description}
	var problems []string
	text := func(key string) string {
		s, ok := a.Custom[key].(string)
		if !ok || strings.TrimSpace(s) == "" {
			problems = append(problems, "custom."+key+" must be a non-empty string")
		}
		return strings.TrimSpace(s)
	}
	meta.ID = text("id")
	meta.Severity = text("severity")
	meta.ResourceType = text("resource_type")
	meta.Remediation = text("remediation")
	if v, ok := a.Custom["remediation_action"]; ok {
		s, _ := v.(string)
		if !validAction(s) {
			problems = append(problems, fmt.Sprintf("custom.remediation_action %v must be a lower-case action name", v))
		}
		meta.RemediationAction = s
	}
	if v, ok := a.Custom["requires"]; ok {
		if s, _ := v.(string); s != RequiresKeyVerification {
			problems = append(problems, fmt.Sprintf("custom.requires %v: want %s", v, RequiresKeyVerification))
		}
		meta.Requires = RequiresKeyVerification
	}
	if v, ok := a.Custom["settle_after"]; ok {
		names, _ := v.([]any)
		for _, n := range names {
			if s, ok := n.(string); ok && validEventName(s) {
				meta.SettleAfter = append(meta.SettleAfter, s)
			}
		}
		if len(names) == 0 || len(meta.SettleAfter) != len(names) {
			problems = append(problems, fmt.Sprintf("custom.settle_after %v must be a list of event names", v))
		}
	}
	if meta.Title == "" {
		problems = append(problems, "title is missing")
	}
	if meta.Severity != "" && !slices.Contains(severities, meta.Severity) {
		problems = append(problems, fmt.Sprintf("custom.severity %q is not one of %v", meta.Severity, severities))
	}
	switch state.ResourceType(meta.ResourceType) {
	case state.TypeFileSystem, state.TypeKey, state.TypeMonitoringPath, "":
	default:
		problems = append(problems, fmt.Sprintf("custom.resource_type %q is not a resource type atrest models", meta.ResourceType))
	}
	controls, _ := a.Custom["controls"].([]any)
	for _, c := range controls {
		if s, ok := c.(string); ok && s != "" {
			meta.Controls = append(meta.Controls, s)
		}
	}
	if len(controls) == 0 || len(meta.Controls) != len(controls) {
		problems = append(problems, "custom.controls must be a non-empty list of strings")
	}
	if v, ok := a.Custom["triggers"]; ok {
		list, _ := v.([]any)
		for _, t := range list {
			s, ok := t.(string)
			if !ok || !cloudtrail.InterestingName(s) {
				problems = append(problems, fmt.Sprintf("custom.triggers: %v is not an event name of interest", t))
				continue
			}
			meta.Triggers = append(meta.Triggers, s)
		}
		if len(list) == 0 {
			problems = append(problems, "custom.triggers must be a non-empty list of event names")
		}
		slices.Sort(meta.Triggers)
	}
	for _, r := range a.RelatedResources {
		meta.RelatedResources = append(meta.RelatedResources, r.Ref.String())
	}
	if len(problems) > 0 {
		return RuleMeta{}, errors.New(strings.Join(problems, "; "))
	}
	return meta, nil
}

// validAction reports whether s is shaped like an action name:
// lower-case letters and underscores, as enable_key_rotation.
func validAction(s string) bool {
	return s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyz_") == ""
}

// Rules returns the metadata of every rule, sorted by ID.
func (e *Engine) Rules() []RuleMeta {
	return slices.Clone(e.rules)
}

// Meta returns the metadata of the rule with the given ID.
func (e *Engine) Meta(id string) (RuleMeta, bool) {
	m, ok := e.byID[id]
	return m, ok
}

// triggerIndex lists, per resource type and event name, the rules that a
// record of that name can change; a rule without triggers is listed under
// every name.
func triggerIndex(metas []RuleMeta) map[string]map[string][]string {
	names := map[string]bool{}
	for _, m := range metas {
		for _, t := range m.Triggers {
			names[t] = true
		}
	}
	for _, n := range cloudtrail.EventNames() {
		names[n] = true
	}
	idx := map[string]map[string][]string{}
	for _, m := range metas { // sorted by ID
		if idx[m.ResourceType] == nil {
			idx[m.ResourceType] = map[string][]string{}
		}
		for n := range names {
			if len(m.Triggers) == 0 || slices.Contains(m.Triggers, n) {
				idx[m.ResourceType][n] = append(idx[m.ResourceType][n], m.ID)
			}
		}
	}
	return idx
}

// Triggered returns the IDs of the rules of a resource type whose verdict a
// record named eventName can change, sorted; nil when none can. An event name
// no rule lists still triggers the rules that list no triggers.
func (e *Engine) Triggered(resourceType, eventName string) []string {
	byName := e.triggered[resourceType]
	if ids, ok := byName[eventName]; ok {
		return ids
	}
	var ids []string
	for _, id := range e.byType[resourceType] {
		if len(e.byID[id].Triggers) == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// EvaluateRules runs the named rules (all of in.ResourceType's type) against
// in, as Evaluate runs all of them: results sorted by rule ID, ERROR results
// and an error wrapping ErrEvaluation on failure. The query for each
// distinct set of rules is prepared once, on first use.
func (e *Engine) EvaluateRules(ctx context.Context, in *Input, ids []string) ([]Result, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil input", ErrEvaluation)
	}
	if len(ids) == 0 {
		return e.Evaluate(ctx, in)
	}
	for _, id := range ids {
		if m, ok := e.byID[id]; !ok || m.ResourceType != in.ResourceType {
			return nil, fmt.Errorf("%w: rule %q does not judge resource type %q", ErrEvaluation, id, in.ResourceType)
		}
	}
	return e.judge(ctx, in, ids)
}

// subset returns the prepared query for the union of the rules' results,
// prepared on first use. Every rule of a type is asked through Query, whose
// answer also shows a rule of another type that gave a result for this one.
func (e *Engine) subset(ctx context.Context, ids []string) (*rego.PreparedEvalQuery, error) {
	key := strings.Join(ids, ",")
	e.mu.Lock()
	defer e.mu.Unlock()
	if q, ok := e.subsets[key]; ok {
		return q, nil
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = e.pkg[id] + "." + resultsRule
	}
	query := strings.Join(parts, " | ")
	if len(ids) > 0 && slices.Equal(ids, e.byType[e.byID[ids[0]].ResourceType]) {
		query = Query
	}
	q, err := e.prepare(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare the query for rules %s: %w", key, err)
	}
	e.subsets[key] = q
	return q, nil
}

// prepare prepares a query against the compiled rules, which call the
// memoized functions' builtins.
func (e *Engine) prepare(ctx context.Context, query string) (*rego.PreparedEvalQuery, error) {
	opts := []func(*rego.Rego){
		rego.Compiler(e.compiler),
		rego.StrictBuiltinErrors(true),
		rego.Strict(true),
	}
	opts = append(opts, e.memoOptions()...)
	q, err := rego.New(append(opts, rego.Query(query))...).PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	return &q, nil
}

// Evaluate runs every rule of in.ResourceType against in and returns their
// results sorted by rule ID. When evaluation fails, or the rules return
// something malformed, the affected rules get an ERROR result carrying the
// error and Evaluate returns an error wrapping ErrEvaluation alongside them:
// a failure is never reported as compliant.
func (e *Engine) Evaluate(ctx context.Context, in *Input) ([]Result, error) {
	if in == nil {
		return nil, fmt.Errorf("%w: nil input", ErrEvaluation)
	}
	expected := e.byType[in.ResourceType]
	if len(expected) == 0 {
		return nil, fmt.Errorf("%w: no rules judge resource type %q", ErrEvaluation, in.ResourceType)
	}
	return e.judge(ctx, in, expected)
}

// judge answers each rule from the memo when it remembers the rule's result
// on what the rule reads of in, and evaluates the others in one query.
func (e *Engine) judge(ctx context.Context, in *Input, ids []string) ([]Result, error) {
	if err := e.Wait(); err != nil {
		return failAll(ids, err)
	}
	if in.Event != nil && !e.readsEvent {
		// No rule reads the triggering event: it is not converted.
		unread := *in
		unread.Event = nil
		in = &unread
	}
	in = withRelativePolicy(in)
	// The memo is asked what each rule reads of the input, built path by
	// path (inputView); the rules it does not answer are evaluated on an
	// input holding what they read (narrow.go), or on the whole value
	// where that is not known. An input whose whole value could fail to
	// build is built whole first.
	var (
		value  ast.Value
		source valueSource
		err    error
	)
	if viewable(in) {
		view := newInputView(in)
		defer view.release()
		source = view.at
	} else {
		if value, err = inputValue(in); err != nil {
			return failAll(ids, fmt.Errorf("convert input for %s: %w", in.Resource, err))
		}
		source = sourceOf(value)
	}
	// OPA notices cancellation asynchronously; check first so a request
	// that is already over never yields results.
	if err := ctx.Err(); err != nil {
		return failAll(ids, fmt.Errorf("evaluate %s: %w", in.Resource, err))
	}
	// A policy parsed from a text is identified by the text's hash instead
	// of its value's: the value need not be written out.
	docs := docsOf(in)
	texts := newPathTexts(e.paths)
	defer texts.release()
	keys := make(map[string][sha256.Size]byte, len(ids))
	out := make([]Result, 0, len(ids))
	var missing []string
	remember := e.memo.on()
	for _, id := range ids {
		if !remember {
			missing = append(missing, id)
			continue
		}
		if key, ok := e.readsKey(id, source, docs, texts); ok {
			keys[id] = key
			if r, hit := e.memo.lookup(key); hit {
				out = append(out, r)
				continue
			}
		}
		missing = append(missing, id)
	}
	byRule := func(a, b Result) int { return cmp.Compare(a.Rule, b.Rule) }
	if len(missing) == 0 {
		slices.SortFunc(out, byRule)
		return out, nil
	}
	query, paths := &e.query, e.queryPaths
	if !slices.Equal(missing, e.byType[in.ResourceType]) {
		if query, err = e.subset(ctx, missing); err != nil {
			return failAll(ids, err)
		}
		paths, _ = e.narrowedPaths(missing)
	}
	if value == nil && paths != nil && !e.wholeInputs {
		// Only what the rules asked read (narrow.go).
		value, _ = narrowedValue(source, paths)
	}
	if value == nil {
		if value, err = inputValue(in); err != nil {
			return failAll(ids, fmt.Errorf("convert input for %s: %w", in.Resource, err))
		}
	}
	results, err := e.eval(ctx, query, value, in, missing)
	e.memo.store(keys, results, len(missing))
	out = append(out, results...)
	slices.SortFunc(out, byRule)
	return out, err
}

// eval runs a prepared query against in's value and checks its answer
// against the expected rules.
func (e *Engine) eval(ctx context.Context, query *rego.PreparedEvalQuery, value ast.Value, in *Input, expected []string) ([]Result, error) {
	// One evaluation needs neither metrics nor the goroutine OPA starts
	// to watch ctx: a no-op metrics sink and a callback registered on ctx
	// do the same work without allocating maps or a goroutine per input.
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	rs, err := query.Eval(ctx,
		rego.EvalParsedInput(value),
		rego.EvalMetrics(metrics.NoOp()),
		rego.EvalExternalCancel(cancel),
	)
	stop()
	if err != nil {
		return failAll(expected, fmt.Errorf("evaluate %s: %w", in.Resource, err))
	}
	return e.collect(rs, in, expected)
}

// failAll gives every expected rule an ERROR result carrying err.
func failAll(expected []string, err error) ([]Result, error) {
	err = fmt.Errorf("%w: %w", ErrEvaluation, err)
	out := make([]Result, len(expected))
	for i, id := range expected {
		out[i] = Result{Rule: id, Status: finding.Error, Reason: err.Error()}
	}
	return out, err
}

// collect checks the query's answer: exactly one well-formed result for each
// rule of the input's type and nothing else.
func (e *Engine) collect(rs rego.ResultSet, in *Input, expected []string) ([]Result, error) {
	if len(rs) != 1 || len(rs[0].Expressions) != 1 {
		return failAll(expected, fmt.Errorf("evaluate %s: %s is undefined", in.Resource, Query))
	}
	items, ok := rs[0].Expressions[0].Value.([]any)
	if !ok {
		return failAll(expected, fmt.Errorf("evaluate %s: %s is %T, not a set", in.Resource, Query, rs[0].Expressions[0].Value))
	}
	got := map[string]Result{}
	failed := map[string]string{} // rule ID -> problem
	for _, item := range items {
		obj, _ := item.(map[string]any)
		id, _ := obj["rule"].(string)
		meta, known := e.byID[id]
		if !known {
			// A result that names no known rule cannot be attributed, so
			// no result of this evaluation can be trusted.
			return failAll(expected, fmt.Errorf("evaluate %s: result %v names no known rule", in.Resource, item))
		}
		status, _ := obj["status"].(string)
		reason, _ := obj["reason"].(string)
		switch {
		case meta.ResourceType != in.ResourceType:
			failed[id] = fmt.Sprintf("rule for %s gave a result for a %s", meta.ResourceType, in.ResourceType)
		case len(obj) != 3:
			failed[id] = fmt.Sprintf("malformed result %v", item)
		case status == string(finding.Error) || !finding.Status(status).Valid():
			failed[id] = fmt.Sprintf("unknown status %q", status)
		case reason == "":
			failed[id] = "result has no reason"
		default:
			if _, dup := got[id]; dup {
				failed[id] = "more than one result"
			}
			got[id] = Result{Rule: id, Status: finding.Status(status), Reason: reason}
		}
	}
	for _, id := range expected {
		if _, ok := got[id]; !ok {
			if _, ok := failed[id]; !ok {
				failed[id] = "no result"
			}
		}
	}
	out := make([]Result, 0, len(expected)+len(failed))
	var errs []error
	for _, id := range expected {
		if _, bad := failed[id]; !bad {
			out = append(out, got[id])
		}
	}
	for id, problem := range failed {
		err := fmt.Errorf("%w: evaluate %s: rule %s: %s", ErrEvaluation, in.Resource, id, problem)
		errs = append(errs, err)
		out = append(out, Result{Rule: id, Status: finding.Error, Reason: err.Error()})
	}
	slices.SortFunc(out, func(a, b Result) int { return cmp.Compare(a.Rule, b.Rule) })
	slices.SortFunc(errs, func(a, b error) int { return cmp.Compare(a.Error(), b.Error()) })
	return out, errors.Join(errs...)
}
