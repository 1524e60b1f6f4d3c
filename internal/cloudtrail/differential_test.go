package cloudtrail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
)

// The tests in this file hold the fast path (byte-level rejection of
// records of no interest, in-place scanning) to the plain one: both must
// produce exactly the same findings.

var engine = sync.OnceValues(func() (*policy.Engine, error) { return policy.New(context.Background()) })

func newPipeline(t *testing.T, dec *cloudtrail.Decoder) *pipeline.Pipeline {
	t.Helper()
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.New(pipeline.Options{Store: state.NewMemory(), Engine: e, Config: config.Default(), Decoder: dec})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// collect returns an Emit that appends to *out.
func collect(out *[]finding.Finding) pipeline.Emit {
	return func(f finding.Finding) error {
		*out = append(*out, f)
		return nil
	}
}

// plainRecords decodes a plain CloudTrail log file with encoding/json alone
// and keeps the records a decoder must emit: of interest, with eventID,
// eventName, eventSource and eventTime.
func plainRecords(t *testing.T, log []byte) []*cloudtrail.Record {
	t.Helper()
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(log, &file); err != nil {
		t.Fatal(err)
	}
	var recs []*cloudtrail.Record
	for _, raw := range file.Records {
		rec := new(cloudtrail.Record)
		if err := json.Unmarshal(raw, rec); err != nil {
			t.Fatal(err)
		}
		if !cloudtrail.Interesting(rec.EventSource, rec.EventName) ||
			rec.EventID == "" || rec.EventTime.IsZero() {
			continue
		}
		recs = append(recs, rec)
	}
	return recs
}

func TestDifferentialGeneratedLogs(t *testing.T) {
	for _, tc := range []struct {
		name     string
		seed     uint64
		relevant float64
		gzip     bool
	}{
		{"seed1-gzip", 1, 0.3, true},
		{"seed2-plain", 2, 0.3, false},
		{"seed3-sparse-gzip", 3, 0.02, true},
		{"seed4-all-relevant", 4, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var plain, input bytes.Buffer
			st, err := trailgen.Write(&plain, trailgen.Options{Records: 3000, Relevant: tc.relevant, Seed: tc.seed})
			if err != nil {
				t.Fatal(err)
			}
			input.Write(plain.Bytes())
			if tc.gzip {
				input.Reset()
				if _, err := trailgen.Write(&input, trailgen.Options{Records: 3000, Relevant: tc.relevant, Seed: tc.seed, Gzip: true}); err != nil {
					t.Fatal(err)
				}
			}

			var fast, ref []finding.Finding
			rep, err := newPipeline(t, nil).ProcessInput(t.Context(), "log", &input, collect(&fast))
			if err != nil || rep.Bad() {
				t.Fatalf("fast path: report %+v, err %v", rep, err)
			}
			recs := plainRecords(t, plain.Bytes())
			refRep, err := newPipeline(t, nil).ProcessRecords(t.Context(), recs, pipeline.SourceOf(cloudtrail.ShapeLogFile), collect(&ref))
			if err != nil || refRep.Bad() {
				t.Fatalf("reference: report %+v, err %v", refRep, err)
			}
			if rep.Processed != st.Relevant || refRep.Processed != st.Relevant {
				t.Errorf("processed %d (reference %d), generated %d of interest", rep.Processed, refRep.Processed, st.Relevant)
			}
			if len(fast) == 0 {
				t.Fatal("no findings: the comparison would prove nothing")
			}
			sameFindings(t, fast, ref)
		})
	}
}

// TestDifferentialFiles runs every sample event and decoder fixture through
// the pipeline twice, with the fast decoder and with the plain one, one
// pipeline each, the files in name order.
func TestDifferentialFiles(t *testing.T) {
	for _, set := range []struct{ glob, s3Root string }{
		{"../../events/*.json", "../../events/s3"},
		{"testdata/*.json", "testdata/bucket"},
	} {
		files, err := filepath.Glob(set.glob)
		if err != nil || len(files) == 0 {
			t.Fatalf("glob %s: %v, %d files", set.glob, err, len(files))
		}
		opener := cloudtrail.DirOpener{Root: set.s3Root}
		fastP := newPipeline(t, &cloudtrail.Decoder{Opener: opener})
		plainP := newPipeline(t, cloudtrail.NewPlainDecoder(opener))
		var fast, ref []finding.Finding
		for _, name := range files {
			data, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := fastP.ProcessInput(t.Context(), name, bytes.NewReader(data), collect(&fast))
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			refRep, err := plainP.ProcessInput(t.Context(), name, bytes.NewReader(data), collect(&ref))
			if err != nil {
				t.Fatalf("%s: plain: %v", name, err)
			}
			if rep.Processed != refRep.Processed || rep.Findings != refRep.Findings {
				t.Errorf("%s: processed %d, findings %d; plain: %d, %d", name, rep.Processed, rep.Findings, refRep.Processed, refRep.Findings)
			}
		}
		if len(fast) == 0 {
			t.Fatalf("%s: no findings", set.glob)
		}
		sameFindings(t, fast, ref)
	}
}

func sameFindings(t *testing.T, got, want []finding.Finding) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d findings, reference %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("finding %d differs:\n got  %+v\n want %+v", i, got[i], want[i])
			return
		}
	}
}
