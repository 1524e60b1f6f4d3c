package cloudtrail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// addSeeds adds every testdata fixture and a few hand-made inputs.
func addSeeds(f *testing.F) {
	f.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json*"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "[", "{", `{"Records":[`, `"\`, `{"Records":[{"eventName":"CreateKey"`,
		logFile(kmsKey, kmsNoise, efsFS), kmsKey + "\n" + efsFS} {
		f.Add([]byte(s))
	}
}

// fuzzDecode decodes data and checks the invariants that hold for any input.
func fuzzDecode(t *testing.T, data []byte) {
	var errs int
	emitted := 0
	d := &Decoder{Opener: DirOpener{Root: filepath.Join("testdata", "bucket")},
		Limits: Limits{MaxRecordBytes: 1 << 20, MaxInflatedBytes: 16 << 20}}
	st, err := d.Decode(context.Background(), "fuzz", bytes.NewReader(data),
		func(rec *Record, _ Shape) error {
			emitted++
			if !Interesting(rec.EventSource, rec.EventName) || rec.EventID == "" || rec.EventTime.IsZero() {
				t.Fatalf("emitted a record that is not of interest or lacks fields: %+v", rec)
			}
			return nil
		},
		func(e *DecodeError) {
			errs++
			if e.Kind == nil || !errors.Is(e, e.Kind) || e.Error() == "" {
				t.Fatalf("bad DecodeError %#v", e)
			}
		})
	if err != nil {
		t.Fatalf("Decode returned %v for in-memory input", err)
	}
	if st.Errors != errs || st.Relevant-st.Invalid != emitted || st.Invalid > st.Errors || st.Relevant+st.Skipped > st.Records {
		t.Fatalf("stats %+v, %d errors, %d emitted", st, errs, emitted)
	}
}

func FuzzDecode(f *testing.F) {
	addSeeds(f)
	f.Fuzz(fuzzDecode)
}

// FuzzDecodeAWSLogs wraps the input as a CloudWatch Logs subscription event:
// gzip, base64, {"awslogs":{"data":...}}.
func FuzzDecodeAWSLogs(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := json.Marshal(map[string]any{"awslogs": map[string]string{
			"data": base64.StdEncoding.EncodeToString(gzipBytes(t, data))}})
		if err != nil {
			t.Fatal(err)
		}
		fuzzDecode(t, ev)
	})
}
