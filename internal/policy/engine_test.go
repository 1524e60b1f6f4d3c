package policy

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/finding"
)

const (
	keyARN = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	fsID   = "fs-0123456789abcdef0"
	// delegated is what efs_kms_key_policy_grants_efs says of the default
	// key policy: it leaves the decision to IAM identity policies.
	delegated = "statement Enable IAM User Permissions allows account 111122223333 as a whole, so its IAM identity policies decide " +
		"(the key policy does not block EFS): kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"
)

// embedded builds the engine from the embedded rules once per test binary.
var embedded = sync.OnceValues(func() (*Engine, error) { return New(context.Background()) })

func engine(t testing.TB) *Engine {
	t.Helper()
	e, err := embedded()
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// loadInput reads testdata/input-<name>.json as encoding/json decodes it.
func loadInput(t testing.TB, name string) *Input {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "input-"+name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	// A key the types do not have would be dropped silently and the
	// fixture would test less than it shows.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var in Input
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &in
}

func TestEvaluateRules(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Result
	}{
		{
			name:  "file system encrypted with a customer managed key and TLS enforced",
			input: "fs-encrypted-cmk-tls",
			want: []Result{
				{"efs_encrypted_at_rest", finding.Compliant, "encrypted with key " + keyARN},
				{"efs_encryption_in_transit_enforced", finding.Compliant, "file-system policy stops anonymous clients without TLS: statement DenyInsecureTransport denies ClientMount, ClientRootAccess, ClientWrite"},
			},
		},
		{
			name:  "file system created unencrypted without a policy",
			input: "fs-unencrypted",
			want: []Result{
				{"efs_encrypted_at_rest", finding.NonCompliant, "created with encrypted=false"},
				{"efs_encryption_in_transit_enforced", finding.NonCompliant, "no file-system policy: EFS grants every anonymous client full access, with or without TLS"},
			},
		},
		{
			name:  "AWS managed key while customer managed keys are required; BoolIfExists false",
			input: "fs-aws-managed-required-cmk",
			want: []Result{
				{"efs_encrypted_at_rest", finding.NonCompliant, "require_customer_managed_keys is set but the file system uses an AWS managed key (key reference alias/aws/elasticfilesystem is the AWS managed key)"},
				{"efs_encryption_in_transit_enforced", finding.Compliant, "file-system policy stops anonymous clients without TLS: statement 0 denies ClientMount, ClientRootAccess, ClientWrite"},
			},
		},
		{
			name:  "key outside allowed_kms_key_arns; SecureTransport condition on true",
			input: "fs-key-not-allowed",
			want: []Result{
				{"efs_encrypted_at_rest", finding.NonCompliant, "key " + keyARN + " is not in allowed_kms_key_arns"},
				{"efs_encryption_in_transit_enforced", finding.NonCompliant, "file-system policy lets anonymous clients in without TLS: statement 0 allows ClientMount"},
			},
		},
		{
			name:  "deleted file system",
			input: "fs-deleted",
			want: []Result{
				{"efs_encrypted_at_rest", finding.NotApplicable, "file system is deleted"},
				{"efs_encryption_in_transit_enforced", finding.NotApplicable, "file system is deleted"},
			},
		},
		{
			name:  "healthy customer managed key",
			input: "key-cmk-healthy",
			want: []Result{
				{"efs_kms_key_available", finding.Compliant, "key state is Enabled and no EFS grant of its file systems is revoked or retired"},
				{"efs_kms_key_policy_grants_efs", finding.Compliant, "for " + fsID + " (created by arn:aws:iam::111122223333:user/alice): " + delegated},
				{"efs_kms_key_symmetric", finding.Compliant, "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.Compliant, "automatic key rotation is enabled every 365 days"},
			},
		},
		{
			name:  "key scheduled for deletion",
			input: "key-pending-deletion",
			want: []Result{
				{"efs_kms_key_available", finding.NonCompliant, "key state is PendingDeletion (deletion scheduled)"},
				{"efs_kms_key_policy_grants_efs", finding.Compliant, "for " + fsID + " (creator unknown): " + delegated},
				{"efs_kms_key_symmetric", finding.Compliant, "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NotApplicable, "key state is PendingDeletion (deletion scheduled)"},
			},
		},
		{
			name:  "asymmetric key protecting a file system",
			input: "key-asymmetric",
			want: []Result{
				{"efs_kms_key_available", finding.Compliant, "key state is Enabled and no EFS grant of its file systems is revoked or retired"},
				{"efs_kms_key_policy_grants_efs", finding.NotApplicable, "key policy is unknown"},
				{"efs_kms_key_symmetric", finding.NonCompliant, "key spec is RSA_2048, not SYMMETRIC_DEFAULT"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NotApplicable, "key spec is RSA_2048: automatic rotation applies only to symmetric encryption keys"},
			},
		},
		{
			name:  "AWS managed key",
			input: "key-aws-managed",
			want: []Result{
				{"efs_kms_key_available", finding.Compliant, "key state is Enabled and no EFS grant of its file systems is revoked or retired"},
				{"efs_kms_key_policy_grants_efs", finding.Compliant, "key is AWS managed: AWS maintains its key policy"},
				{"efs_kms_key_symmetric", finding.Compliant, "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NotApplicable, "key is AWS managed: AWS rotates it every year"},
			},
		},
		{
			name:  "key protecting no file system, rotation off",
			input: "key-no-file-systems",
			want: []Result{
				{"efs_kms_key_available", finding.NotApplicable, "the key protects no live file system"},
				{"efs_kms_key_policy_grants_efs", finding.NotApplicable, "the key protects no live file system"},
				{"efs_kms_key_symmetric", finding.NotApplicable, "the key protects no live file system"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NonCompliant, "automatic key rotation is disabled"},
			},
		},
		{
			name:  "revoked EFS grant, narrow key policy, long rotation period",
			input: "key-grant-revoked-policy-narrow",
			want: []Result{
				{"efs_kms_key_available", finding.NonCompliant, "EFS grant g-revoked for file system " + fsID + " is revoked and no active EFS grant remains"},
				{"efs_kms_key_policy_grants_efs", finding.NonCompliant, "key policy blocks EFS: for " + fsID + " (created by arn:aws:sts::111122223333:assumed-role/app/deploy): no statement allows kms:DescribeKey; statement 1 denies kms:CreateGrant, kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext"},
				{"efs_kms_key_symmetric", finding.Compliant, "key is SYMMETRIC_DEFAULT with usage ENCRYPT_DECRYPT"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NonCompliant, "rotation period is 730 days, more than max_rotation_period_days 365"},
			},
		},
		{
			name:  "key never described",
			input: "key-unknown",
			want: []Result{
				{"efs_kms_key_available", finding.NotApplicable, "key state is unknown"},
				{"efs_kms_key_policy_grants_efs", finding.NotApplicable, "key policy is unknown"},
				{"efs_kms_key_symmetric", finding.NotApplicable, "key spec is unknown"},
				{"efs_kms_key_verified", finding.NotApplicable, "no envelope round trip was performed for the key"},
				{"kms_key_rotation_enabled", finding.NotApplicable, "key metadata is unknown"},
			},
		},
	}
	e := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := e.Evaluate(t.Context(), loadInput(t, tt.input))
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Evaluate:\n got %q\nwant %q", got, tt.want)
			}
			// Any subset of the rules gives the same results for its
			// rules: each alone, and all but one.
			for i := range tt.want {
				for _, want := range [][]Result{{tt.want[i]}, slices.Delete(slices.Clone(tt.want), i, i+1)} {
					var ids []string
					for _, r := range want {
						ids = append(ids, r.Rule)
					}
					got, err := e.EvaluateRules(t.Context(), loadInput(t, tt.input), ids)
					if err != nil || !slices.Equal(got, want) {
						t.Errorf("EvaluateRules %v:\n got %q, %v\nwant %q", ids, got, err, want)
					}
				}
			}
		})
	}
}

func TestTriggered(t *testing.T) {
	tests := []struct {
		name, resourceType, event string
		want                      []string
	}{
		{name: "grant on a key: availability and the round trip", resourceType: "AWS::KMS::Key", event: "CreateGrant",
			want: []string{"efs_kms_key_available", "efs_kms_key_verified"}},
		{name: "rotation on a key", resourceType: "AWS::KMS::Key", event: "EnableKeyRotation",
			want: []string{"efs_kms_key_verified", "kms_key_rotation_enabled"}},
		{name: "key policy", resourceType: "AWS::KMS::Key", event: "PutKeyPolicy",
			want: []string{"efs_kms_key_policy_grants_efs", "efs_kms_key_verified"}},
		{name: "creating a key changes every key rule", resourceType: "AWS::KMS::Key", event: "CreateKey",
			want: []string{"efs_kms_key_available", "efs_kms_key_policy_grants_efs", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"}},
		{name: "file-system policy", resourceType: "AWS::EFS::FileSystem", event: "PutFileSystemPolicy",
			want: []string{"efs_encryption_in_transit_enforced"}},
		{name: "trail rule lists no triggers: every event", resourceType: "AWS::CloudTrail::Trail", event: "StopLogging",
			want: []string{"cloudtrail_monitoring_intact"}},
		{name: "unrelated event on a file system", resourceType: "AWS::EFS::FileSystem", event: "CreateGrant"},
		{name: "event name of no interest", resourceType: "AWS::KMS::Key", event: "Decrypt",
			want: []string{"efs_kms_key_verified"}},
	}
	e := engine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.Triggered(tt.resourceType, tt.event); !slices.Equal(got, tt.want) {
				t.Errorf("Triggered(%s, %s) = %v, want %v", tt.resourceType, tt.event, got, tt.want)
			}
		})
	}
}

func TestRules(t *testing.T) {
	e := engine(t)
	var ids []string
	for _, m := range e.Rules() {
		ids = append(ids, m.ID+" "+m.ResourceType+" "+m.Severity)
		if m.Title == "" || m.Description == "" || m.Remediation == "" || len(m.Controls) == 0 || len(m.RelatedResources) == 0 {
			t.Errorf("rule %s: incomplete metadata %+v", m.ID, m)
		}
	}
	want := []string{
		"cloudtrail_monitoring_intact AWS::CloudTrail::Trail HIGH",
		"efs_encrypted_at_rest AWS::EFS::FileSystem HIGH",
		"efs_encryption_in_transit_enforced AWS::EFS::FileSystem MEDIUM",
		"efs_kms_key_available AWS::KMS::Key CRITICAL",
		"efs_kms_key_policy_grants_efs AWS::KMS::Key HIGH",
		"efs_kms_key_symmetric AWS::KMS::Key HIGH",
		"efs_kms_key_verified AWS::KMS::Key CRITICAL",
		"kms_key_rotation_enabled AWS::KMS::Key MEDIUM",
	}
	if !slices.Equal(ids, want) {
		t.Errorf("Rules:\n got %q\nwant %q", ids, want)
	}
	m, ok := e.Meta("kms_key_rotation_enabled")
	wantControls := []string{"AWS Security Hub KMS.4", "CIS AWS Foundations Benchmark v3.0.0 3.6", "NIST 800-53 SC-12"}
	if !ok || !slices.Equal(m.Controls, wantControls) {
		t.Errorf("Meta(kms_key_rotation_enabled) = %+v, %v; want controls %q", m, ok, wantControls)
	}
	if _, ok := e.Meta("no_such_rule"); ok {
		t.Error("Meta(no_such_rule) found a rule")
	}
	// Rules returns a copy: changing it does not change the engine.
	e.Rules()[0].ID = "changed"
	if e.Rules()[0].ID != "cloudtrail_monitoring_intact" {
		t.Error("Rules exposes the engine's slice")
	}
}

// TestReadsEvent holds that no embedded rule reads the triggering event (or
// the input as a whole), which lets the pipeline reuse a resource's results
// across records, and that a rule that does is noticed.
func TestReadsEvent(t *testing.T) {
	if e := engine(t); e.ReadsEvent() {
		t.Fatal("an embedded rule reads input.event: results cannot be reused across records")
	}
	// lib reads the event in a function, whether a rule calls it or not.
	const lib = "package atrest.lib.ev\n\nname(_) := input.event.event_name\n\nunused := input.event\n"
	tests := []struct {
		name string
		body string
		want bool
	}{
		{name: "reads input.event", body: `results contains {"rule": "good", "status": "COMPLIANT", "reason": input.event.event_name} if input.resource_type == "AWS::EFS::FileSystem"`, want: true},
		{name: "reads the whole input", body: `results contains {"rule": "good", "status": "COMPLIANT", "reason": object.get(input, "x", "y")} if input.resource_type == "AWS::EFS::FileSystem"`, want: true},
		{name: "calls a function that reads input.event", body: "import data.atrest.lib.ev\n\n" + `results contains {"rule": "good", "status": "COMPLIANT", "reason": ev.name(1)} if input.resource_type == "AWS::EFS::FileSystem"`, want: true},
		{name: "reads the snapshot only", body: `results contains {"rule": "good", "status": "COMPLIANT", "reason": input.resource} if input.resource_type == "AWS::EFS::FileSystem"`},
		// What no rule reaches changes no result.
		{name: "the library reads input.event where no rule calls it", body: `results contains {"rule": "good", "status": "COMPLIANT", "reason": input.resource} if input.resource_type == "AWS::EFS::FileSystem"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := newEngine(t.Context(), testRules(t, map[string]string{"efs/x.rego": rule("good", "good", tt.body), "lib/ev.rego": lib}))
			if err != nil {
				t.Fatal(err)
			}
			if got := e.ReadsEvent(); got != tt.want {
				t.Errorf("ReadsEvent = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestUnreadEventNotConverted: where no rule reads input.event the event is
// not converted, so one that could not be (a year past 9999) changes no
// result; a rule that reads it still gets an error for it.
func TestUnreadEventNotConverted(t *testing.T) {
	unconvertible := &EventInput{EventID: "e-1", EventName: "CreateKey", EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	t.Run("embedded rules", func(t *testing.T) {
		e, err := New(t.Context()) // its own: the memo is turned off below
		if err != nil {
			t.Fatal(err)
		}
		in := loadInput(t, "key-cmk-healthy")
		want, err := e.Evaluate(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		e.SetMemoSize(0) // evaluated again, not answered from the memo
		withEvent := *in
		withEvent.Event = unconvertible
		got, err := e.Evaluate(t.Context(), &withEvent)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("with an event no rule reads: %v, %v; want %v", got, err, want)
		}
	})
	t.Run("a rule reads the event", func(t *testing.T) {
		e, err := newEngine(t.Context(), testRules(t, map[string]string{"efs/x.rego": rule("good", "good",
			`results contains {"rule": "good", "status": "COMPLIANT", "reason": input.event.event_name} if input.resource_type == "AWS::EFS::FileSystem"`)}))
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Evaluate(t.Context(), &Input{ResourceType: "AWS::EFS::FileSystem", Resource: "fs-1", Event: unconvertible})
		if err == nil || len(got) != 1 || got[0].Status != finding.Error {
			t.Errorf("Evaluate = %v, %v; want an ERROR result and an error converting the event", got, err)
		}
	})
}
