package remediation

import (
	"encoding/json"
	"fmt"
	"strings"
)

// SecureTransportSid is the Sid of the statement AddSecureTransport adds.
const SecureTransportSid = "AtrestDenyInsecureTransport"

// PolicyVersion is the IAM policy language version of policies atrest
// writes.
const PolicyVersion = "2012-10-17"

// secureTransportStatement denies every action to every principal over a
// connection without TLS.
func secureTransportStatement() map[string]any {
	return map[string]any{
		"Sid":       SecureTransportSid,
		"Effect":    "Deny",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    "*",
		"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
	}
}

// defaultAccessStatement spells out what EFS grants while a file system has
// no policy (https://docs.aws.amazon.com/efs/latest/ug/iam-access-control-nfs-efs.html):
// full access for any client connecting through a mount target. A policy
// written where none existed carries it, so adding the deny statement
// changes nothing but the transport requirement.
func defaultAccessStatement() map[string]any {
	return map[string]any{
		"Sid":       "AtrestDefaultClientAccess",
		"Effect":    "Allow",
		"Principal": map[string]any{"AWS": "*"},
		"Action":    []any{"elasticfilesystem:ClientRootAccess", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientMount"},
		"Condition": map[string]any{"Bool": map[string]any{"elasticfilesystem:AccessedViaMountTarget": "true"}},
	}
}

// MergeSecureTransport adds a statement denying access without TLS to a
// file-system policy, keeping every existing statement and member. existing
// is the policy text, "" when the file system has none (EFS's default
// policy applies). changed is false when the policy already has an
// equivalent statement: a Deny for every principal, of every action (or
// every elasticfilesystem action, or all three client actions), on the
// condition aws:SecureTransport false.
func MergeSecureTransport(existing string) (merged string, changed bool, err error) {
	doc := map[string]any{}
	var statements []any
	if strings.TrimSpace(existing) == "" {
		doc["Version"] = PolicyVersion
		statements = []any{defaultAccessStatement()}
	} else {
		if err := json.Unmarshal([]byte(existing), &doc); err != nil {
			return "", false, fmt.Errorf("remediation: parse file system policy: %w", err)
		}
		switch s := doc["Statement"].(type) {
		case nil:
		case []any:
			statements = s
		case map[string]any:
			statements = []any{s}
		default:
			return "", false, fmt.Errorf("remediation: file system policy Statement is %T", s)
		}
		for _, s := range statements {
			if m, ok := s.(map[string]any); ok && DeniesInsecureTransport(m) {
				return existing, false, nil
			}
		}
	}
	doc["Statement"] = append(statements, secureTransportStatement())
	out, err := json.Marshal(doc)
	if err != nil {
		return "", false, fmt.Errorf("remediation: encode file system policy: %w", err)
	}
	return string(out), true, nil
}

// DeniesInsecureTransport reports whether a policy statement denies every
// client access over connections without TLS.
func DeniesInsecureTransport(s map[string]any) bool {
	if s["Effect"] != "Deny" || s["NotAction"] != nil || s["NotPrincipal"] != nil {
		return false
	}
	if !everyPrincipal(s["Principal"]) || !everyClientAction(s["Action"]) {
		return false
	}
	cond, _ := s["Condition"].(map[string]any)
	if len(cond) != 1 {
		return false // further conditions narrow the deny
	}
	b, _ := cond["Bool"].(map[string]any)
	if len(b) != 1 {
		return false
	}
	for k, v := range b {
		if !strings.EqualFold(k, "aws:SecureTransport") {
			return false
		}
		return isFalse(v)
	}
	return false
}

func isFalse(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.EqualFold(v, "false")
	case bool:
		return !v
	case []any:
		return len(v) == 1 && isFalse(v[0])
	}
	return false
}

func everyPrincipal(p any) bool {
	switch p := p.(type) {
	case string:
		return p == "*"
	case map[string]any:
		aws := p["AWS"]
		if l, ok := aws.([]any); ok && len(l) == 1 {
			aws = l[0]
		}
		return aws == "*"
	}
	return false
}

func everyClientAction(a any) bool {
	var actions []string
	switch a := a.(type) {
	case string:
		actions = []string{a}
	case []any:
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return false
			}
			actions = append(actions, s)
		}
	default:
		return false
	}
	need := map[string]bool{"elasticfilesystem:clientmount": true, "elasticfilesystem:clientwrite": true, "elasticfilesystem:clientrootaccess": true}
	for _, x := range actions {
		x = strings.ToLower(x)
		if x == "*" || x == "elasticfilesystem:*" || x == "elasticfilesystem:client*" {
			return true
		}
		delete(need, x)
	}
	return len(need) == 0
}
