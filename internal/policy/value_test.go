package policy

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/atrest/atrest/internal/config"
)

// jsonFormValue is the reference the converter must equal: in encoded by
// encoding/json, decoded the way OPA decodes input, then converted.
func jsonFormValue(t *testing.T, in *Input) ast.Value {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var doc any
	if err := util.UnmarshalJSON(data, &doc); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	v, err := ast.InterfaceToValue(doc)
	if err != nil {
		t.Fatalf("InterfaceToValue: %v", err)
	}
	return v
}

func TestInputValueMatchesJSONForm(t *testing.T) {
	for name, in := range valueTestInputs(t) {
		t.Run(name, func(t *testing.T) {
			got, err := inputValue(in)
			if err != nil {
				t.Fatalf("inputValue: %v", err)
			}
			want := jsonFormValue(t, in)
			if got.Compare(want) != 0 || got.String() != want.String() {
				t.Errorf("inputValue differs from the JSON form:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// valueTestInputs are inputs with every field set, unset, empty and
// awkward somewhere: the fixtures, and values of every kind in policies.
func valueTestInputs(t *testing.T) map[string]*Input {
	enabled := true
	inputs := map[string]*Input{
		"zero": {},
		"empty slices": {
			FileSystems: []FileSystemRef{},
			Key:         &KeyInput{Aliases: []string{}, Grants: []GrantInput{{Operations: []string{}}}},
			Config:      config.Default(),
		},
		"event with zone and nanoseconds": {
			ResourceType: "AWS::EFS::FileSystem",
			Event: &EventInput{
				EventID: "e-1", EventName: "CreateFileSystem", EventSource: "elasticfilesystem.amazonaws.com",
				EventTime: time.Date(2025, 3, 4, 10, 15, 30, 120000000, time.FixedZone("x", 5*3600+1800)),
			},
			FileSystem: &FileSystemInput{ID: "fs-1", Encrypted: true, Deleted: true},
		},
		"numbers, strings and nesting in a policy": {
			Key: &KeyInput{
				RotationEnabled: &enabled, RotationPeriodDays: 2560, Known: true, Deleted: true,
				Policy: map[string]any{
					"Version": "2012-10-17",
					"Numbers": []any{0.0, -0.0, 1.0, -1.5, 0.1, 1e-6, 1e-7, 123456789.0, 1e20, 1e21, 1.5e300, 2.5e-300, 9007199254740993.0},
					"Nested":  map[string]any{"a": []any{nil, true, false, "s", map[string]any{}}, "b": []any{}},
					"Unicode": "héllo \u2028 <&> \"quoted\" \\",
					"Invalid": "bad \xff\xfe utf-8",
					"\xffkey": "invalid key",
				},
				Grants: []GrantInput{{GrantID: "g", Operations: []string{"Decrypt"}, EFS: true, State: "active", RetiredAfterDelete: true}},
			},
			Config: config.Config{AllowedKMSKeyARNs: []string{"arn:aws:kms:eu-west-1:1:key/a"}, RequireCustomerManagedKeys: true, MaxRotationPeriodDays: 365},
		},
		"multi-Region replica and its primary": {
			ResourceType: "AWS::KMS::Key",
			Key: &KeyInput{
				MultiRegion: &enabled, MultiRegionKeyType: "REPLICA", PrimaryKeyARN: "arn:aws:kms:us-east-1:1:key/mrk-1",
				Primary: &PrimaryKeyInput{ARN: "arn:aws:kms:us-east-1:1:key/mrk-1", Known: true, RotationEnabled: &enabled, RotationPeriodDays: 90},
			},
		},
		"multi-Region replica whose primary is unknown": {
			Key: &KeyInput{MultiRegionKeyType: "REPLICA", PrimaryKeyARN: "p", Primary: &PrimaryKeyInput{ARN: "p"}},
		},
		"verification outcome": {
			ResourceType: "AWS::KMS::Key",
			Verification: &VerificationInput{Performed: true, OK: false, Reason: "disabled", Step: "encrypt", Detail: "DisabledException: key is disabled", AlgorithmSuite: "0x0478"},
		},
		"trail and watched resource": {
			ResourceType: "AWS::CloudTrail::Trail",
			Trail: &TrailInput{
				ARN: "arn:aws:cloudtrail:eu-west-1:1:trail/t", Name: "t", Known: true, Logging: "off",
				MultiRegion: &enabled, BaselineMultiRegion: &enabled, S3Bucket: "b",
				ManagementEvents: "all", ExcludedSources: []string{"kms.amazonaws.com"},
				CloudWatchLogsLogGroup: "", CloudWatchLogsKnown: true, BaselineCloudWatchLogsLogGroup: "trail",
				UncoveredRegions:  []string{"eu-west-2"},
				IntegrityFailures: []string{"log file s3://b/k altered (its hash does not match its digest)"},
			},
			Watched: &WatchedInput{Kind: "event_rule", Name: "r", EventBus: "default", State: "DELETED", RemovedTargets: []string{"atrest"},
				Retargeted:   []RetargetInput{{ID: "fn", ARN: "arn:aws:sqs:eu-west-1:1:q", Expected: "arn:aws:lambda:eu-west-1:1:function:f"}},
				PatternKnown: true, PatternError: "event pattern cannot be read: x",
				Dropped:         []DroppedInput{{Source: "kms.amazonaws.com", EventNames: []string{"DisableKey"}}, {Source: "elasticfilesystem.amazonaws.com", EventNames: nil, All: true}},
				LogGroupDeleted: true},
			Config: config.Config{WatchedTrails: []string{"t"}, WatchedEventRules: []string{}, WatchedSubscriptionFilters: []string{"g:*"}},
		},
		"watched filter, nothing dropped": {
			ResourceType: "AWS::CloudTrail::Trail",
			Watched:      &WatchedInput{Kind: "subscription_filter", Name: "f", LogGroup: "g", State: "ENABLED", Dropped: []DroppedInput{}, Retargeted: []RetargetInput{}},
		},
		"file systems a key protects, with their creators": {
			ResourceType: "AWS::KMS::Key",
			FileSystems: []FileSystemRef{
				{ARN: "arn:aws:elasticfilesystem:eu-west-1:1:file-system/fs-1", ID: "fs-1", Account: "1", Region: "eu-west-1", Creator: "arn:aws:sts::1:assumed-role/Admin/s\xff"},
				{ID: "fs-2"},
			},
			FileSystem: &FileSystemInput{ID: "fs-1", Creator: "arn:aws:iam::1:user/alice"},
		},
		"json.Number in a policy": {
			FileSystem: &FileSystemInput{Policy: map[string]any{"n": json.Number("12.50"), "m": []string{"x"}}},
		},
	}
	files, err := filepath.Glob("testdata/input-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		inputs[name] = loadInput(t, strings.TrimPrefix(name, "input-"))
	}
	return inputs
}

func TestInputValueRejectsWhatJSONRejects(t *testing.T) {
	tests := map[string]*Input{
		"NaN in a policy":     {Key: &KeyInput{Policy: []any{zero() / zero()}}},
		"year out of range":   {Event: &EventInput{EventTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		"channel in a policy": {FileSystem: &FileSystemInput{Policy: map[string]any{"c": make(chan int)}}},
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := json.Marshal(in); err == nil {
				t.Fatal("encoding/json accepts the input; the case tests nothing")
			}
			if v, err := inputValue(in); err == nil {
				t.Errorf("inputValue = %v, want an error", v)
			}
		})
	}
}

// FuzzInputValue checks the converter against the JSON form for policies
// decoded from arbitrary JSON and arbitrary strings, in a sparse input and in
// one with every field set.
func FuzzInputValue(f *testing.F) {
	f.Add(`{"Statement":[{"Effect":"Deny","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`, "fs-1")
	f.Add(`[1e400, 0.000001, -0, "\ud800"]`, "\xff")
	f.Fuzz(func(t *testing.T, policy, id string) {
		var doc any
		if json.Unmarshal([]byte(policy), &doc) != nil {
			return
		}
		in := &Input{Resource: id, FileSystem: &FileSystemInput{ID: id, Policy: doc},
			Key: &KeyInput{ARN: id, Policy: doc, MultiRegionKeyType: id, PrimaryKeyARN: id, Primary: &PrimaryKeyInput{ARN: id}}}
		got, err := inputValue(in)
		if err != nil {
			t.Fatalf("inputValue: %v", err)
		}
		if want := jsonFormValue(t, in); got.Compare(want) != 0 || got.String() != want.String() {
			t.Errorf("inputValue differs from the JSON form:\n got %s\nwant %s", got, want)
		}
		// Every field set, every string the fuzzed one.
		full := populatedInput(t, id)
		full.FileSystem.Policy, full.Key.Policy = doc, doc
		got, err = inputValue(full)
		if err != nil {
			t.Fatalf("inputValue (every field set): %v", err)
		}
		if want := jsonFormValue(t, full); got.Compare(want) != 0 || got.String() != want.String() {
			t.Errorf("inputValue (every field set) differs from the JSON form:\n got %s\nwant %s", got, want)
		}
	})
}

// TestDocumentConvertsAsItsValue: an input whose policies are Documents
// converts, marshals and is judged exactly as the same input holding the
// decoded documents.
func TestDocumentConvertsAsItsValue(t *testing.T) {
	e := engine(t)
	for _, name := range []string{"key-cmk-healthy", "key-grant-revoked-policy-narrow", "fs-encrypted-cmk-tls", "fs-key-not-allowed"} {
		t.Run(name, func(t *testing.T) {
			raw := loadInput(t, name)
			doc := loadInput(t, name)
			policies := 0
			if doc.Key != nil && doc.Key.Policy != nil {
				d, err := NewDocument(doc.Key.Policy)
				if err != nil {
					t.Fatal(err)
				}
				doc.Key.Policy = d
				policies++
			}
			if doc.FileSystem != nil && doc.FileSystem.Policy != nil {
				d, err := NewDocument(doc.FileSystem.Policy)
				if err != nil {
					t.Fatal(err)
				}
				doc.FileSystem.Policy = d
				policies++
			}
			if policies == 0 {
				t.Fatalf("input %s holds no policy: the test would prove nothing", name)
			}
			want, err := inputValue(raw)
			if err != nil {
				t.Fatal(err)
			}
			got, err := inputValue(doc)
			if err != nil {
				t.Fatal(err)
			}
			if want.Compare(got) != 0 {
				t.Errorf("value with Documents differs:\n got %v\nwant %v", got, want)
			}
			a, _ := json.Marshal(raw)
			b, _ := json.Marshal(doc)
			if string(a) != string(b) {
				t.Errorf("JSON with Documents differs:\n got %s\nwant %s", b, a)
			}
			// A Document writes its JSON once: a caller that changes what
			// it was given changes nothing the next caller gets.
			for _, p := range []any{keyPolicy(doc), fileSystemPolicy(doc)} {
				d, ok := p.(*Document)
				if !ok {
					continue
				}
				first, err := d.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				clear(first)
				if again, _ := json.Marshal(doc); string(again) != string(a) {
					t.Errorf("JSON after a caller cleared the document's bytes:\n got %s\nwant %s", again, a)
				}
			}
			r1, err1 := e.Evaluate(t.Context(), raw)
			r2, err2 := e.Evaluate(t.Context(), doc)
			if err1 != nil || err2 != nil {
				t.Fatalf("evaluate: %v, %v", err1, err2)
			}
			if len(r1) == 0 || len(r1) != len(r2) {
				t.Fatalf("results %v and %v", r1, r2)
			}
			for i := range r1 {
				if r1[i] != r2[i] {
					t.Errorf("rule %s: %+v with Documents, %+v without", r1[i].Rule, r2[i], r1[i])
				}
			}
		})
	}
}

func keyPolicy(in *Input) any {
	if in.Key == nil {
		return nil
	}
	return in.Key.Policy
}

func fileSystemPolicy(in *Input) any {
	if in.FileSystem == nil {
		return nil
	}
	return in.FileSystem.Policy
}

// TestSharedTerm: a value is given one shared term, written as stringTerm
// writes it; past maxSharedTerms values, terms are still right but no more
// are kept.
func TestSharedTerm(t *testing.T) {
	if a, b := sharedTerm("Enabled"), sharedTerm("Enabled"); a != b || a.Value.Compare(ast.String("Enabled")) != 0 {
		t.Errorf("sharedTerm(Enabled) twice: %p %v, %p %v; want one shared term", a, a, b, b)
	}
	if got := sharedTerm("bad\xff"); got.Value.Compare(ast.String("bad\ufffd")) != 0 {
		t.Errorf(`sharedTerm("bad\xff") = %v, want "bad\ufffd"`, got)
	}
	for i := range maxSharedTerms + 10 {
		v := fmt.Sprintf("value-%d", i)
		if got := sharedTerm(v); got.Value.Compare(ast.String(v)) != 0 {
			t.Fatalf("sharedTerm(%q) = %v", v, got)
		}
	}
	kept := 0
	sharedTerms.Range(func(any, any) bool { kept++; return true })
	if kept > maxSharedTerms || int(sharedTerms.n.Load()) != kept {
		t.Errorf("%d terms kept (counted %d); want at most %d", kept, sharedTerms.n.Load(), maxSharedTerms)
	}
}
