package lambdafn_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/lambdafn"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
)

// The ledger table is created by default, shaped as internal/ledger writes
// it, kept when the stack goes, and named to every monitoring function
// with the permissions its store calls.
func TestTemplateLedgerTable(t *testing.T) {
	tp := loadTemplate(t)
	if def := tp["Parameters"].(map[string]any)["LedgerTable"].(map[string]any)["Default"]; def != "Enabled" {
		t.Errorf("LedgerTable defaults to %v, want Enabled", def)
	}
	res := tp.resources()["ComplianceLedgerTable"].(map[string]any)
	if res["Type"] != "AWS::DynamoDB::Table" || res["Condition"] != "LedgerTableEnabled" ||
		res["DeletionPolicy"] != "Retain" || res["UpdateReplacePolicy"] != "Retain" {
		t.Errorf("ComplianceLedgerTable %v %v, deletion %v, replacement %v", res["Type"], res["Condition"], res["DeletionPolicy"], res["UpdateReplacePolicy"])
	}
	p := res["Properties"].(map[string]any)
	key := []any{map[string]any{"AttributeName": ledger.KeyAttribute, "KeyType": "HASH"}}
	attrs := []any{map[string]any{"AttributeName": ledger.KeyAttribute, "AttributeType": "S"}}
	if p["BillingMode"] != "PAY_PER_REQUEST" || !reflect.DeepEqual(p["KeySchema"], key) || !reflect.DeepEqual(p["AttributeDefinitions"], attrs) ||
		p["PointInTimeRecoverySpecification"].(map[string]any)["PointInTimeRecoveryEnabled"] != true {
		t.Errorf("ComplianceLedgerTable properties %v", p)
	}
	if _, ok := p["TimeToLiveSpecification"]; ok {
		t.Error("ledger entries must not expire")
	}

	monitoring := map[string]bool{
		lambdafn.FunctionTrailEvents: true, lambdafn.FunctionTrailLogs: true, lambdafn.FunctionTrailArchive: true,
		lambdafn.FunctionSweep: true, lambdafn.FunctionVerify: true,
	}
	wantEnv := fnIf("LedgerTableEnabled", ref("ComplianceLedgerTable"), "")
	wantPolicy := fnIf("LedgerTableEnabled", ref("LedgerPolicy"), noValue)
	for name, props := range tp.functions(t) {
		env, hasEnv := envOf(tp, props)[lambdafn.EnvLedgerTable]
		hasPolicy := false
		for _, pol := range props["Policies"].([]any) {
			if reflect.DeepEqual(pol, wantPolicy) {
				hasPolicy = true
			}
		}
		if name == lambdafn.FunctionSettle {
			// The settle function exists only with the table (SettleQueueEnabled
			// implies LedgerTableEnabled): it re-checks held verdicts against it.
			hasPolicy = slices.ContainsFunc(props["Policies"].([]any), func(pol any) bool { return reflect.DeepEqual(pol, ref("LedgerPolicy")) })
			if !reflect.DeepEqual(env, ref("ComplianceLedgerTable")) || !hasPolicy {
				t.Errorf("%s: %s = %v, LedgerPolicy %v; want the table and the policy", name, lambdafn.EnvLedgerTable, env, hasPolicy)
			}
			continue
		}
		switch {
		case monitoring[name] && (!reflect.DeepEqual(env, wantEnv) || !hasPolicy):
			t.Errorf("%s: %s = %v, LedgerPolicy %v; want %v and the policy", name, lambdafn.EnvLedgerTable, env, hasPolicy, wantEnv)
		case !monitoring[name] && (hasEnv || hasPolicy):
			t.Errorf("%s judges nothing but is given the ledger", name)
		}
	}
	st := tp.props(t, "LedgerPolicy")["PolicyDocument"].(map[string]any)["Statement"].([]any)[0].(map[string]any)
	if !reflect.DeepEqual(normalize(st["Resource"]), normalize(map[string]any{"Fn::GetAtt": []any{"ComplianceLedgerTable", "Arn"}})) {
		t.Errorf("LedgerPolicy is granted on %v, want the table only", st["Resource"])
	}
	if out := tp["Outputs"].(map[string]any)["LedgerTableName"].(map[string]any); !reflect.DeepEqual(out["Value"], ref("ComplianceLedgerTable")) {
		t.Errorf("output LedgerTableName %v", out["Value"])
	}
}

// The ledger's alarms watch the table's throttles and the write conflicts
// the harness counts, and notify the topic every alarm notifies; the
// dashboard shows the ledger's counters and the table's throttles.
func TestTemplateLedgerAlarmsAndDashboard(t *testing.T) {
	tp := loadTemplate(t)
	topic := tp.props(t, "NonCompliantFindingsAlarm")["AlarmActions"]
	throttles := tp.props(t, "LedgerThrottlesAlarm")
	var names []string
	for _, m := range throttles["Metrics"].([]any) {
		ms, ok := m.(map[string]any)["MetricStat"].(map[string]any)
		if !ok {
			continue
		}
		metric := ms["Metric"].(map[string]any)
		dims := []any{map[string]any{"Name": "TableName", "Value": ref("ComplianceLedgerTable")}}
		if metric["Namespace"] != "AWS/DynamoDB" || !reflect.DeepEqual(metric["Dimensions"], dims) {
			t.Errorf("LedgerThrottlesAlarm watches %v", metric)
		}
		names = append(names, metric["MetricName"].(string))
	}
	if !reflect.DeepEqual(names, []string{"ReadThrottleEvents", "WriteThrottleEvents"}) {
		t.Errorf("LedgerThrottlesAlarm metrics %v", names)
	}
	contention := tp.props(t, "LedgerContentionAlarm")
	expr, _ := contention["Metrics"].([]any)[0].(map[string]any)["Expression"].(map[string]any)["Fn::Sub"].(string)
	if !strings.Contains(expr, "SUM("+metrics.MetricLedgerContention+")") || !reflect.DeepEqual(contention["Threshold"], ref("LedgerContentionThreshold")) {
		t.Errorf("LedgerContentionAlarm expression %q threshold %v", expr, contention["Threshold"])
	}
	for _, a := range []map[string]any{throttles, contention} {
		if !reflect.DeepEqual(a["AlarmActions"], topic) || !reflect.DeepEqual(a["OKActions"], topic) {
			t.Errorf("%s notifies %v, want %v", a["AlarmDescription"], a["AlarmActions"], topic)
		}
	}

	dash, err := os.ReadFile(filepath.Join(repoRoot, "sam", "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`MetricName=\"` + metrics.MetricLedgerTransitions + `\"`, `MetricName=\"` + metrics.MetricLedgerWrites + `\"`,
		`MetricName=\"` + metrics.MetricLedgerStale + `\"`, `MetricName=\"` + metrics.MetricLedgerContention + `\"`,
		// CloudFormation names the table STACK-ComplianceLedgerTable-ID:
		// a partial match on the logical id finds it.
		`TableName=ComplianceLedgerTable MetricName=\"ReadThrottleEvents\"`, `TableName=ComplianceLedgerTable MetricName=\"WriteThrottleEvents\"`,
	} {
		if !strings.Contains(string(dash), want) {
			t.Errorf("sam/dashboard.json has no %s", want)
		}
	}
}
