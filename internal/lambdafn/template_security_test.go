package lambdafn_test

// Template tests of the security model (README, "Security model"): who may
// feed atrest, what its roles may never do, and how its own data and alarms
// are encrypted.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/remediation"
)

// props returns a resource's Properties, failing when it is missing.
func (tp template) props(t *testing.T, id string) map[string]any {
	t.Helper()
	r, ok := tp.resources()[id].(map[string]any)
	if !ok {
		t.Fatalf("template has no resource %s", id)
	}
	return r["Properties"].(map[string]any)
}

// fnIf is the Fn::If object of cond choosing yes or no.
func fnIf(cond string, yes, no any) map[string]any {
	return map[string]any{"Fn::If": []any{cond, yes, no}}
}

func ref(name string) map[string]any { return map[string]any{"Ref": name} }

var noValue = ref("AWS::NoValue")

// envOf returns a function's environment variables, the Globals' under its
// own.
func envOf(tp template, props map[string]any) map[string]any {
	out := map[string]any{}
	g := tp["Globals"].(map[string]any)["Function"].(map[string]any)
	for k, v := range g["Environment"].(map[string]any)["Variables"].(map[string]any) {
		out[k] = v
	}
	if e, ok := props["Environment"].(map[string]any); ok {
		for k, v := range e["Variables"].(map[string]any) {
			out[k] = v
		}
	}
	return out
}

// inlineStatements returns the statements of a function's inline policies,
// both branches of each Fn::If.
func inlineStatements(props map[string]any) []map[string]any {
	var out []map[string]any
	for _, p := range props["Policies"].([]any) {
		doc, ok := p.(map[string]any)
		if !ok || doc["Statement"] == nil {
			continue
		}
		for _, st := range doc["Statement"].([]any) {
			m := st.(map[string]any)
			if c, ok := m["Fn::If"].([]any); ok {
				for _, b := range c[1:] {
					if bm, ok := b.(map[string]any); ok && bm["Ref"] == nil {
						out = append(out, bm)
					}
				}
				continue
			}
			out = append(out, m)
		}
	}
	return out
}

func sortedActions(st map[string]any) []string {
	a := actionsOf(st)
	sort.Strings(a)
	return a
}

// A key tagged atrest:intended-disable cannot be enabled or have its deletion
// cancelled by the remediate function, whatever it is opted in to: IAM
// denies it, unconditionally on the template's settings.
func TestTemplateRemediateKeepsIntendedDisablesDisabled(t *testing.T) {
	tp := loadTemplate(t)
	props := tp.functions(t)[lambdafn.FunctionRemediate]
	var denies []map[string]any
	for _, p := range props["Policies"].([]any) {
		doc, ok := p.(map[string]any)
		if !ok || doc["Statement"] == nil {
			continue
		}
		for _, st := range doc["Statement"].([]any) {
			if m := st.(map[string]any); m["Effect"] == "Deny" {
				denies = append(denies, m) // never under an Fn::If
			}
		}
	}
	if len(denies) != 1 {
		t.Fatalf("remediate has %d unconditional Deny statements, want 1", len(denies))
	}
	d := denies[0]
	if got := sortedActions(d); !slices.Equal(got, []string{"kms:CancelKeyDeletion", "kms:EnableKey"}) {
		t.Errorf("Deny actions %v, want kms:CancelKeyDeletion and kms:EnableKey", got)
	}
	if d["Resource"] != "*" {
		t.Errorf("Deny resource %v, want every key (*)", d["Resource"])
	}
	want := map[string]any{"Null": map[string]any{"aws:ResourceTag/" + remediation.DefaultIntendedDisableTagKey: "false"}}
	if !reflect.DeepEqual(d["Condition"], want) {
		t.Errorf("Deny condition %v, want %v (the tag is present)", d["Condition"], want)
	}
	// The Allows it guards exist: without them the Deny would guard nothing
	// and the test could not fail for the right reason.
	allowed := map[string]bool{}
	for _, st := range inlineStatements(props) {
		if st["Effect"] == "Allow" {
			for _, a := range actionsOf(st) {
				allowed[a] = true
			}
		}
	}
	for _, a := range []string{"kms:EnableKey", "kms:CancelKeyDeletion"} {
		if !allowed[a] {
			t.Errorf("%s is never allowed: the Deny guards nothing", a)
		}
	}
}

// CloudWatch alarms can publish to the alarm topic: its key is a customer
// managed key whose policy lets cloudwatch.amazonaws.com use it for this
// account's alarms, never the AWS managed alias/aws/sns.
// https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
func TestTemplateAlarmTopicKeyLetsCloudWatchPublish(t *testing.T) {
	tp := loadTemplate(t)
	topic := tp.props(t, "AlarmTopic")
	if want := fnIf("HasDataKmsKey", ref("DataKmsKeyArn"), map[string]any{"Fn::GetAtt": []string{"AlarmTopicKey", "Arn"}}); !reflect.DeepEqual(normalize(topic["KmsMasterKeyId"]), normalize(want)) {
		t.Fatalf("AlarmTopic KmsMasterKeyId %v, want %v", topic["KmsMasterKeyId"], want)
	}
	key := tp.resources()["AlarmTopicKey"].(map[string]any)
	if key["Type"] != "AWS::KMS::Key" || key["Condition"] != "CreateAlarmTopicKey" {
		t.Fatalf("AlarmTopicKey is a %v under %v, want an AWS::KMS::Key under CreateAlarmTopicKey", key["Type"], key["Condition"])
	}
	kp := key["Properties"].(map[string]any)
	if kp["EnableKeyRotation"] != true {
		t.Errorf("AlarmTopicKey rotation %v, want true", kp["EnableKeyRotation"])
	}
	type stmt struct {
		principal string
		actions   []string
		condition any
	}
	var got []stmt
	for _, s := range kp["KeyPolicy"].(map[string]any)["Statement"].([]any) {
		m := s.(map[string]any)
		if m["Effect"] != "Allow" {
			t.Errorf("key policy statement %v is not an Allow", m["Sid"])
		}
		var principal string
		switch p := m["Principal"].(map[string]any); {
		case p["Service"] != nil:
			principal = "service:" + p["Service"].(string)
		case p["AWS"] != nil:
			principal = "aws:" + p["AWS"].(map[string]any)["Fn::Sub"].(string)
		}
		got = append(got, stmt{principal, sortedActions(m), m["Condition"]})
	}
	want := []stmt{
		{"aws:arn:${AWS::Partition}:iam::${AWS::AccountId}:root", []string{"kms:*"}, nil},
		{"service:cloudwatch.amazonaws.com", []string{"kms:Decrypt", "kms:GenerateDataKey*"},
			map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AlarmTopicKey policy\n got %+v\nwant %+v", got, want)
	}
	// Each condition is the one the others assume.
	conds := tp["Conditions"].(map[string]any)
	if want := []any{map[string]any{"Condition": "CreateAlarmTopic"}, map[string]any{"Fn::Not": []any{map[string]any{"Condition": "HasDataKmsKey"}}}}; !reflect.DeepEqual(conds["CreateAlarmTopicKey"].(map[string]any)["Fn::And"], want) {
		t.Errorf("CreateAlarmTopicKey is %v", conds["CreateAlarmTopicKey"])
	}
	// Every alarm notifies the topic (the stack's, or the one passed).
	topicRef := fnIf("CreateAlarmTopic", ref("AlarmTopic"), ref("AlarmTopicArn"))
	alarms := 0
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		if res["Type"] != "AWS::CloudWatch::Alarm" {
			continue
		}
		alarms++
		p := res["Properties"].(map[string]any)
		for _, k := range []string{"AlarmActions", "OKActions"} {
			if !reflect.DeepEqual(p[k], []any{topicRef}) {
				t.Errorf("%s %s %v, want the alarm topic", id, k, p[k])
			}
		}
	}
	if alarms < 10 {
		t.Errorf("only %d alarms", alarms)
	}
}

// normalize turns []string into []any so that hand-built values compare
// with parsed ones.
func normalize(v any) any {
	switch x := v.(type) {
	case []string:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = s
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	}
	return v
}

// publisherRoles lists the role of every function granted events:PutEvents
// on the findings bus, as the bus policy must name it: the role SAM makes
// for the function (<LogicalId>Role), under the function's condition.
func publisherRoles(t *testing.T, tp template) []any {
	t.Helper()
	var ids []string
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Serverless::Function" {
			continue
		}
		if slices.ContainsFunc(grants(t, tp, res["Properties"].(map[string]any)["Policies"]), func(g grant) bool { return g.action == "events:PutEvents" }) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var out []any
	for _, id := range ids {
		arn := map[string]any{"Fn::GetAtt": []string{id + "Role", "Arn"}}
		if c, ok := tp.resources()[id].(map[string]any)["Condition"].(string); ok {
			out = append(out, fnIf(c, arn, noValue))
			continue
		}
		out = append(out, arn)
	}
	return out
}

func sortedByString(v []any) []any {
	out := slices.Clone(v)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// Only the stack's function roles may put events on the findings bus: the
// Allow names exactly the roles granted events:PutEvents, and a Deny keeps
// out every other principal.
func TestTemplateFindingsBusOnlyItsFunctions(t *testing.T) {
	tp := loadTemplate(t)
	roles := publisherRoles(t, tp)
	if len(roles) != 7 {
		t.Fatalf("%d functions publish findings, want 7: %v", len(roles), roles)
	}
	busArn := map[string]any{"Fn::GetAtt": []string{"FindingsBus", "Arn"}}
	type policy struct {
		effect string
		roles  []any
	}
	got := map[string]policy{}
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		if res["Type"] != "AWS::Events::EventBusPolicy" {
			continue
		}
		p := res["Properties"].(map[string]any)
		if !reflect.DeepEqual(p["EventBusName"], ref("FindingsBus")) {
			t.Errorf("%s is on bus %v", id, p["EventBusName"])
		}
		if _, ok := res["Condition"]; ok {
			t.Errorf("%s is conditional", id)
		}
		st := p["Statement"].(map[string]any)
		if st["Action"] != "events:PutEvents" || !reflect.DeepEqual(st["Resource"], busArn) {
			t.Errorf("%s: action %v on %v, want events:PutEvents on the findings bus", id, st["Action"], st["Resource"])
		}
		switch st["Effect"] {
		case "Allow":
			if st["Condition"] != nil {
				t.Errorf("%s: Allow with condition %v", id, st["Condition"])
			}
			got[id] = policy{"Allow", st["Principal"].(map[string]any)["AWS"].([]any)}
		case "Deny":
			if st["Principal"] != "*" {
				t.Errorf("%s: Deny for %v, want every principal", id, st["Principal"])
			}
			cond := st["Condition"].(map[string]any)
			ne, _ := cond["ArnNotEquals"].(map[string]any)
			if len(cond) != 1 || len(ne) != 1 {
				t.Fatalf("%s: Deny condition %v, want only ArnNotEquals aws:PrincipalArn", id, cond)
			}
			got[id] = policy{"Deny", ne["aws:PrincipalArn"].([]any)}
		default:
			t.Errorf("%s: effect %v", id, st["Effect"])
		}
	}
	var effects []string
	for id, p := range got {
		effects = append(effects, p.effect)
		if !reflect.DeepEqual(sortedByString(p.roles), sortedByString(roles)) {
			t.Errorf("%s (%s) names\n %v\nwant the publishing functions' roles\n %v", id, p.effect, p.roles, roles)
		}
	}
	sort.Strings(effects)
	if !slices.Equal(effects, []string{"Allow", "Deny"}) {
		t.Errorf("findings bus policies %v, want an Allow and a Deny", effects)
	}
	// Only the stack's own account is the remediate function's: its
	// findings carry the account and age they are checked against.
	env := envOf(tp, tp.functions(t)[lambdafn.FunctionRemediate])
	if !reflect.DeepEqual(env[lambdafn.EnvStackAccount], ref("AWS::AccountId")) {
		t.Errorf("remediate %s = %v, want the stack's account", lambdafn.EnvStackAccount, env[lambdafn.EnvStackAccount])
	}
	if want := map[string]any{"Fn::Sub": "${RemediationMaxEventAge}s"}; !reflect.DeepEqual(env[lambdafn.EnvRemediationMaxAge], want) {
		t.Errorf("remediate %s = %v, want %v", lambdafn.EnvRemediationMaxAge, env[lambdafn.EnvRemediationMaxAge], want)
	}
	age, _ := tp["Parameters"].(map[string]any)["RemediationMaxEventAge"].(map[string]any)
	if age["Type"] != "Number" || age["Default"] != 3600 {
		t.Errorf("RemediationMaxEventAge %v, want a Number defaulting to 3600", age)
	}
}

// The archive queue takes S3 notifications of the trail bucket only.
func TestTemplateArchiveQueueTakesTrailBucketOnly(t *testing.T) {
	tp := loadTemplate(t)
	p := tp.props(t, "TrailArchiveQueuePolicy")
	queue := map[string]any{"Fn::GetAtt": []string{"TrailArchiveQueue", "Arn"}}
	bucket := map[string]any{"Fn::Sub": "arn:${AWS::Partition}:s3:::${TrailBucketName}"}
	var allows, denies int
	for _, s := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
		st := s.(map[string]any)
		if st["Action"] != "sqs:SendMessage" || !reflect.DeepEqual(st["Resource"], queue) {
			t.Errorf("%v: action %v on %v", st["Sid"], st["Action"], st["Resource"])
		}
		cond := st["Condition"].(map[string]any)
		switch st["Effect"] {
		case "Allow":
			allows++
			want := map[string]any{
				"ArnEquals":    map[string]any{"aws:SourceArn": bucket},
				"StringEquals": map[string]any{"aws:SourceAccount": ref("AWS::AccountId")},
			}
			if !reflect.DeepEqual(st["Principal"], map[string]any{"Service": "s3.amazonaws.com"}) || !reflect.DeepEqual(cond, want) {
				t.Errorf("Allow %v for %v, want s3.amazonaws.com with %v", cond, st["Principal"], want)
			}
		case "Deny":
			denies++
			want := map[string]any{"ArnNotEquals": map[string]any{"aws:SourceArn": bucket}}
			if st["Principal"] != "*" || !reflect.DeepEqual(cond, want) {
				t.Errorf("Deny %v for %v, want every principal with %v", cond, st["Principal"], want)
			}
		}
	}
	if allows != 1 || denies != 1 {
		t.Errorf("%d Allow and %d Deny statements, want one each", allows, denies)
	}
	env := envOf(tp, tp.functions(t)[lambdafn.FunctionTrailArchive])
	if !reflect.DeepEqual(env[lambdafn.EnvTrailBucket], ref("TrailBucketName")) {
		t.Errorf("trail-archive %s = %v, want the TrailBucketName parameter", lambdafn.EnvTrailBucket, env[lambdafn.EnvTrailBucket])
	}
}

// Organization reads stay in the organization: sts:AssumeRole is bound to
// aws:ResourceOrgID when an organization id is given, the role name and the
// ids are checked by pattern, and the external id, monitored accounts and
// regions reach every function.
func TestTemplateOrganizationReads(t *testing.T) {
	tp := loadTemplate(t)
	var assume []map[string]any
	for _, s := range flatten(tp.props(t, "LiveStoreReadPolicy")["PolicyDocument"].(map[string]any)["Statement"]) {
		if m, ok := s.(map[string]any); ok && slices.Contains(actionsOf(m), "sts:AssumeRole") {
			assume = append(assume, m)
		}
	}
	if len(assume) != 1 {
		t.Fatalf("%d sts:AssumeRole statements, want 1", len(assume))
	}
	want := fnIf("HasOrganizationId", map[string]any{"StringEquals": map[string]any{"aws:ResourceOrgID": ref("OrganizationId")}}, noValue)
	if !reflect.DeepEqual(assume[0]["Condition"], want) {
		t.Errorf("sts:AssumeRole condition %v, want %v", assume[0]["Condition"], want)
	}

	params := tp["Parameters"].(map[string]any)
	tests := []struct {
		param string
		value string
		ok    bool
	}{
		{"OrganizationRoleName", "", true},
		{"OrganizationRoleName", "atrest-reader", true},
		{"OrganizationRoleName", "reader/../admin", false},
		{"OrganizationRoleName", "reader*", false},
		{"OrganizationRoleName", strings.Repeat("r", 65), false},
		{"OrganizationId", "", true},
		{"OrganizationId", "o-a1b2c3d4e5", true},
		{"OrganizationId", "o-short", false},
		{"OrganizationId", "r-a1b2c3d4e5", false},
		{"OrganizationExternalId", "", true},
		{"OrganizationExternalId", "atrest:4f1d/x", true},
		{"OrganizationExternalId", "with space", false},
		{"OrganizationExternalId", strings.Repeat("x", 1224), true},
		{"OrganizationExternalId", strings.Repeat("x", 1225), false},
		{"MonitoredAccounts", "", true},
		{"MonitoredAccounts", "111122223333,444455556666", true},
		{"MonitoredAccounts", "111122223333,", false},
		{"MonitoredAccounts", "11112222333", false},
		{"MonitoredRegions", "", true},
		{"MonitoredRegions", "us-east-1,eu-central-2", true},
		{"MonitoredRegions", "us-gov-west-1", true},
		{"MonitoredRegions", "us-east-1 ", false},
		{"DataKmsKeyArn", "", true},
		{"DataKmsKeyArn", "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", true},
		{"DataKmsKeyArn", "arn:aws:kms:us-east-1:111122223333:alias/atrest", false},
		{"DataKmsKeyArn", "alias/aws/sns", false},
	}
	for _, tc := range tests {
		name := tc.value
		if len(name) > 40 {
			name = fmt.Sprintf("%s... (%d characters)", name[:10], len(name))
		}
		t.Run(tc.param+" "+name, func(t *testing.T) {
			p, ok := params[tc.param].(map[string]any)
			if !ok {
				t.Fatalf("no parameter %s", tc.param)
			}
			pattern, _ := p["AllowedPattern"].(string)
			if pattern == "" {
				t.Fatalf("%s has no AllowedPattern", tc.param)
			}
			if p["Default"] != "" {
				t.Errorf("%s defaults to %v, want empty", tc.param, p["Default"])
			}
			ok = regexp.MustCompile(pattern).MatchString(tc.value)
			if n, isInt := p["MaxLength"].(int); isInt && len(tc.value) > n {
				ok = false
			}
			if got := ok; got != tc.ok {
				t.Errorf("%s %q allowed %v, want %v", tc.param, tc.value, got, tc.ok)
			}
		})
	}

	env := envOf(tp, map[string]any{})
	wantEnv := map[string]any{
		lambdafn.EnvOrganizationExternalID: ref("OrganizationExternalId"),
		lambdafn.EnvMonitoredAccounts:      fnIf("HasMonitoredAccounts", ref("MonitoredAccounts"), fnIf("HasOrganizationRole", "", ref("AWS::AccountId"))),
		lambdafn.EnvMonitoredRegions:       ref("MonitoredRegions"),
	}
	for k, v := range wantEnv {
		if !reflect.DeepEqual(env[k], v) {
			t.Errorf("Globals %s = %v, want %v", k, env[k], v)
		}
	}
	// No function overrides them.
	for name, props := range tp.functions(t) {
		e, _ := props["Environment"].(map[string]any)
		vars, _ := e["Variables"].(map[string]any)
		for k := range wantEnv {
			if _, ok := vars[k]; ok {
				t.Errorf("%s overrides %s", name, k)
			}
		}
	}
}

// Every trail-events rule drops failed calls (no rule judges one), and the
// subscription filter drops read-only calls.
func TestTemplateTrailInputsExcludeFailedAndReadOnlyCalls(t *testing.T) {
	tp := loadTemplate(t)
	pats := rulePatterns(t, tp)[lambdafn.FunctionTrailEvents]
	if len(pats) != 5 {
		t.Fatalf("trail-events has %d rules, want 5", len(pats))
	}
	for _, p := range pats {
		d := p["detail"].(map[string]any)
		if want := []any{map[string]any{"exists": false}}; !reflect.DeepEqual(d["errorCode"], want) {
			t.Errorf("rule for %v: errorCode %v, want %v", d["eventSource"], d["errorCode"], want)
		}
	}
	filter := tp.props(t, "TrailLogsSubscriptionFilter")["FilterPattern"].(string)
	inner, ok := strings.CutPrefix(filter, "{ ($.readOnly IS FALSE) && (")
	if !ok || !strings.HasSuffix(inner, ") }") {
		t.Fatalf("filter pattern %q does not AND $.readOnly IS FALSE with the source list", filter)
	}
	var sources []string
	for part := range strings.SplitSeq(strings.TrimSuffix(inner, ") }"), " || ") {
		src, ok := strings.CutPrefix(part, `($.eventSource = "`)
		if !ok || !strings.HasSuffix(src, `")`) {
			t.Fatalf("filter term %q is not an eventSource test", part)
		}
		sources = append(sources, strings.TrimSuffix(src, `")`))
	}
	want := []string{cloudtrail.SourceKMS, cloudtrail.SourceEFS, cloudtrail.SourceCloudTrail, cloudtrail.SourceEvents, cloudtrail.SourceLogs}
	sort.Strings(sources)
	sort.Strings(want)
	if !slices.Equal(sources, want) {
		t.Errorf("filter sources %v, want %v", sources, want)
	}
}

// The functions that inflate gzip streams (awslogs payloads, log files) have
// a bound below the decoder's default, sized to their timeout.
func TestTemplateMaxInflatedBytes(t *testing.T) {
	tp := loadTemplate(t)
	fns := tp.functions(t)
	for _, tc := range []struct {
		name string
		want int64
	}{
		{lambdafn.FunctionTrailLogs, 64 << 20},
		{lambdafn.FunctionTrailArchive, 256 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := envOf(tp, fns[tc.name])
			v, _ := env[lambdafn.EnvMaxInflatedBytes].(string)
			s, err := lambdafn.FromEnv(func(k string) string {
				if k == lambdafn.EnvMaxInflatedBytes {
					return v
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.MaxInflatedBytes != tc.want || s.MaxInflatedBytes >= cloudtrail.DefaultMaxInflatedBytes {
				t.Errorf("MaxInflatedBytes %d, want %d (below the default %d)", s.MaxInflatedBytes, tc.want, int64(cloudtrail.DefaultMaxInflatedBytes))
			}
		})
	}
}

// With DataKmsKeyArn every store the stack creates is encrypted with it;
// without, each keeps its service-managed encryption. Lambda may use the key
// for the queues through SQS only.
func TestTemplateDataKeyEncryptsEveryStore(t *testing.T) {
	tp := loadTemplate(t)
	key := ref("DataKmsKeyArn")
	onKey := fnIf("HasDataKmsKey", key, noValue)
	stores := map[string]int{}
	for id, r := range tp.resources() {
		res := r.(map[string]any)
		typ, _ := res["Type"].(string)
		p, _ := res["Properties"].(map[string]any)
		check := func(field string, want any) {
			t.Helper()
			if !reflect.DeepEqual(normalize(p[field]), normalize(want)) {
				t.Errorf("%s %s = %v, want %v", id, field, p[field], want)
			}
		}
		switch typ {
		case "AWS::Logs::LogGroup":
			check("KmsKeyId", onKey)
		case "AWS::SQS::Queue":
			check("KmsMasterKeyId", onKey)
			check("SqsManagedSseEnabled", fnIf("HasDataKmsKey", false, true))
		case "AWS::DynamoDB::Table":
			sse := p["SSESpecification"].(map[string]any)
			if sse["SSEEnabled"] != true || !reflect.DeepEqual(sse["KMSMasterKeyId"], onKey) || !reflect.DeepEqual(sse["SSEType"], fnIf("HasDataKmsKey", "KMS", noValue)) {
				t.Errorf("%s SSESpecification %v", id, sse)
			}
		case "AWS::SNS::Topic":
			m, _ := p["KmsMasterKeyId"].(map[string]any)
			if c, _ := m["Fn::If"].([]any); len(c) != 3 || c[0] != "HasDataKmsKey" || !reflect.DeepEqual(c[1], key) {
				t.Errorf("%s KmsMasterKeyId %v", id, p["KmsMasterKeyId"])
			}
		case "AWS::S3::Bucket", "AWS::Kinesis::Stream", "AWS::Logs::Destination", "AWS::Events::Archive":
			t.Errorf("%s is a store (%s) the test does not check", id, typ)
		default:
			continue
		}
		stores[typ]++
	}
	want := map[string]int{"AWS::Logs::LogGroup": 7, "AWS::SQS::Queue": 5, "AWS::DynamoDB::Table": 2, "AWS::SNS::Topic": 1}
	if !reflect.DeepEqual(stores, want) {
		t.Errorf("stores %v, want %v", stores, want)
	}

	mp, ok := tp.resources()["DataKeyQueuePolicy"].(map[string]any)
	if !ok {
		t.Fatal("template has no DataKeyQueuePolicy")
	}
	if mp["Condition"] != "HasDataKmsKey" {
		t.Errorf("DataKeyQueuePolicy condition %v", mp["Condition"])
	}
	sts := mp["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any)
	if len(sts) != 1 {
		t.Fatalf("DataKeyQueuePolicy has %d statements", len(sts))
	}
	st := sts[0].(map[string]any)
	wantCond := map[string]any{"StringEquals": map[string]any{"kms:ViaService": map[string]any{"Fn::Sub": "sqs.${AWS::Region}.amazonaws.com"}}}
	if got := sortedActions(st); !slices.Equal(got, []string{"kms:Decrypt", "kms:GenerateDataKey"}) || !reflect.DeepEqual(st["Resource"], key) || !reflect.DeepEqual(st["Condition"], wantCond) {
		t.Errorf("DataKeyQueuePolicy statement %v", st)
	}
	for name, props := range tp.functions(t) {
		if !slices.ContainsFunc(props["Policies"].([]any), func(p any) bool {
			return reflect.DeepEqual(p, fnIf("HasDataKmsKey", ref("DataKeyQueuePolicy"), noValue))
		}) {
			t.Errorf("%s does not get DataKeyQueuePolicy under HasDataKmsKey", name)
		}
	}
}

// Every EventBridge-shaped sample event reaches trail-events as it is, and
// no function once its call failed (errorCode set, as CloudTrail records a
// refused call): the trail-events rules drop failed calls.
func TestRulePatternsDropFailedCalls(t *testing.T) {
	tp := loadTemplate(t)
	patterns := rulePatterns(t, tp)
	files, err := filepath.Glob(filepath.Join(repoRoot, "events", "*-eventbridge-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range files {
		base := filepath.Base(path)
		if strings.Contains(base, "malformed") {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(base, func(t *testing.T) {
			var ev map[string]any
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			if got := matchingFunctions(t, patterns, ev); !slices.Equal(got, []string{lambdafn.FunctionTrailEvents}) {
				t.Fatalf("as it is: reaches %v, want trail-events", got)
			}
			detail, ok := ev["detail"].(map[string]any)
			if !ok {
				t.Fatal("no detail")
			}
			detail["errorCode"] = "AccessDenied"
			detail["errorMessage"] = "User is not authorized to perform this operation"
			if got := matchingFunctions(t, patterns, ev); len(got) != 0 {
				t.Fatalf("failed call: reaches %v, want no function", got)
			}
		})
		checked++
	}
	if checked < 10 {
		t.Fatalf("only %d sample events checked", checked)
	}
}

// TestTemplateOrganizationReadsBounded: with an organization role, the
// stack does not deploy unless MonitoredAccounts or OrganizationId bounds
// the accounts whose role the functions may assume.
func TestTemplateOrganizationReadsBounded(t *testing.T) {
	tp := loadTemplate(t)
	rules, _ := tp["Rules"].(map[string]any)
	rule, _ := rules["OrganizationReadsBounded"].(map[string]any)
	if rule == nil {
		t.Fatal("template has no OrganizationReadsBounded rule")
	}
	notEmpty := func(param string) any {
		return map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": param}, ""}}}}
	}
	if !reflect.DeepEqual(rule["RuleCondition"], notEmpty("OrganizationRoleName")) {
		t.Errorf("RuleCondition %v, want OrganizationRoleName not empty", rule["RuleCondition"])
	}
	assertions, _ := rule["Assertions"].([]any)
	want := map[string]any{"Fn::Or": []any{notEmpty("MonitoredAccounts"), notEmpty("OrganizationId")}}
	if len(assertions) != 1 || !reflect.DeepEqual(assertions[0].(map[string]any)["Assert"], want) {
		t.Errorf("assertions %v, want one: MonitoredAccounts or OrganizationId set", assertions)
	}
}
