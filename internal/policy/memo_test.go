package policy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

// TestReadsOfEmbeddedRules checks the input paths worked out for rules
// whose reads are known from their source: every rule is remembered, the
// key policy rule reads the key policy and the file systems, and no path
// lies under another.
func TestReadsOfEmbeddedRules(t *testing.T) {
	e := engine(t)
	for _, m := range e.Rules() {
		paths, ok := e.Reads(m.ID)
		if !ok {
			t.Errorf("%s: not remembered", m.ID)
			continue
		}
		if !slices.Contains(paths, "input.resource_type") {
			t.Errorf("%s reads %v: want input.resource_type, which every rule compares", m.ID, paths)
		}
		for i, p := range paths {
			for _, q := range paths[:i] {
				if p == q || len(p) > len(q) && p[:len(q)+1] == q+"." {
					t.Errorf("%s: %s lies under %s", m.ID, p, q)
				}
			}
		}
	}
	want := map[string][]string{
		"efs_kms_key_policy_grants_efs": {"input.file_systems", "input.key.policy", "input.resource"},
		"efs_kms_key_verified":          {"input.verification"},
	}
	for id, wantPaths := range want {
		paths, _ := e.Reads(id)
		for _, p := range wantPaths {
			if !slices.Contains(paths, p) {
				t.Errorf("%s reads %v: want %s among them", id, paths, p)
			}
		}
	}
	// These name no resource in their reasons (an unused key's included),
	// so one verdict serves every key in the same state.
	for _, id := range []string{"efs_kms_key_available", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"} {
		if paths, _ := e.Reads(id); slices.Contains(paths, "input.key") || slices.Contains(paths, "input.resource") || slices.Contains(paths, "input.key.arn") {
			t.Errorf("%s reads %v: its source reads neither the key as a whole nor its name", id, paths)
		}
	}
	// The file-system rules read the file system's fields one by one, none
	// that names it; the in-transit rule reads the resource only after a
	// statement of the file-system policy (TestMemoSharesFileSystemsInTheSameState).
	for _, id := range []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"} {
		paths, _ := e.Reads(id)
		for _, p := range []string{"input", "input.file_system", "input.file_system.id", "input.file_system.arn", "input.file_system.creator"} {
			if slices.Contains(paths, p) {
				t.Errorf("%s reads %v: its source does not read %s", id, paths, p)
			}
		}
		if id == "efs_encrypted_at_rest" && slices.Contains(paths, "input.resource") {
			t.Errorf("%s reads %v: its source does not read input.resource", id, paths)
		}
	}
}

// TestReadsOfTestRules checks the analysis on small rule sets: a path read
// through a rule, a function and an else branch is found; reading input
// whole is the whole input; a rule that calls a non-deterministic builtin
// or uses `with` is not remembered.
func TestReadsOfTestRules(t *testing.T) {
	e, err := newEngine(t.Context(), testRules(t, map[string]string{
		"efs/paths.rego": rule("paths", "paths", `results contains {"rule": "paths", "status": s, "reason": "r"} if {
	input.resource_type == "AWS::EFS::FileSystem"
	s := verdict
}

verdict := "COMPLIANT" if {
	enc(input.file_system)
} else := "NON_COMPLIANT" if {
	input.key.key_state == "Disabled"
} else := "NOT_APPLICABLE"

enc(fs) if fs.encrypted`),
		"efs/whole.rego": rule("whole", "whole", `results contains {"rule": "whole", "status": "COMPLIANT", "reason": sprintf("%v", [input])} if {
	input.resource_type == "AWS::EFS::FileSystem"
}`),
		"efs/shape.rego": rule("shape", "shape", `results contains {"rule": "shape", "status": "COMPLIANT", "reason": sprintf("%v %v", [type_name(input.trail), n])} if {
	input.resource_type == "AWS::EFS::FileSystem"
	is_array(input.file_systems)
	count(input.file_systems) > 0
	n := count(input.key.grants)
	some g in input.key.grants
	g.state == "active"
	count(input.watched) > count(input.watched.dropped)
	state := input.key.key_state
	is_string(state)
	state != "Disabled"
}`),
		"efs/clock.rego": rule("clock", "clock", `results contains {"rule": "clock", "status": "COMPLIANT", "reason": sprintf("%d", [time.now_ns()])} if {
	input.resource_type == "AWS::EFS::FileSystem"
}`),
		"efs/with.rego": rule("with_kw", "with_kw", `results contains {"rule": "with_kw", "status": "COMPLIANT", "reason": r} if {
	input.resource_type == "AWS::EFS::FileSystem"
	r := reason with input.resource as "x"
}

reason := input.resource`),
	}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id   string
		want []string // nil: not remembered
	}{
		{"paths", []string{"input.file_system", "input.key.key_state", "input.resource_type"}},
		{"whole", []string{"input"}},
		// Only the type or count of a value is a read of its shape; a value
		// also read whole is read whole (the grants, the key state compared),
		// and so is what lies under a shape (a shape covers nothing).
		{"shape", []string{"shape(input.file_systems)", "input.key.grants", "input.key.key_state", "input.resource_type", "shape(input.trail)", "shape(input.watched)", "shape(input.watched.dropped)"}},
		{"clock", nil},
		{"with_kw", nil},
	} {
		got, ok := e.Reads(tc.id)
		if tc.want == nil {
			if ok {
				t.Errorf("%s: remembered with reads %v, want not remembered", tc.id, got)
			}
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s reads %v, want %v", tc.id, got, tc.want)
		}
	}

	// The clock rule is evaluated every time: two evaluations of one input
	// give two readings of the clock.
	first, err := e.EvaluateRules(t.Context(), fsInput, []string{"clock"})
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.EvaluateRules(t.Context(), fsInput, []string{"clock"})
	if err != nil {
		t.Fatal(err)
	}
	if first[0].Reason == second[0].Reason {
		t.Errorf("clock rule answered %q twice: a non-deterministic rule was remembered", first[0].Reason)
	}
}

// TestMemoAnswersAsEvaluation judges every fixture, and each fixture again
// with what no rule of the paths reads changed (another resource for rules
// that do not name it, another event), on an engine with a memo and one
// without: the results are the same, and the memo answers the repeats.
func TestMemoAnswersAsEvaluation(t *testing.T) {
	ctx := context.Background()
	memo, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plain := plainEngine(t)
	names := []string{
		"fs-aws-managed-required-cmk", "fs-deleted", "fs-encrypted-cmk-tls", "fs-key-not-allowed",
		"fs-unencrypted", "key-asymmetric", "key-aws-managed", "key-cmk-healthy",
		"key-grant-revoked-policy-narrow", "key-no-file-systems", "key-pending-deletion", "key-unknown",
	}
	var inputs []*Input
	for _, name := range names {
		in := loadInput(t, name)
		other := *in
		other.Resource += "-other"
		other.Event = &EventInput{EventName: "TagResource", EventSource: "kms.amazonaws.com"}
		inputs = append(inputs, in, &other)
	}
	// A key policy parsed from a text is remembered by the text: the same
	// key with its policy changed to another text is judged anew.
	healthy, narrow := loadInput(t, "key-cmk-healthy"), loadInput(t, "key-grant-revoked-policy-narrow")
	for _, pair := range [][2]*Input{{healthy, narrow}, {narrow, healthy}} {
		for _, pol := range []any{pair[0].Key.Policy, pair[1].Key.Policy} {
			text, err := json.Marshal(pol)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := NewDocumentText(string(text), pol)
			if err != nil {
				t.Fatal(err)
			}
			in, key := *pair[0], *pair[0].Key
			key.Policy, in.Key = doc, &key
			inputs = append(inputs, &in)
		}
	}
	for round := range 2 {
		for i, in := range inputs {
			want, wantErr := plain.Evaluate(ctx, in)
			got, gotErr := memo.Evaluate(ctx, in)
			if !slices.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("round %d, input %d (%s): memo %v (%v), evaluation %v (%v)", round, i, in.Resource, got, gotErr, want, wantErr)
			}
		}
	}
	st := memo.MemoStats()
	// The second round is answered whole; so is, in the first, every rule
	// of a copy that does not read input.resource.
	if total := st.Hits + st.Misses; st.Hits < total/2 {
		t.Errorf("memo answered %d of %d results, want at least half", st.Hits, total)
	}
	if p := plain.MemoStats(); p.Hits != 0 {
		t.Errorf("engine without a memo answered %d results from it", p.Hits)
	}
}

// TestMemoSharesFileSystemsInTheSameState judges file systems that differ
// only in their names (ID, ARN, creator, and the ARN where their policy
// names it): the file-system rules name none in their reasons and read the
// file system's fields one by one, and the in-transit rule reads the
// policy relative to the file system, so a file system in a state already
// judged is answered from the memo, rule by rule, as evaluation answers
// it. A policy naming other resources than the file system itself (a
// pattern) is relative to the resource as it is, and the in-transit rule
// then judges each file system anew.
func TestMemoSharesFileSystemsInTheSameState(t *testing.T) {
	ctx := context.Background()
	plain := plainEngine(t)
	const arnPrefix = "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/"
	// deny is the console's in-transit statement on resource.
	deny := func(resource any) any {
		return map[string]any{
			"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": map[string]any{"AWS": "*"},
			"Action": "*", "Resource": resource,
			"Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}},
		}
	}
	named := func(arn string) any { return map[string]any{"Statement": []any{deny(arn)}} }
	for _, tc := range []struct {
		input  string
		policy func(arn string) any // the file system's policy, nil to keep the fixture's
		shared []string             // the rules the renamed file system is answered from the memo for
	}{
		{"fs-unencrypted", nil, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		{"fs-deleted", nil, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		{"fs-key-not-allowed", nil, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		{"fs-encrypted-cmk-tls", nil, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		// A template: every statement names the file system itself.
		{"fs-encrypted-cmk-tls", named, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		{"fs-encrypted-cmk-tls", func(arn string) any {
			return map[string]any{"Statement": []any{deny([]any{"*", arn})}}
		}, []string{"efs_encrypted_at_rest", "efs_encryption_in_transit_enforced"}},
		// A pattern may cover one file system and not another.
		{"fs-encrypted-cmk-tls", func(string) any {
			return map[string]any{"Statement": []any{deny(arnPrefix + "fs-0123*")}}
		}, []string{"efs_encrypted_at_rest"}},
		// Another file system's ARN.
		{"fs-encrypted-cmk-tls", func(string) any {
			return map[string]any{"Statement": []any{deny(arnPrefix + "fs-0aaaaaaaaaaaaaaaa")}}
		}, []string{"efs_encrypted_at_rest"}},
	} {
		t.Run(tc.input, func(t *testing.T) {
			e, err := New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := loadInput(t, tc.input)
			if first.FileSystem == nil {
				t.Fatalf("%s describes no file system", tc.input)
			}
			named := func(in *Input, id string) *Input {
				out, fs := *in, *in.FileSystem
				fs.ID = id
				fs.ARN = arnPrefix + id
				fs.Creator = "arn:aws:iam::111122223333:user/" + id
				if tc.policy != nil {
					fs.Policy = tc.policy(fs.ARN)
				}
				out.Resource, out.FileSystem = fs.ARN, &fs
				return &out
			}
			for i, in := range []*Input{named(first, "fs-0123456789abcdef0"), named(first, "fs-0fedcba9876543210")} {
				before := e.MemoStats()
				got, gotErr := e.Evaluate(ctx, in)
				want, wantErr := plain.Evaluate(ctx, in)
				if gotErr != nil || wantErr != nil || !slices.Equal(got, want) {
					t.Fatalf("file system %d: memo %v (%v), evaluation %v (%v)", i, got, gotErr, want, wantErr)
				}
				hits := e.MemoStats().Hits - before.Hits
				if want := len(tc.shared); i == 1 && hits != want {
					t.Errorf("renamed file system: %d rules answered from the memo, want %d (%v)", hits, want, tc.shared)
				}
				if i == 0 && hits != 0 {
					t.Errorf("first file system: %d rules answered from an empty memo", hits)
				}
			}
		})
	}
}

// TestMemoSharesKeysProtectingAsManyFileSystems judges a key again with
// other file systems: the symmetric rule asks only how many the key protects
// (the finding lists which), so it is answered from the memo for as many and
// judged anew for more; the availability rule reads them only to match an
// EFS grant, so it is answered from the memo for a key without grants; the
// key policy rule reads them only for a policy it can evaluate, so it is
// answered from the memo for a key whose policy is unknown. Every answer is
// held to the plain engine's.
func TestMemoSharesKeysProtectingAsManyFileSystems(t *testing.T) {
	ctx := context.Background()
	plain := plainEngine(t)
	protecting := func(in *Input, ids ...string) *Input {
		out := *in
		out.FileSystems = nil
		for _, id := range ids {
			out.FileSystems = append(out.FileSystems, FileSystemRef{
				ARN: "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/" + id, ID: id,
				Account: "111122223333", Region: "us-east-1", Creator: "arn:aws:iam::111122223333:user/" + id,
			})
		}
		return &out
	}
	for _, tc := range []struct {
		input string
		// shared are the rules answered from the memo for other file
		// systems, as many; more are those for one file system more.
		shared, more []string
	}{
		{"key-cmk-healthy", // an active EFS grant
			[]string{"efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"},
			[]string{"efs_kms_key_verified", "kms_key_rotation_enabled"}},
		{"key-asymmetric", // its policy unknown
			[]string{"efs_kms_key_policy_grants_efs", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"},
			[]string{"efs_kms_key_verified", "kms_key_rotation_enabled"}},
		{"key-unknown", // no grant, its policy unknown
			[]string{"efs_kms_key_available", "efs_kms_key_policy_grants_efs", "efs_kms_key_symmetric", "efs_kms_key_verified", "kms_key_rotation_enabled"},
			[]string{"efs_kms_key_verified", "kms_key_rotation_enabled"}}, // both rules ask how many
	} {
		t.Run(tc.input, func(t *testing.T) {
			e, err := New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := loadInput(t, tc.input)
			if len(first.FileSystems) != 1 {
				t.Fatalf("%s protects %d file systems, want 1", tc.input, len(first.FileSystems))
			}
			for i, step := range []struct {
				in     *Input
				shared []string
			}{
				{first, nil},
				{protecting(first, "fs-0fedcba9876543210"), tc.shared},
				{protecting(first, "fs-0fedcba9876543210", "fs-0aaaabbbbccccdddd"), tc.more},
			} {
				before := e.MemoStats()
				got, gotErr := e.Evaluate(ctx, step.in)
				want, wantErr := plain.Evaluate(ctx, step.in)
				if gotErr != nil || wantErr != nil || !slices.Equal(got, want) {
					t.Fatalf("step %d: memo %v (%v), evaluation %v (%v)", i, got, gotErr, want, wantErr)
				}
				if hits := e.MemoStats().Hits - before.Hits; hits != len(step.shared) {
					t.Errorf("step %d: %d rules answered from the memo, want %d (%v)", i, hits, len(step.shared), step.shared)
				}
			}
		})
	}
}

// TestMemoVerifiedRuleReadsFileSystemsOnlyForARoundTrip judges a key that
// protects one file system and then another: without a round trip's outcome
// the verification rule names no file system and is answered from the memo;
// with one that ran, its reason names them and the key is judged anew.
func TestMemoVerifiedRuleReadsFileSystemsOnlyForARoundTrip(t *testing.T) {
	ctx := context.Background()
	plain := plainEngine(t)
	for _, tc := range []struct {
		name         string
		verification *VerificationInput
		shared       bool
	}{
		{"no round trip", nil, true},
		{"round trip passed", &VerificationInput{Performed: true, OK: true, AlgorithmSuite: "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY"}, false},
		{"round trip failed", &VerificationInput{Performed: true, Step: "Decrypt", Reason: "disabled"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(ctx)
			if err != nil {
				t.Fatal(err)
			}
			first := *loadInput(t, "key-cmk-healthy")
			if len(first.FileSystems) == 0 {
				t.Fatal("key-cmk-healthy protects no file system")
			}
			first.Verification = tc.verification
			second := first
			second.FileSystems = []FileSystemRef{{ARN: "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0fedcba9876543210",
				ID: "fs-0fedcba9876543210", Account: "111122223333", Region: "eu-west-1"}}
			ids := []string{"efs_kms_key_verified"}
			for i, in := range []*Input{&first, &second} {
				before := e.MemoStats()
				got, gotErr := e.EvaluateRules(ctx, in, ids)
				want, wantErr := plain.EvaluateRules(ctx, in, ids)
				if gotErr != nil || wantErr != nil || !slices.Equal(got, want) {
					t.Fatalf("key %d: memo %v (%v), evaluation %v (%v)", i, got, gotErr, want, wantErr)
				}
				hit := e.MemoStats().Hits > before.Hits
				if i == 1 && hit != tc.shared {
					t.Errorf("the key protecting another file system: answered from the memo %v, want %v (%v)", hit, tc.shared, got)
				}
			}
		})
	}
}

// TestMemoBounded fills a memo of two results and checks it stays within
// its bound and still answers as evaluation does.
func TestMemoBounded(t *testing.T) {
	ctx := context.Background()
	e, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e.SetMemoSize(2)
	in := loadInput(t, "key-cmk-healthy")
	want, err := e.Evaluate(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.memo.results); n > 2 {
		t.Fatalf("memo holds %d results, bound 2", n)
	}
	got, err := e.Evaluate(ctx, in)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("second evaluation %v (%v), want %v", got, err, want)
	}
}

// TestGuardedReads checks which paths the analysis finds read only while an
// input collection holds an element: a path read through a rule, a
// function or an else branch referred to after `some f in
// input.file_systems` is; one also read before the iteration (in the same
// body or another), read
// directly in the body (which the rule index may look up first), or after
// an iteration that is negated or inside a comprehension, is not. A path
// read after `is_object(input.key.policy)` is read only while the value is
// an object; after a negated one, or one whose answer is bound, it is not
// guarded. The memo's answers follow: each is the plain engine's.
func TestGuardedReads(t *testing.T) {
	src := map[string]string{
		// Through a rule referred to after the iteration only.
		"guarded": `named contains n if {
	some f in input.file_systems
	n := sprintf("%s/%s", [label, f.id])
}

label := input.resource`,
		// Through a function and an else branch.
		"function": `named contains n if {
	some f in input.file_systems
	n := tag(f.id)
}

tag(id) := sprintf("%s:%s", [input.key.key_state, id]) if input.key.known
else := sprintf("%s:%s", [input.resource, id])`,
		// The same rule also referred to before any iteration.
		"also_before": `named contains n if {
	label != ""
	some f in input.file_systems
	n := sprintf("%s/%s", [label, f.id])
}

label := input.resource`,
		// Referred to by another rule before any iteration.
		"two_callers": `named contains n if {
	some f in input.file_systems
	n := sprintf("%s/%s", [label, f.id])
}

named contains upper(label)

label := input.resource`,
		// Read in the body itself.
		"direct": `named contains n if {
	some f in input.file_systems
	n := sprintf("%s/%s", [input.resource, f.id])
}`,
		// A negated iteration holds nothing.
		"negated": `named contains n if {
	not input.file_systems[0].id == "fs-x"
	n := label
}

label := input.resource`,
		// Nor does one inside a comprehension.
		"comprehension": `named contains n if {
	ids := [f.id | some f in input.file_systems]
	n := sprintf("%s/%v", [label, ids])
}

label := input.resource`,
		// is_object of an input value, in a body and in an else branch
		// (whose head's call the compiler moves after it).
		"object": `named contains n if {
	is_object(input.key.policy)
	n := label
}

named contains tag

tag := "known" if {
	input.key.known
} else := upper(label) if is_object(input.key.policy)

label := input.resource`,
		// A negated is_object holds nothing.
		"object_negated": `named contains n if {
	not is_object(input.key.policy)
	n := label
}

label := input.resource`,
		// Nor does one whose answer is bound rather than asserted.
		"object_bound": `named contains n if {
	o := is_object(input.key.policy)
	o == true
	n := label
}

label := input.resource`,
		// Nor one of a path that is not ground: only the lookup under it,
		// which finds nothing in an empty collection.
		"object_not_ground": `named contains n if {
	some f in input.file_systems
	is_object(input.key.policy[f.id])
	n := label
}

label := input.resource`,
	}
	files := map[string]string{}
	for id, body := range src {
		files["efs/"+id+".rego"] = rule(id, id, `results contains {"rule": "`+id+`", "status": "COMPLIANT", "reason": sprintf("[%s]", [concat(",", named)])} if {
	input.resource_type == "AWS::EFS::FileSystem"
}

`+body)
	}
	e, err := newEngine(t.Context(), testRules(t, files))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string][]string{ // rule -> path -> guards; paths not named have none
		"guarded":           {"input.resource": {"input.file_systems"}},
		"function":          {"input.resource": {"input.file_systems"}, "input.key.key_state": {"input.file_systems"}, "input.key.known": {"input.file_systems"}},
		"also_before":       {},
		"two_callers":       {},
		"direct":            {},
		"negated":           {},
		"comprehension":     {},
		"object":            {"input.resource": {"is_object(input.key.policy)"}},
		"object_negated":    {},
		"object_bound":      {},
		"object_not_ground": {"input.resource": {"input.file_systems", "input.key.policy"}}, // the lookup iterates it
	}
	for id, wantGuards := range want {
		paths, ok := e.reads[id]
		if !ok {
			t.Errorf("%s: not remembered", id)
			continue
		}
		if !slices.ContainsFunc(paths, func(p inputPath) bool { return p.name == "input.resource" }) {
			t.Errorf("%s: input.resource not among its reads", id)
		}
		for _, p := range paths {
			var got []string
			for _, g := range p.guards {
				got = append(got, g.name)
			}
			if !slices.Equal(got, wantGuards[p.name]) {
				t.Errorf("%s: %s read while %v hold elements, want %v", id, p.name, got, wantGuards[p.name])
			}
		}
	}

	// The memo answers a rule whose guarded path differs only where its
	// guard is empty, and evaluates it again where the guard holds an
	// element: the results are those of evaluation.
	plain, err := newEngine(t.Context(), testRules(t, files))
	if err != nil {
		t.Fatal(err)
	}
	plain.SetMemoSize(0)
	// judge evaluates in's rules ids on both engines: the memo's answers
	// are evaluation's, and it gives hits of them.
	judge := func(name string, in *Input, ids []string, hits int) {
		t.Helper()
		before := e.MemoStats().Hits
		got, err := e.EvaluateRules(t.Context(), in, ids)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plain.EvaluateRules(t.Context(), in, ids)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: memo %v, evaluation %v", name, got, want)
		}
		if n := e.MemoStats().Hits - before; n != hits {
			t.Errorf("%s: %d results from the memo, want %d", name, n, hits)
		}
	}
	ids := []string{"guarded", "function"}
	one := []FileSystemRef{{ID: "fs-1"}}
	for i, tc := range []struct {
		resource string
		fs       []FileSystemRef
		hits     int
	}{
		{"arn:a", nil, 0},
		{"arn:b", nil, 2},               // input.resource is not read: both answered
		{"arn:c", []FileSystemRef{}, 0}, // an empty list is another value of input.file_systems
		{"arn:d", []FileSystemRef{}, 2}, // and still reads no resource
		{"arn:a", one, 0},               // read now: evaluated
		{"arn:b", one, 0},               // another resource: evaluated again
		{"arn:b", one, 2},               // the same: answered
	} {
		in := &Input{ResourceType: "AWS::EFS::FileSystem", Resource: tc.resource, FileSystems: tc.fs, Key: &KeyInput{KeyState: "Enabled"}}
		judge(fmt.Sprintf("input %d", i), in, ids, tc.hits)
	}

	// The is_object guard: the resource is read only for a policy that is
	// an object, an empty one included.
	statement := map[string]any{"Statement": []any{}}
	for i, tc := range []struct {
		resource string
		policy   any
		hits     int
	}{
		{"arn:a", nil, 0},
		{"arn:b", nil, 1},              // input.resource is not read: answered
		{"arn:c", "not an object", 0},  // another value of input.key.policy
		{"arn:d", "not an object", 1},  // and still reads no resource
		{"arn:a", map[string]any{}, 0}, // read now, for an empty object too
		{"arn:b", map[string]any{}, 0}, // another resource: evaluated again
		{"arn:b", map[string]any{}, 1}, // the same: answered
		{"arn:b", statement, 0},        // another policy
		{"arn:e", statement, 0},        // another resource
		{"arn:e", []any{"a", "b"}, 0},  // a collection, not an object
		{"arn:f", []any{"a", "b"}, 1},  // reads no resource
	} {
		in := &Input{ResourceType: "AWS::EFS::FileSystem", Resource: tc.resource, Key: &KeyInput{Policy: tc.policy}}
		judge(fmt.Sprintf("policy input %d", i), in, []string{"object"}, tc.hits)
	}
}

// TestResultsRef checks that the results rule's reference built without the
// parser is the parsed one, for each embedded rule's package and for paths
// only the parser reads.
func TestResultsRef(t *testing.T) {
	e := engine(t)
	paths := []string{`data.a["b.c"]`, `data.x.y`}
	for _, p := range e.pkg {
		paths = append(paths, p)
	}
	for _, p := range paths {
		if got, want := resultsRef(p), ast.MustParseRef(p+"."+resultsRule); !got.Equal(want) {
			t.Errorf("%s: %v, want %v", p, got, want)
		}
	}
}
