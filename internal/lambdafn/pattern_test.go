package lambdafn_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/eventpattern"
)

// matchPattern reports whether an EventBridge event matches a pattern from
// the template, with the matcher the monitoring rule uses.
func matchPattern(pattern map[string]any, event map[string]any) (bool, error) {
	p, err := eventpattern.FromValue(pattern)
	if err != nil {
		return false, err
	}
	return p.Match(event), nil
}

// unrelatedEvents are events on the default bus or the findings bus that no
// function may receive.
var unrelatedEvents = map[string]string{
	"kms decrypt":                   `{"source":"aws.kms","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"kms.amazonaws.com","eventName":"Decrypt"}}`,
	"kms key rotation":              `{"source":"aws.kms","detail-type":"KMS CMK Rotation","detail":{"key-id":"1234"}}`,
	"kms rotate service event":      `{"source":"aws.kms","detail-type":"AWS Service Event via CloudTrail","detail":{"eventSource":"kms.amazonaws.com","eventName":"RotateKey","eventType":"AwsServiceEvent"}}`,
	"efs service event detail-type": `{"source":"aws.elasticfilesystem","detail-type":"AWS Service Event via CloudTrail","detail":{"eventSource":"elasticfilesystem.amazonaws.com","eventName":"CreateFileSystem"}}`,
	"efs mount target":              `{"source":"aws.elasticfilesystem","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"elasticfilesystem.amazonaws.com","eventName":"CreateMountTarget"}}`,
	"ec2 create volume":             `{"source":"aws.ec2","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"ec2.amazonaws.com","eventName":"CreateVolume"}}`,
	"kms name, efs source":          `{"source":"aws.kms","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"elasticfilesystem.amazonaws.com","eventName":"CreateKey"}}`,
	"atrest remediation":            `{"source":"atrest","detail-type":"Atrest Remediation","detail":{"status":"NON_COMPLIANT","remediation":{"action":"enable_key"}}}`,
	"finding, no action":            `{"source":"atrest","detail-type":"Atrest Finding","detail":{"status":"NON_COMPLIANT","remediation":{"action":""}}}`,
	"finding, other source":         `{"source":"someone.else","detail-type":"Atrest Finding","detail":{"status":"NON_COMPLIANT","remediation":{"action":"enable_key"}}}`,
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
