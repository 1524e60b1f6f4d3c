package lambdafn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/remediation"
	"github.com/atrest/atrest/internal/state"
)

const repoRoot = "../.."

// template is template.yaml as plain values, CloudFormation short tags
// (!Ref, !Sub, !GetAtt, ...) turned into their long forms.
type template map[string]any

func loadTemplate(t *testing.T) template {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	v, err := nodeValue(doc.Content[0])
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return v.(map[string]any)
}

// nodeValue converts a YAML node, mapping CloudFormation tags to their
// intrinsic-function objects.
func nodeValue(n *yaml.Node) (any, error) {
	var v any
	switch n.Kind {
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			val, err := nodeValue(n.Content[i+1])
			if err != nil {
				return nil, err
			}
			m[n.Content[i].Value] = val
		}
		v = m
	case yaml.SequenceNode:
		l := []any{}
		for _, c := range n.Content {
			val, err := nodeValue(c)
			if err != nil {
				return nil, err
			}
			l = append(l, val)
		}
		v = l
	case yaml.ScalarNode:
		v = n.Value
		switch n.Tag {
		case "!!int":
			i, _ := strconv.Atoi(n.Value)
			v = i
		case "!!bool":
			// A boolean stays one in a Json-typed property such as an
			// event pattern's {"exists": false}.
			v = n.Value == "true"
		}
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not CloudFormation", n.Line)
	}
	if !strings.HasPrefix(n.Tag, "!") || strings.HasPrefix(n.Tag, "!!") {
		return v, nil
	}
	name := strings.TrimPrefix(n.Tag, "!")
	switch name {
	case "Ref", "Condition":
		return map[string]any{name: v}, nil
	case "GetAtt":
		if s, ok := v.(string); ok {
			v = strings.SplitN(s, ".", 2)
		}
	}
	return map[string]any{"Fn::" + name: v}, nil
}

func (tp template) resources() map[string]any { return tp["Resources"].(map[string]any) }

// functions returns the template's functions by their name under
// functions/ (the suffix of FunctionName).
func (tp template) functions(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		props := res["Properties"].(map[string]any)
		sub, _ := props["FunctionName"].(map[string]any)["Fn::Sub"].(string)
		name, ok := strings.CutPrefix(sub, "${AWS::StackName}-")
		if !ok {
			t.Fatalf("%s: FunctionName %v is not ${AWS::StackName}-<name>", id, props["FunctionName"])
		}
		if res["Metadata"].(map[string]any)["BuildMethod"] != "makefile" {
			t.Errorf("%s: BuildMethod is not makefile", id)
		}
		out[name] = props
	}
	return out
}

func TestTemplateFunctionsMatchFolders(t *testing.T) {
	tp := loadTemplate(t)
	var got []string
	for name := range tp.functions(t) {
		got = append(got, name)
	}
	dirs, err := os.ReadDir(filepath.Join(repoRoot, "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range dirs {
		want = append(want, d.Name())
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("template functions %v, functions/ %v", got, want)
	}
	// Every function has a build target in sam/build.mk.
	mk, err := os.ReadFile(filepath.Join(repoRoot, "sam", "build.mk"))
	if err != nil {
		t.Fatal(err)
	}
	for id, r := range tp.resources() {
		if r.(map[string]any)["Type"] == "AWS::Serverless::Function" && !strings.Contains(string(mk), "\nbuild-"+id+":\n") {
			t.Errorf("sam/build.mk has no build-%s target", id)
		}
	}
}

// statementActions collects the actions of policy statements, taking both
// branches of an Fn::If (a statement granted under a condition is still one
// the code may need).
func statementActions(t *testing.T, v any, into map[string]bool) {
	t.Helper()
	switch s := v.(type) {
	case []any:
		for _, e := range s {
			statementActions(t, e, into)
		}
	case map[string]any:
		if c, ok := s["Fn::If"].([]any); ok {
			statementActions(t, c[1], into)
			statementActions(t, c[2], into)
			return
		}
		if s["Ref"] == "AWS::NoValue" {
			return
		}
		if s["Effect"] == "Deny" {
			return // a guard, not a grant (TestTemplateRemediateKeepsIntendedDisablesDisabled)
		}
		if s["Effect"] != "Allow" {
			t.Errorf("statement %v is neither an Allow nor a Deny", s)
		}
		switch a := s["Action"].(type) {
		case string:
			into[a] = true
		case []any:
			for _, x := range a {
				into[x.(string)] = true
			}
		default:
			t.Errorf("statement %v has no Action", s)
		}
	}
}

// lambdaServicePolicies are the managed policies that serve what Lambda
// itself does with a function's role rather than what the code calls: the
// data key for the encrypted dead-letter and event source queues
// (TestTemplateDataKeyEncryptsEveryStore checks it).
var lambdaServicePolicies = map[string]bool{"DataKeyQueuePolicy": true}

// allowedOnStar are the actions IAM cannot scope to a resource.
var allowedOnStar = map[string]bool{
	"kms:ListAliases": true, "kms:ListKeys": true, "elasticfilesystem:DescribeFileSystems": true,
	"cloudtrail:DescribeTrails": true, "cloudtrail:ListPublicKeys": true,
}

func TestTemplatePermissionsAreWhatTheCodeCalls(t *testing.T) {
	tp := loadTemplate(t)
	for name, props := range tp.functions(t) {
		t.Run(name, func(t *testing.T) {
			if _, ok := props["Role"]; ok {
				t.Fatal("a function's role is generated from its Policies; no shared Role")
			}
			got := map[string]bool{}
			for _, p := range flatten(props["Policies"]) {
				doc := p.(map[string]any)
				if doc["Ref"] == "AWS::NoValue" {
					continue
				}
				if ref, ok := doc["Ref"].(string); ok {
					if lambdaServicePolicies[ref] {
						continue
					}
					mp := tp.resources()[ref].(map[string]any)
					if mp["Type"] != "AWS::IAM::ManagedPolicy" {
						t.Fatalf("policy %s is a %v", ref, mp["Type"])
					}
					doc = mp["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
				}
				for _, st := range flatten(doc["Statement"]) {
					m, ok := st.(map[string]any)
					if !ok {
						continue
					}
					if r, _ := m["Resource"].(string); r == "*" && m["Effect"] == "Allow" {
						for _, a := range actionsOf(m) {
							if !allowedOnStar[a] {
								t.Errorf("%s is granted on every resource", a)
							}
						}
					}
				}
				statementActions(t, doc["Statement"], got)
			}
			want := map[string]bool{}
			for _, a := range lambdafn.Permissions[name] {
				want[a] = true
			}
			if len(want) == 0 {
				t.Fatalf("no Permissions list for %s", name)
			}
			for a := range got {
				if !want[a] {
					t.Errorf("template grants %s, which the code does not call", a)
				}
			}
			for a := range want {
				if !got[a] {
					t.Errorf("the code calls %s, which the template does not grant", a)
				}
			}
		})
	}
}

// flatten returns the statements of a Statement list, both branches of
// each Fn::If included.
func flatten(v any) []any {
	var out []any
	for _, e := range v.([]any) {
		if m, ok := e.(map[string]any); ok {
			if c, ok := m["Fn::If"].([]any); ok {
				out = append(out, c[1], c[2])
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

func actionsOf(st map[string]any) []string {
	switch a := st["Action"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, x := range a {
			out = append(out, x.(string))
		}
		return out
	}
	return nil
}

// grant is one statement's grant of an action to a function.
type grant struct {
	action    string
	condition string // the template condition it is granted under; "" for always
	statement map[string]any
}

// grants lists every action a function's Policies grant, with the condition
// each is granted under: a managed policy's Condition, or the condition of
// an Fn::If around a policy or a statement (its false branch, when not
// AWS::NoValue, under "!condition").
func grants(t *testing.T, tp template, policies any) []grant {
	t.Helper()
	var out []grant
	var statements func(v any, cond string)
	statements = func(v any, cond string) {
		switch s := v.(type) {
		case []any:
			for _, e := range s {
				statements(e, cond)
			}
		case map[string]any:
			if c, ok := s["Fn::If"].([]any); ok {
				statements(c[1], c[0].(string))
				statements(c[2], "!"+c[0].(string))
				return
			}
			if s["Ref"] == "AWS::NoValue" || s["Effect"] == "Deny" {
				return
			}
			for _, a := range actionsOf(s) {
				out = append(out, grant{action: a, condition: cond, statement: s})
			}
		}
	}
	var policy func(v any, cond string)
	policy = func(v any, cond string) {
		doc, ok := v.(map[string]any)
		if !ok {
			return
		}
		if c, ok := doc["Fn::If"].([]any); ok {
			policy(c[1], c[0].(string))
			policy(c[2], "!"+c[0].(string))
			return
		}
		if doc["Ref"] == "AWS::NoValue" {
			return
		}
		if ref, ok := doc["Ref"].(string); ok {
			if lambdaServicePolicies[ref] {
				return
			}
			mp := tp.resources()[ref].(map[string]any)
			if c, ok := mp["Condition"].(string); ok {
				if cond != "" && cond != c {
					t.Fatalf("policy %s has condition %s, used under %s", ref, c, cond)
				}
				cond = c
			}
			doc = mp["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		}
		statements(doc["Statement"], cond)
	}
	for _, p := range policies.([]any) {
		policy(p, "")
	}
	return out
}

// An action the code calls only when a setting turns it on is granted only
// under that setting's condition, and nothing else hides under one.
func TestTemplateConditionalPermissions(t *testing.T) {
	tp := loadTemplate(t)
	conditions := tp["Conditions"].(map[string]any)
	// An action two settings call (dynamodb:PutItem: the deduplication
	// table and the ledger) is granted under either condition.
	optional := map[string][]string{} // action -> conditions
	for cond, actions := range lambdafn.ConditionalPermissions {
		if _, ok := conditions[cond]; !ok {
			t.Errorf("ConditionalPermissions names %s, which is no template condition", cond)
		}
		for _, a := range actions {
			optional[a] = append(optional[a], cond)
		}
	}
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		props := res["Properties"].(map[string]any)
		fnCond, _ := res["Condition"].(string)
		t.Run(id, func(t *testing.T) {
			for _, g := range grants(t, tp, props["Policies"]) {
				want, isOptional := optional[g.action]
				switch {
				case g.condition == "" && isOptional && !slices.Contains(want, fnCond):
					t.Errorf("%s is granted always, want only under %v", g.action, want)
				case g.condition != "" && !isOptional:
					t.Errorf("%s is granted under %s, but the code calls it always", g.action, g.condition)
				case g.condition != "" && !slices.Contains(want, g.condition):
					t.Errorf("%s is granted under %s, want %v", g.action, g.condition, want)
				}
			}
		})
	}
}

// The key verifier's round trip is granted only for messages that carry its
// encryption context.
func TestTemplateKeyVerificationNeedsItsEncryptionContext(t *testing.T) {
	tp := loadTemplate(t)
	checked := 0
	for name, props := range tp.functions(t) {
		for _, g := range grants(t, tp, props["Policies"]) {
			if g.action != "kms:GenerateDataKey" && g.action != "kms:Decrypt" {
				continue
			}
			checked++
			cond, _ := g.statement["Condition"].(map[string]any)
			eq, _ := cond["StringEquals"].(map[string]any)
			if len(cond) != 1 || len(eq) != 1 || eq["kms:EncryptionContext:"+keyverify.ContextPurposeKey] != keyverify.ContextPurpose {
				t.Errorf("%s: %s is granted with condition %v, want only StringEquals %s:%s = %s",
					name, g.action, g.statement["Condition"], "kms:EncryptionContext", keyverify.ContextPurposeKey, keyverify.ContextPurpose)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no function is granted the key verification round trip")
	}
}

func TestDashboardBodyIsSamDashboardJSON(t *testing.T) {
	tp := loadTemplate(t)
	dash := tp.resources()["Dashboard"].(map[string]any)["Properties"].(map[string]any)
	body, _ := dash["DashboardBody"].(map[string]any)["Fn::Sub"].(string)
	file, err := os.ReadFile(filepath.Join(repoRoot, "sam", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	if body != string(file) {
		t.Fatal("template.yaml's DashboardBody differs from sam/dashboard.json: run make sam-dashboard")
	}
	var v map[string]any
	if err := json.Unmarshal(file, &v); err != nil {
		t.Fatalf("sam/dashboard.json: %v", err)
	}
	// Every ${...} in the body names a parameter or a pseudo parameter, so
	// Fn::Sub resolves it.
	params := tp["Parameters"].(map[string]any)
	for rest := body; ; {
		i := strings.Index(rest, "${")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i:], "}")
		name := rest[i+2 : i+j]
		if _, ok := params[name]; !ok && !strings.HasPrefix(name, "AWS::") {
			t.Errorf("dashboard substitutes ${%s}, which is no parameter", name)
		}
		rest = rest[i+j:]
	}
}

func TestRemediateRuleNamesEveryAction(t *testing.T) {
	tp := loadTemplate(t)
	pats := rulePatterns(t, tp)["remediate"]
	if len(pats) != 1 {
		t.Fatalf("remediate has %d rules, want 1", len(pats))
	}
	detail := pats[0]["detail"].(map[string]any)
	var got []string
	for _, a := range detail["remediation"].(map[string]any)["action"].([]any) {
		got = append(got, a.(string))
	}
	want := []string{
		remediation.ActionEnableKeyRotation, remediation.ActionRestoreKey, remediation.ActionCancelKeyDeletion,
		remediation.ActionEnableKey, remediation.ActionRequireSecureTransport, remediation.ActionTagUnencrypted,
	}
	for _, a := range remediation.DefaultRuleActions() {
		if !slices.Contains(want, a) {
			t.Errorf("rule action %s is not matched by the remediate rule", a)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Fatalf("remediate rule actions %v, want %v", got, want)
	}
}

func TestTrailEventRulesNameExactlyTheEventsOfInterest(t *testing.T) {
	tp := loadTemplate(t)
	pats := rulePatterns(t, tp)["trail-events"]
	names := map[string][]string{}
	for _, p := range pats {
		d := p["detail"].(map[string]any)
		src := d["eventSource"].([]any)
		if len(src) != 1 {
			t.Fatalf("rule %v names %d event sources", p, len(src))
		}
		for _, n := range d["eventName"].([]any) {
			names[src[0].(string)] = append(names[src[0].(string)], n.(string))
		}
	}
	candidates := map[string][]string{
		cloudtrail.SourceKMS: {
			cloudtrail.EventCreateKey, cloudtrail.EventEnableKeyRotation, cloudtrail.EventDisableKeyRotation,
			cloudtrail.EventRotateKeyOnDemand, cloudtrail.EventDisableKey, cloudtrail.EventEnableKey,
			cloudtrail.EventScheduleKeyDeletion, cloudtrail.EventCancelKeyDeletion, cloudtrail.EventCreateGrant,
			cloudtrail.EventRevokeGrant, cloudtrail.EventRetireGrant, cloudtrail.EventPutKeyPolicy,
			cloudtrail.EventCreateAlias, cloudtrail.EventUpdateAlias, cloudtrail.EventDeleteAlias,
			cloudtrail.EventImportKeyMaterial, cloudtrail.EventDeleteImportedKeyMaterial,
			cloudtrail.EventReplicateKey, cloudtrail.EventUpdatePrimaryRegion,
			cloudtrail.EventDeleteExpiredKeyMaterial, cloudtrail.EventDeleteKey,
			cloudtrail.EventConnectCustomKeyStore, cloudtrail.EventDisconnectCustomKeyStore,
			"Decrypt", "GenerateDataKey", "ListKeys", "DescribeKey", "RotateKey", "CreateCustomKeyStore",
		},
		cloudtrail.SourceEFS: {
			cloudtrail.EventCreateFileSystem, cloudtrail.EventDeleteFileSystem,
			cloudtrail.EventPutFileSystemPolicy, cloudtrail.EventDeleteFileSystemPolicy,
			cloudtrail.EventCreateReplicationConfiguration, cloudtrail.EventDeleteReplicationConfiguration,
			"CreateMountTarget", "DescribeFileSystems", "TagResource", "DescribeReplicationConfigurations",
		},
		cloudtrail.SourceCloudTrail: {
			cloudtrail.EventCreateTrail, cloudtrail.EventUpdateTrail, cloudtrail.EventDeleteTrail,
			cloudtrail.EventStartLogging, cloudtrail.EventStopLogging,
			cloudtrail.EventPutEventSelectors, cloudtrail.EventPutInsightSelectors,
			"LookupEvents", "DescribeTrails",
		},
		cloudtrail.SourceEvents: {
			cloudtrail.EventPutRule, cloudtrail.EventDeleteRule, cloudtrail.EventDisableRule,
			cloudtrail.EventEnableRule, cloudtrail.EventRemoveTargets, cloudtrail.EventPutTargets,
			"PutEvents", "ListRules",
		},
		cloudtrail.SourceLogs: {
			cloudtrail.EventPutSubscriptionFilter, cloudtrail.EventDeleteSubscriptionFilter,
			cloudtrail.EventDeleteLogGroup, "CreateLogStream", "PutLogEvents",
		},
	}
	for src := range names {
		if _, ok := candidates[src]; !ok {
			t.Errorf("a rule selects event source %s, which the test does not know", src)
		}
	}
	for src, cands := range candidates {
		for _, n := range cands {
			if in := slices.Contains(names[src], n); in != cloudtrail.Interesting(src, n) {
				t.Errorf("%s %s: in the rule %v, of interest %v", src, n, in, !in)
			}
		}
		for _, n := range names[src] {
			if !cloudtrail.Interesting(src, n) {
				t.Errorf("%s %s is in the rule but of no interest", src, n)
			}
		}
	}
}

// TestTemplateMonitoringPathJudgedIntact: the stack's own EventBridge rules
// and subscription filter, as deployed, are judged by
// cloudtrail_monitoring_intact's pattern checks to drop nothing atrest
// judges, so the stack watching itself starts COMPLIANT.
func TestTemplateMonitoringPathJudgedIntact(t *testing.T) {
	tp := loadTemplate(t)
	rules := 0
	for fn, pats := range rulePatterns(t, tp) {
		if fn != "trail-events" {
			continue
		}
		for _, p := range pats {
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			cov := state.EventRuleCoverage(string(b), "111122223333", "us-east-1")
			if cov.Error != "" || len(cov.Dropped) != 0 {
				t.Errorf("rule pattern %s: error %q, dropped %+v", b, cov.Error, cov.Dropped)
			}
			rules++
		}
	}
	if rules != 5 {
		t.Errorf("%d trail-events rules judged, want 5", rules)
	}
	filter, ok := tp.resources()["TrailLogsSubscriptionFilter"].(map[string]any)
	if !ok {
		t.Fatal("no TrailLogsSubscriptionFilter")
	}
	pattern := filter["Properties"].(map[string]any)["FilterPattern"].(string)
	if cov := state.FilterCoverage(pattern, "111122223333", "us-east-1"); cov.Error != "" || len(cov.Dropped) != 0 {
		t.Errorf("filter pattern %s: error %q, dropped %+v", pattern, cov.Error, cov.Dropped)
	}
}

// rulePatterns returns the EventBridge patterns of each function's rules
// (EventBridgeRule events).
func rulePatterns(t *testing.T, tp template) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for name, props := range tp.functions(t) {
		evs, _ := props["Events"].(map[string]any)
		for _, e := range evs {
			ev := e.(map[string]any)
			if ev["Type"] != "EventBridgeRule" {
				continue
			}
			out[name] = append(out[name], ev["Properties"].(map[string]any)["Pattern"].(map[string]any))
		}
	}
	return out
}

// alarmRules returns the Rule dimension values of an alarm's metrics.
func alarmRules(alarm map[string]any) []string {
	props := alarm["Properties"].(map[string]any)
	var dims []any
	if d, ok := props["Dimensions"].([]any); ok {
		dims = append(dims, d...)
	}
	if ms, ok := props["Metrics"].([]any); ok {
		for _, m := range ms {
			if st, ok := m.(map[string]any)["MetricStat"].(map[string]any); ok {
				dims = append(dims, st["Metric"].(map[string]any)["Dimensions"].([]any)...)
			}
		}
	}
	var out []string
	for _, d := range dims {
		if dm := d.(map[string]any); dm["Name"] == "Rule" {
			out = append(out, dm["Value"].(string))
		}
	}
	sort.Strings(out)
	return out
}

func TestAlarmsCoverEveryRule(t *testing.T) {
	tp := loadTemplate(t)
	engine, err := policy.New(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Every rule of the engine has a real-time alarm; every rule a sweep
	// with a key verifier gauges has a gauge alarm.
	verifying, err := monitor.New(monitor.Options{Pipeline: pipeline.Options{
		Store: state.NewMemory(), Engine: engine, Verifier: idleVerifier{},
	}})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	var swept []string
	for _, r := range engine.Rules() {
		known[r.ID] = true
		if verifying.Gauged(r) {
			swept = append(swept, r.ID)
		}
	}
	sort.Strings(swept)
	got := alarmRules(tp.resources()["NonCompliantFindingsAlarm"].(map[string]any))
	for id := range known {
		if !slices.Contains(got, id) {
			t.Errorf("NonCompliantFindingsAlarm does not cover rule %s", id)
		}
	}
	for _, id := range got {
		if !known[id] {
			t.Errorf("NonCompliantFindingsAlarm names %s, which is no rule", id)
		}
	}
	var gauges []string
	for id, r := range tp.resources() {
		if strings.HasPrefix(id, "NonCompliant") && id != "NonCompliantFindingsAlarm" {
			gauges = append(gauges, alarmRules(r.(map[string]any))...)
		}
	}
	sort.Strings(gauges)
	if !slices.Equal(gauges, swept) {
		t.Errorf("NonCompliantResources alarms cover %v, want the swept rules %v", gauges, swept)
	}
}

// idleVerifier is a key verifier that is never called: enough for a harness
// to know it verifies keys.
type idleVerifier struct{}

func (idleVerifier) Verify(context.Context, string, []string) keyverify.Result {
	return keyverify.Result{}
}
func (idleVerifier) Invalidate(string) {}
