package lambdafn_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// matchPattern reports whether an EventBridge event matches a pattern, for
// the parts of the pattern language the template uses and a few more:
// exact values (strings, numbers, booleans, null), prefix, anything-but
// (a value, a list, or a prefix) and exists. A pattern's object keys must
// all match; the values in a list are alternatives; an event array matches
// when any of its elements does.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-pattern-operators.html
func matchPattern(pattern map[string]any, event map[string]any) (bool, error) {
	for key, want := range pattern {
		got, present := event[key]
		switch w := want.(type) {
		case map[string]any:
			sub, ok := got.(map[string]any)
			if !ok {
				return false, nil
			}
			m, err := matchPattern(w, sub)
			if err != nil || !m {
				return false, err
			}
		case []any:
			m, err := matchList(w, got, present)
			if err != nil || !m {
				return false, err
			}
		default:
			return false, fmt.Errorf("pattern key %q: %T is neither an object nor a list", key, want)
		}
	}
	return true, nil
}

func matchList(alternatives []any, got any, present bool) (bool, error) {
	values := []any{got}
	if arr, ok := got.([]any); ok {
		values = arr
	}
	for _, alt := range alternatives {
		if op, ok := alt.(map[string]any); ok {
			m, err := matchOperator(op, values, present)
			if err != nil {
				return false, err
			}
			if m {
				return true, nil
			}
			continue
		}
		if !present {
			continue
		}
		for _, v := range values {
			if equalScalar(alt, v) {
				return true, nil
			}
		}
	}
	return false, nil
}

func matchOperator(op map[string]any, values []any, present bool) (bool, error) {
	if len(op) != 1 {
		return false, fmt.Errorf("operator %v: one key expected", op)
	}
	for name, arg := range op {
		switch name {
		case "exists":
			b, ok := arg.(bool)
			if !ok {
				s, _ := arg.(string)
				b, ok = s == "true", s == "true" || s == "false"
			}
			if !ok {
				return false, fmt.Errorf("exists: %v is not a boolean", arg)
			}
			return present == b, nil
		case "prefix":
			p, ok := arg.(string)
			if !ok {
				return false, fmt.Errorf("prefix: %v is not a string", arg)
			}
			for _, v := range values {
				if s, ok := v.(string); ok && present && strings.HasPrefix(s, p) {
					return true, nil
				}
			}
			return false, nil
		case "anything-but":
			if !present {
				return false, nil
			}
			for _, v := range values {
				excluded := false
				switch a := arg.(type) {
				case []any:
					for _, x := range a {
						excluded = excluded || equalScalar(x, v)
					}
				case map[string]any:
					p, _ := a["prefix"].(string)
					s, ok := v.(string)
					excluded = ok && strings.HasPrefix(s, p)
				default:
					excluded = equalScalar(a, v)
				}
				if !excluded {
					return true, nil
				}
			}
			return false, nil
		}
		return false, fmt.Errorf("operator %q is not supported", name)
	}
	return false, nil
}

// equalScalar compares a pattern value with an event value. Numbers from
// YAML arrive as strings or ints, from JSON as float64.
func equalScalar(p, v any) bool {
	switch v.(type) {
	case map[string]any, []any:
		return false
	}
	return fmt.Sprint(p) == fmt.Sprint(v)
}

func TestPatternMatcher(t *testing.T) {
	event := map[string]any{
		"source": "aws.kms", "detail": map[string]any{"eventName": "CreateKey", "tags": []any{"a", "b"}, "n": 5.0},
	}
	tests := []struct {
		name    string
		pattern string
		want    bool
	}{
		{"exact", `{"source":["aws.kms"]}`, true},
		{"exact other", `{"source":["aws.ec2"]}`, false},
		{"nested", `{"detail":{"eventName":["Decrypt","CreateKey"]}}`, true},
		{"missing field", `{"detail":{"errorCode":["x"]}}`, false},
		{"array element", `{"detail":{"tags":["b"]}}`, true},
		{"number", `{"detail":{"n":[5]}}`, true},
		{"prefix", `{"source":[{"prefix":"aws."}]}`, true},
		{"prefix other", `{"source":[{"prefix":"atrest"}]}`, false},
		{"anything-but value", `{"source":[{"anything-but":"aws.ec2"}]}`, true},
		{"anything-but list", `{"source":[{"anything-but":["aws.kms","aws.ec2"]}]}`, false},
		{"anything-but prefix", `{"source":[{"anything-but":{"prefix":"aws."}}]}`, false},
		{"anything-but missing", `{"detail":{"errorCode":[{"anything-but":"x"}]}}`, false},
		{"exists", `{"detail":{"eventName":[{"exists":true}]}}`, true},
		{"not exists", `{"detail":{"errorCode":[{"exists":false}]}}`, true},
		{"exists missing", `{"detail":{"errorCode":[{"exists":true}]}}`, false},
		{"object against scalar", `{"source":{"x":["y"]}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p map[string]any
			if err := json.Unmarshal([]byte(tc.pattern), &p); err != nil {
				t.Fatal(err)
			}
			got, err := matchPattern(p, event)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

// unrelatedEvents are events on the default bus or the findings bus that no
// function may receive.
var unrelatedEvents = map[string]string{
	"kms decrypt":           `{"source":"aws.kms","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}}`,
	"kms key rotation":      `{"source":"aws.kms","detail-type":"KMS CMK Rotation","detail":{"key-id":"1234"}}`,
	"efs mount target":      `{"source":"aws.elasticfilesystem","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"elasticfilesystem.amazonaws.com","eventName":"CreateMountTarget"}}`,
	"ec2 create volume":     `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateVolume"}}`,
	"kms name, efs source":  `{"source":"aws.kms","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"elasticfilesystem.amazonaws.com","eventName":"CreateKey"}}`,
	"atrest remediation":    `{"source":"atrest","detail-type":"Atrest Remediation","detail":{"status":"NON_COMPLIANT","remediation":{"action":"enable_key"}}}`,
	"finding, no action":    `{"source":"atrest","detail-type":"Atrest Finding","detail":{"status":"NON_COMPLIANT","remediation":{"action":""}}}`,
	"finding, other source": `{"source":"someone.else","detail-type":"Atrest Finding","detail":{"status":"NON_COMPLIANT","remediation":{"action":"enable_key"}}}`,
}

func TestRulePatternsSelectTheirEvents(t *testing.T) {
	tp := loadTemplate(t)
	patterns := rulePatterns(t, tp)
	// Which function's rules each sample event reaches; "" for none.
	want := map[string]string{
		"remediate-kms-rotation-off.json":              "remediate",
		"remediate-efs-unencrypted.json":               "remediate",
		"remediate-compliant-skipped.json":             "",
		"sweep-scheduled.json":                         "", // the Schedule event, not a pattern rule
		"verify-scheduled.json":                        "", // the Schedule event, not a pattern rule
		"91-malformed-eventbridge-missing-detail.json": "",
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, "events", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, path := range files {
		base := filepath.Base(path)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var ev map[string]any
		if json.Unmarshal(data, &ev) != nil {
			continue // not one JSON object: EventBridge never delivers it
		}
		expect, listed := want[base]
		if !listed {
			// Every EventBridge-shaped sample of a KMS or EFS API call
			// reaches trail-events; other shapes reach no rule.
			if strings.Contains(base, "-eventbridge-") && !strings.Contains(base, "malformed") {
				expect = "trail-events"
			}
		}
		t.Run(base, func(t *testing.T) {
			got := matchingFunctions(t, patterns, ev)
			if expect == "" && len(got) != 0 {
				t.Fatalf("reaches %v, want no function", got)
			}
			if expect != "" && (len(got) != 1 || got[0] != expect) {
				t.Fatalf("reaches %v, want exactly %s", got, expect)
			}
		})
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d sample events checked", checked)
	}
	for name, raw := range unrelatedEvents {
		t.Run("unrelated "+name, func(t *testing.T) {
			var ev map[string]any
			if err := json.Unmarshal([]byte(raw), &ev); err != nil {
				t.Fatal(err)
			}
			if got := matchingFunctions(t, patterns, ev); len(got) != 0 {
				t.Fatalf("reaches %v", got)
			}
		})
	}
}

// matchingFunctions returns the functions with a rule matching ev, each once.
func matchingFunctions(t *testing.T, patterns map[string][]map[string]any, ev map[string]any) []string {
	t.Helper()
	var out []string
	for fn, pats := range patterns {
		for _, p := range pats {
			m, err := matchPattern(p, ev)
			if err != nil {
				t.Fatalf("%s pattern: %v", fn, err)
			}
			if m {
				out = append(out, fn)
				break
			}
		}
	}
	return out
}
