package pipeline

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
	"testing"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/trailgen"
)

// TestParallelJudgingEqualsSequential: a log judged with the rules run on
// several goroutines gives exactly the findings, in exactly the order, and
// the report of the same log judged on one core. The log is generated with
// a fifth of its records of interest, on a pool of keys and file systems,
// so resources are judged again and again (triggers, the rule cache and
// judgments that wait on an earlier one of the same input all take part).
func TestParallelJudgingEqualsSequential(t *testing.T) {
	var buf bytes.Buffer
	st, err := trailgen.Write(&buf, trailgen.Options{Records: 5000, Relevant: 0.2, Seed: 11, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	judge := func(procs int) ([]finding.Finding, Report, CacheStats) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		p := benchPipeline(t)
		var out []finding.Finding
		rep, err := p.ProcessInput(context.Background(), "gen", bytes.NewReader(buf.Bytes()), func(f finding.Finding) error {
			out = append(out, f)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out, rep, p.RuleCache()
	}
	want, wantRep, wantCache := judge(1)
	if len(want) < 1000 || wantRep.Processed != st.Relevant || wantCache.Hits == 0 {
		t.Fatalf("sequential run: %d findings, report %+v, cache %+v: the test would prove little", len(want), wantRep, wantCache)
	}
	for _, procs := range []int{2, 4} {
		got, rep, cache := judge(procs)
		if len(got) != len(want) {
			t.Fatalf("GOMAXPROCS %d: %d findings, want %d", procs, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("GOMAXPROCS %d: finding %d is\n%+v\nwant\n%+v", procs, i, got[i], want[i])
			}
		}
		if rep.Findings != wantRep.Findings || rep.EvalErrors != wantRep.EvalErrors || rep.Processed != wantRep.Processed {
			t.Errorf("GOMAXPROCS %d: report %+v, want %+v", procs, rep, wantRep)
		}
		t.Logf("GOMAXPROCS %d: %d findings; rule cache %+v (one core: %+v)", procs, len(got), cache, wantCache)
	}
}

// TestEmitFailureStopsParallelJudging: an emit that fails while findings
// are emitted on a goroutine of their own stops the run with its error;
// what was emitted before it is what a sequential run emits first, in
// order, and nothing is emitted after it.
func TestEmitFailureStopsParallelJudging(t *testing.T) {
	var buf bytes.Buffer
	if _, err := trailgen.Write(&buf, trailgen.Options{Records: 5000, Relevant: 0.2, Seed: 11, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	errBroken := errors.New("output broken")
	judge := func(procs, failAt int) ([]finding.Finding, Report, int, error) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		var (
			out   []finding.Finding
			calls int
		)
		rep, err := benchPipeline(t).ProcessInput(context.Background(), "gen", bytes.NewReader(buf.Bytes()), func(f finding.Finding) error {
			if calls++; len(out) == failAt {
				return errBroken
			}
			out = append(out, f)
			return nil
		})
		return out, rep, calls, err
	}
	all, full, _, err := judge(1, -1)
	if err != nil || len(all) < 1000 {
		t.Fatalf("sequential run: %d findings, %v", len(all), err)
	}
	for _, failAt := range []int{0, 1, 500, len(all) - 1} {
		got, rep, calls, err := judge(2, failAt)
		if !errors.Is(err, errBroken) {
			t.Fatalf("fail at %d: err %v, want the emit's", failAt, err)
		}
		if len(got) != failAt || failAt > 0 && !reflect.DeepEqual(got, all[:failAt]) {
			t.Errorf("fail at %d: emitted %d findings, not the first %d of a sequential run", failAt, len(got), failAt)
		}
		if calls != failAt+1 {
			t.Errorf("fail at %d: %d emits, want none after the failing one", failAt, calls)
		}
		if failAt < 500 && rep.Processed >= full.Processed {
			t.Errorf("fail at %d: %d records judged, want the run stopped before the %d of the log", failAt, rep.Processed, full.Processed)
		}
	}
}
