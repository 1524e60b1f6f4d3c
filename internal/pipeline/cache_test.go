package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
)

// TestRuleCache holds that a resource judged again on an unchanged input
// costs no evaluation, that a changed input is evaluated, and that cached
// results are the ones an evaluation gives. The records are the pipeline
// tests' CreateKey, CreateFileSystem and key events (their shapes follow
// the pages cited there).
func TestRuleCache(t *testing.T) {
	tests := []struct {
		name       string
		recs       []map[string]any
		wantHits   int
		wantMisses int
		wantLast   string // rule:status of the last finding
	}{
		{
			name: "new key and file system: every rule evaluated",
			recs: []map[string]any{createKey, createFS},
			// Key, file system, then the key's rules that CreateFileSystem
			// triggers (all but rotation): it now protects the file system.
			wantMisses: 5 + 2 + 4,
			wantLast:   "efs_kms_key_verified:NOT_APPLICABLE",
		},
		{
			name: "rotation enabled twice: the second finds the same input",
			recs: []map[string]any{createKey, createFS, keyEvent("r1", 5, cloudtrail.EventEnableKeyRotation),
				keyEvent("r2", 6, cloudtrail.EventEnableKeyRotation)},
			// The second EnableKeyRotation triggers rotation and the round
			// trip: both answered from the cache.
			wantMisses: 11 + 2, wantHits: 2,
			wantLast: "kms_key_rotation_enabled:COMPLIANT",
		},
		{
			name:       "rotation disabled after enabled: a changed input is evaluated",
			recs:       []map[string]any{createKey, createFS, keyEvent("r1", 5, cloudtrail.EventEnableKeyRotation), keyEvent("r2", 6, cloudtrail.EventDisableKeyRotation)},
			wantMisses: 11 + 2 + 2,
			wantLast:   "kms_key_rotation_enabled:NON_COMPLIANT",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPipeline(t, state.NewMemory())
			var got []finding.Finding
			if _, err := p.ProcessInput(context.Background(), "log", strings.NewReader(logFile(t, tt.recs...)), (*collected)(&got).emit); err != nil {
				t.Fatal(err)
			}
			if st := p.RuleCache(); st.Hits != tt.wantHits || st.Misses != tt.wantMisses {
				t.Errorf("cache %+v, want %d hits, %d misses", st, tt.wantHits, tt.wantMisses)
			}
			if len(got) == 0 {
				t.Fatal("no findings")
			}
			if last := got[len(got)-1]; last.Rule+":"+string(last.Status) != tt.wantLast {
				t.Errorf("last finding %s:%s (%s), want %s", last.Rule, last.Status, last.Reason, tt.wantLast)
			}
		})
	}
}

// TestPolicyDocs holds that a policy document is parsed once while its text
// is unchanged, that bad text is an error every time, and that the cache
// stays within its bound.
func TestPolicyDocs(t *testing.T) {
	const doc = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	tests := []struct {
		name    string
		docs    []string
		wantErr string // of the last parse
		wantLen int    // documents kept
		same    bool   // the last two parses return one value
	}{
		{name: "same text twice: parsed once", docs: []string{doc, doc}, wantLen: 1, same: true},
		{name: "changed text: parsed again", docs: []string{doc, strings.Replace(doc, "kms:*", "kms:Decrypt", 1)}, wantLen: 2},
		{name: "not JSON: an error, not kept", docs: []string{doc, `{"Version":`}, wantErr: "not a JSON document", wantLen: 1},
		{name: "a JSON array: an error", docs: []string{`[]`}, wantErr: "not a JSON object", wantLen: 0},
		{name: "full: cleared before the next", docs: []string{`{"a":1}`, `{"b":1}`, `{"c":1}`}, wantLen: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := policyDocs{max: 2, docs: map[string]any{}}
			var vals []any
			var err error
			for _, d := range tt.docs {
				var v any
				v, err = c.parse(d)
				vals = append(vals, v)
			}
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if len(c.docs) != tt.wantLen {
				t.Errorf("%d documents kept, want %d", len(c.docs), tt.wantLen)
			}
			if n := len(vals); n >= 2 && tt.same {
				a, _ := vals[n-2].(*policy.Document)
				b, _ := vals[n-1].(*policy.Document)
				if a == nil || a != b {
					t.Error("the second parse did not return the cached document")
				}
			}
		})
	}
}

// TestInputHashByPolicyText holds the input hash to the policy a key or
// file system carries: a policy parsed from a text is hashed by the text,
// so the same text parsed twice hashes alike and any other text, another
// policy value or none hashes apart, whichever of the two policies it is.
func TestInputHashByPolicyText(t *testing.T) {
	const (
		doc   = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
		other = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}`
	)
	parse := func(text string) any {
		c := policyDocs{max: 8, docs: map[string]any{}}
		v, err := c.parse(text)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	plain, err := parsePolicy(doc)
	if err != nil {
		t.Fatal(err)
	}
	hash := func(keyPolicy, fsPolicy any) [32]byte {
		in := &policy.Input{ResourceType: string(state.TypeFileSystem), Resource: "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1",
			FileSystem: &policy.FileSystemInput{ID: "fs-1", Policy: fsPolicy, PolicyKnown: true},
			Key:        &policy.KeyInput{ARN: "arn:aws:kms:us-east-1:111122223333:key/k", Policy: keyPolicy},
			Config:     config.Default()}
		sum, ok := inputHash(in, false)
		if !ok {
			t.Fatal("no hash")
		}
		return sum
	}
	base := hash(parse(doc), parse(doc))
	if again := hash(parse(doc), parse(doc)); again != base {
		t.Error("one text parsed twice hashes apart")
	}
	for name, sum := range map[string][32]byte{
		"key policy of another text":         hash(parse(other), parse(doc)),
		"file-system policy of another text": hash(parse(doc), parse(other)),
		"key policy as a value, not a text":  hash(plain, parse(doc)),
		"no key policy":                      hash(nil, parse(doc)),
		"no file-system policy":              hash(parse(doc), nil),
	} {
		if sum == base {
			t.Errorf("%s: hashes as the input it differs from", name)
		}
	}
	if hash(parse(doc), parse(other)) == hash(parse(other), parse(doc)) {
		t.Error("the key's and the file system's policies swapped hash alike")
	}
}

// TestMemoChangesNoFinding judges a generated log on an engine that
// remembers rule results by what each rule reads and on one that evaluates
// every rule every time: every finding is the same.
func TestMemoChangesNoFinding(t *testing.T) {
	var buf bytes.Buffer
	if _, err := trailgen.Write(&buf, trailgen.Options{Records: 5000, Relevant: 0.2, Seed: 12, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	judge := func(memo bool) ([]finding.Finding, policy.MemoStats) {
		p := benchPipeline(t)
		if !memo {
			p.engine.SetMemoSize(0)
		}
		var out []finding.Finding
		if _, err := p.ProcessInput(context.Background(), "gen", bytes.NewReader(buf.Bytes()), func(f finding.Finding) error {
			out = append(out, f)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out, p.engine.MemoStats()
	}
	sameWithMemo(t, judge)
}

// TestMemoChangesNoFindingOnCorpus runs the triggers' corpus (every sample
// event, the decoder's and the state model's fixtures, generated logs)
// through pipelines that evaluate every rule, on an engine with the memo
// and on one without: the findings are the same, one for one.
func TestMemoChangesNoFindingOnCorpus(t *testing.T) {
	inputs := triggerCorpus(t)
	names := slices.Sorted(maps.Keys(inputs))
	run := func(memo bool) ([]finding.Finding, policy.MemoStats) {
		e, err := policy.New(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !memo {
			e.SetMemoSize(0)
		}
		p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(),
			Decoder: &cloudtrail.Decoder{Opener: cloudtrail.DirOpener{Root: "../../events/s3"}}})
		if err != nil {
			t.Fatal(err)
		}
		p.allRules = true
		var out []finding.Finding
		for _, n := range names {
			if _, err := p.ProcessInput(context.Background(), n, bytes.NewReader(inputs[n]), func(f finding.Finding) error {
				out = append(out, f)
				return nil
			}); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
		}
		return out, e.MemoStats()
	}
	sameWithMemo(t, run)
}

// sameWithMemo runs judge without the memo and with it and fails unless
// the findings are the same, one for one, and the memo answered enough for
// that to say something.
func sameWithMemo(t *testing.T, judge func(memo bool) ([]finding.Finding, policy.MemoStats)) {
	t.Helper()
	want, _ := judge(false)
	got, st := judge(true)
	if len(want) < 1000 || st.Hits < 100 || st.FuncHits < 10 {
		t.Fatalf("%d findings, memo %+v: the test would prove little", len(want), st)
	}
	if len(got) != len(want) {
		t.Fatalf("with the memo %d findings, without %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Fatalf("finding %d with the memo is\n%+v\nwithout\n%+v", i, got[i], want[i])
		}
	}
	t.Logf("%d findings; memo %+v", len(got), st)
}

// BenchmarkInputHash hashes a key's input whose policy is a Document parsed
// from a text, as the pipeline's policy cache hands it to every input of
// that key.
func BenchmarkInputHash(b *testing.B) {
	data, err := os.ReadFile(filepath.Join("..", "policy", "testdata", "input-key-cmk-healthy.json"))
	if err != nil {
		b.Fatal(err)
	}
	var in policy.Input
	if err := json.Unmarshal(data, &in); err != nil {
		b.Fatal(err)
	}
	text, err := json.Marshal(in.Key.Policy)
	if err != nil {
		b.Fatal(err)
	}
	if in.Key.Policy, err = policy.NewDocumentText(string(text), in.Key.Policy); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := inputHash(&in, false); !ok {
			b.Fatal("no hash")
		}
	}
}
