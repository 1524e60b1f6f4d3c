package replay

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/trailgen"
)

// benchObjects and benchRecords size the benchmark archive: 240 log files
// of 500 generated records (internal/trailgen, as atrest-bench gen-trail
// writes them: 1 % of interest, 1–3 KB a record), about 60 MB of gzip.
const (
	benchObjects = 240
	benchRecords = 500
)

// benchArchive writes the benchmark archive under root and lists it.
func benchArchive(b *testing.B, root string) Listing {
	b.Helper()
	const account, region = "111122223333", "us-east-1"
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i := range benchObjects {
		at := start.Add(time.Duration(i) * 5 * time.Minute)
		key := DayPrefix(logsFolder+account+"/", region, at) + ObjectName(account, region, at, fmt.Sprintf("Bench%011d", i))
		p := filepath.Join(root, "bench", filepath.FromSlash(key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		_, err = trailgen.Write(f, trailgen.Options{Records: benchRecords, Seed: uint64(i + 1), Gzip: true, Start: at.Add(-5 * time.Minute), Account: account, Region: region})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	l, err := List(context.Background(), DirClient{Root: root}, Scope{Bucket: "bench", Since: start, Until: start.AddDate(0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	if len(l.Objects) != benchObjects {
		b.Fatalf("listed %d objects, want %d", len(l.Objects), benchObjects)
	}
	return l
}

// BenchmarkReplay replays the archive from a local folder and reports
// objects/s, records/s and MB/s (gzip bytes as stored):
//
//   - cpus=1/workers=1: one worker on one core (GOMAXPROCS 1): the unit
//     the others scale from;
//
//   - workers=1: one worker on every core (inflating ahead and judging
//     overlap with reading the next object);
//
//   - workers=N: one worker per core, the default.
//
//     go test -run '^$' -bench Replay -benchtime 3x ./internal/replay
func BenchmarkReplay(b *testing.B) {
	root := b.TempDir()
	l := benchArchive(b, root)
	engine := testEngine(b)
	cpus := runtime.GOMAXPROCS(0)
	for _, c := range []struct{ cpus, workers int }{{1, 1}, {cpus, 1}, {cpus, cpus}} {
		name := fmt.Sprintf("workers=%d", c.workers)
		if c.cpus != cpus {
			name = fmt.Sprintf("cpus=%d/workers=%d", c.cpus, c.workers)
		}
		b.Run(name, func(b *testing.B) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(c.cpus))
			var records int
			for b.Loop() {
				b.StopTimer()
				p := newPipeline(b, engine)
				b.StartTimer()
				res, err := Run(context.Background(), PipelineApplier{Pipeline: p, Emit: func(finding.Finding) error { return nil }},
					l.Objects, Options{Client: DirClient{Root: root}, Bucket: "bench", Workers: c.workers})
				if err != nil || res.Objects != benchObjects {
					b.Fatalf("replay: %v, %d objects", err, res.Objects)
				}
				records += res.Report.Decode.Records
			}
			s := b.Elapsed().Seconds()
			b.ReportMetric(float64(benchObjects*b.N)/s, "objects/s")
			b.ReportMetric(float64(records)/s, "records/s")
			b.ReportMetric(float64(l.Bytes*int64(b.N))/s/1e6, "MB/s")
		})
	}
}
