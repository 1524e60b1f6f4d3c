package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
)

// triggerCorpus is every record the tests hold as documented: the sample
// events, the decoder's and the state model's fixtures (each built from the
// AWS page its test cites), and generated logs of records of interest
// (internal/trailgen, shaped after the same pages), in that order, as one
// story.
func triggerCorpus(t *testing.T) map[string][]byte {
	t.Helper()
	inputs := map[string][]byte{}
	for _, pattern := range []string{"../../events/*.json", "../cloudtrail/testdata/*.json", "../state/testdata/*.json"} {
		paths, err := filepath.Glob(pattern)
		if err != nil || len(paths) == 0 {
			t.Fatalf("no fixtures match %s: %v", pattern, err)
		}
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			inputs[p] = b
		}
	}
	for seed := range uint64(2) {
		var buf bytes.Buffer
		if _, err := trailgen.Write(&buf, trailgen.Options{Records: 300, Relevant: 1, Seed: seed + 1}); err != nil {
			t.Fatal(err)
		}
		inputs[fmt.Sprintf("trailgen-%d", seed)] = buf.Bytes()
	}
	return inputs
}

// verdict is what a finding says about its rule and resource.
type verdict struct {
	status finding.Status
	reason string
}

// TestTriggersMissNoChange holds every rule's triggers complete: over the
// whole corpus, a pipeline that evaluates every rule for every touched
// resource and one that evaluates only the triggered rules give the same
// findings, except the restatements (a rule's unchanged verdict on a
// resource) that the triggered one leaves out. A missing trigger shows up
// as a changed verdict the triggered pipeline did not give.
func TestTriggersMissNoChange(t *testing.T) {
	inputs := triggerCorpus(t)
	names := slices.Sorted(func(yield func(string) bool) {
		for n := range inputs {
			if !yield(n) {
				return
			}
		}
	})
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	run := func(all bool) ([]finding.Finding, int) {
		p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(),
			Decoder: &cloudtrail.Decoder{Opener: cloudtrail.DirOpener{Root: "../../events/s3"}}})
		if err != nil {
			t.Fatal(err)
		}
		p.allRules = all
		var out []finding.Finding
		records := 0
		for _, n := range names {
			rep, err := p.ProcessInput(context.Background(), n, bytes.NewReader(inputs[n]), func(f finding.Finding) error {
				out = append(out, f)
				return nil
			})
			if err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			records += rep.Processed
		}
		return out, records
	}
	every, records := run(true)
	triggered, _ := run(false)
	if records < 600 {
		t.Fatalf("only %d records of interest in the corpus", records)
	}

	// Walk the full run, keeping each (rule, resource)'s last verdict: a
	// finding that changes it must be in the triggered run, in order; one
	// that does not may be.
	last := map[[2]string]verdict{}
	j, restatements, changes := 0, 0, 0
	for _, f := range every {
		k := [2]string{f.Rule, f.Resource}
		v := verdict{f.Status, f.Reason}
		prev, seen := last[k]
		last[k] = v
		match := j < len(triggered) && sameFinding(triggered[j], f)
		if match {
			j++
		}
		switch {
		case seen && prev == v && !match:
			restatements++
		case !match:
			t.Errorf("rule %s on %s: %s changed the verdict to %s (%s), but the rule was not triggered; was %s (%s)",
				f.Rule, f.Resource, f.EventName, f.Status, f.Reason, prev.status, prev.reason)
		case seen && prev != v:
			changes++
		}
	}
	if j != len(triggered) {
		t.Errorf("the triggered run has %d findings the full run does not, from %s on", len(triggered)-j, describe(triggered[j]))
	}
	if restatements == 0 || changes == 0 {
		t.Fatalf("%d restatements left out, %d changes kept: the corpus exercises nothing", restatements, changes)
	}
	t.Logf("%d records, %d findings evaluating every rule, %d with triggers (%d restatements left out, %d changed verdicts kept)",
		records, len(every), len(triggered), restatements, changes)
}

// sameFinding compares what two findings say, leaving out their IDs'
// dependence on nothing else.
func sameFinding(a, b finding.Finding) bool {
	return a.Rule == b.Rule && a.Resource == b.Resource && a.Status == b.Status && a.Reason == b.Reason &&
		a.EventID == b.EventID && a.EventName == b.EventName && slices.Equal(a.FileSystems, b.FileSystems)
}

func describe(f finding.Finding) string {
	return strings.Join([]string{f.EventName, f.Rule, f.Resource, string(f.Status)}, " ")
}
