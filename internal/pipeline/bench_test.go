//go:build unix

package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
)

// benchRecords is the size of the generated log the end-to-end benchmarks
// read: 1 % of the records are of interest, as in `atrest-bench bench`.
// ATREST_BENCH_RECORDS sets another size (200000 is make bench's log).
var benchRecords = func() int {
	if n, err := strconv.Atoi(os.Getenv("ATREST_BENCH_RECORDS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}()

// benchLog is a generated gzip CloudTrail log file and its statistics.
var benchLog = sync.OnceValues(func() ([]byte, trailgen.Stats) {
	var buf bytes.Buffer
	st, err := trailgen.Write(&buf, trailgen.Options{Records: benchRecords, Relevant: 0.01, Seed: 1, Gzip: true})
	if err != nil {
		panic(err)
	}
	return buf.Bytes(), st
})

// cpuTime is the CPU time (user and system, every thread) the process has
// used so far: on a shared machine a steadier measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchPipeline is a pipeline on a fresh store and a fresh engine, whose
// memo of rule results is empty: each run judges as a new process does.
// Compiling the rules, and collecting what compiling left, is left out of
// what the benchmarks time.
func benchPipeline(b testing.TB) *Pipeline {
	e, err := policy.New(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	return pipelineOn(b, e)
}

// pipelineOn is a pipeline on a fresh store and the engine e.
func pipelineOn(b testing.TB, e *policy.Engine) *Pipeline {
	p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default()})
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func discard(finding.Finding) error { return nil }

// BenchmarkProcessLog runs the whole pipeline (gunzip, scan, decode, state,
// rules, findings) over a generated log file with a fresh store each time.
func BenchmarkProcessLog(b *testing.B) {
	data, st := benchLog()
	b.SetBytes(st.Bytes)
	b.ReportAllocs()
	var (
		cpu   time.Duration
		cache CacheStats
		memo  policy.MemoStats
	)
	for b.Loop() {
		b.StopTimer()
		p := benchPipeline(b)
		b.StartTimer()
		cpu0 := cpuTime()
		rep, err := p.ProcessInput(context.Background(), "bench", bytes.NewReader(data), discard)
		cpu += cpuTime() - cpu0
		if err != nil || rep.Processed != st.Relevant {
			b.Fatalf("report %+v, err %v", rep, err)
		}
		cache, memo = p.RuleCache(), p.engine.MemoStats()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(st.Records)*float64(b.N)/cpu.Seconds(), "records/cpu-s")
	reportCaches(b, cache, memo)
}

// reportCaches reports, for one run, the share of rule results the
// pipeline's rule cache answered (the same input of the same resource),
// the share of the rest the engine's memo answered (the same values where
// each rule reads), and the share of the calls of memoized functions
// answered from their memo.
func reportCaches(b *testing.B, cache CacheStats, memo policy.MemoStats) {
	b.ReportMetric(100*float64(cache.Hits)/float64(max(1, cache.Hits+cache.Misses)), "rule-cache-hit-%")
	b.ReportMetric(100*float64(memo.Hits)/float64(max(1, memo.Hits+memo.Misses)), "memo-hit-%")
	b.ReportMetric(100*float64(memo.FuncHits)/float64(max(1, memo.FuncHits+memo.FuncMisses)), "func-memo-hit-%")
}

// BenchmarkEvent measures one delivered event end to end (envelope, decode,
// state, rules, findings) on a fresh store, for each delivery shape a
// Lambda receives one event at a time: cold on a fresh engine (the first
// event a process judges, which also prepares the query for the rules it
// triggers); steady on an engine that has judged the event before but
// remembers nothing (a running function judging a change it has not seen:
// every rule evaluated); warm on an engine that has judged the same event
// before, so that every rule is answered from its memo (what the pipeline
// itself costs); new_resource on one pipeline and engine kept across
// events, as a running function keeps them, each event about a key or file
// system it has not seen (its IDs rewritten): the rules a new resource
// triggers evaluated, with what the function has remembered of other
// resources (the policies it has parsed, the memoized functions' values).
func BenchmarkEvent(b *testing.B) {
	for _, bm := range []struct{ name, file string }{
		{"eventbridge_createkey", "01-eventbridge-kms-createkey-symmetric.json"},
		{"eventbridge_createfilesystem", "04-eventbridge-efs-createfilesystem-cmk.json"},
		{"eventbridge_putfilesystempolicy", "08-eventbridge-efs-putfilesystempolicy-securetransport.json"},
		{"cloudwatch_logs", "09-cloudwatch-logs-rotation-off-policy-insecure.json"},
	} {
		data, err := os.ReadFile("../../events/" + bm.file)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range []string{"cold", "steady", "warm", "new_resource"} {
			if mode == "new_resource" && !strings.HasPrefix(bm.name, "eventbridge_") {
				continue // a CloudWatch Logs delivery is compressed: its IDs cannot be rewritten as text
			}
			b.Run(bm.name+"/"+mode, func(b *testing.B) {
				var (
					e    *policy.Engine
					kept *Pipeline
				)
				if mode != "cold" {
					kept = benchPipeline(b)
					e = kept.engine
					judgeEvent(b, kept, bm.file, data)
				}
				b.ReportAllocs()
				switch mode {
				case "new_resource":
					next := 1
					benchBatched(b, bm.file, func() (*Pipeline, []byte) {
						event := newResource(data, next)
						if next++; bytes.Equal(event, data) {
							b.Fatal("the event names no resource newResource rewrites")
						}
						return kept, event
					})
					return
				case "warm":
					benchBatched(b, bm.file, func() (*Pipeline, []byte) { return pipelineOn(b, e), data })
					return
				}
				var cpu time.Duration
				for b.Loop() {
					b.StopTimer()
					var p *Pipeline
					if mode == "cold" {
						p = benchPipeline(b)
					} else { // steady
						e.SetMemoSize(policy.DefaultMemoSize) // empties the memos
						p = pipelineOn(b, e)
					}
					b.StartTimer()
					cpu0 := cpuTime()
					judgeEvent(b, p, bm.file, data)
					cpu += cpuTime() - cpu0
				}
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// eventBatch is how many events benchBatched prepares at a time, with the
// timer stopped.
const eventBatch = 512

// benchBatched judges one event after another, each on the pipeline next
// gives with it. The events are prepared in batches with the timer
// stopped, and the CPU time is read once a batch: stopping and starting
// the timer reads the runtime's memory statistics, which stops the world,
// and the threads it wakes then spin for work. Doing that for each event,
// as the cold and steady modes must (each needs its engine set up), added
// 50-60 µs of CPU to each (measured: one StopTimer/StartTimer pair a judged
// event nearly doubled the CPU per event), which a running function, taking
// one event after another, does not pay.
func benchBatched(b *testing.B, name string, next func() (*Pipeline, []byte)) {
	type prepared struct {
		p     *Pipeline
		event []byte
	}
	var (
		cpu, cpu0 time.Duration
		batch     []prepared
		started   bool
	)
	for b.Loop() {
		if len(batch) == 0 {
			if started {
				cpu += cpuTime() - cpu0
			}
			b.StopTimer()
			batch = make([]prepared, eventBatch)
			for j := range batch {
				batch[j].p, batch[j].event = next()
			}
			b.StartTimer()
			cpu0, started = cpuTime(), true
		}
		judgeEvent(b, batch[0].p, name, batch[0].event)
		batch = batch[1:]
	}
	cpu += cpuTime() - cpu0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// newResource rewrites a sample event's key, file system and event IDs
// into the i-th of a series no sample uses, so that a kept pipeline judges
// it as a change to a resource it has not seen. Each ID is rewritten in
// place, to another of the same length, in one copy of the event: what
// the benchmark prepares leaves no more garbage than the event itself (a
// function receives each event in a buffer of its own), so the collector
// work the judged events are charged is theirs alone.
func newResource(event []byte, i int) []byte {
	out := bytes.Clone(event)
	for _, r := range [...]struct{ from, to string }{
		{"1234abcd-12ab-34cd-56ef-1234567890ab", fmt.Sprintf("%08x-12ab-34cd-56ef-1234567890ab", 0x40000000+i)},
		{"fs-0123456789abcdef0", fmt.Sprintf("fs-%017x", 0x40000000+i)},
		{`"5eed0000-0000-0000-0000-`, fmt.Sprintf(`"5eed%04x-%04x-0000-0000-`, i>>16&0xffff, i&0xffff)},
	} {
		if len(r.to) != len(r.from) {
			panic("newResource: " + r.to + " is not as long as " + r.from)
		}
		from := []byte(r.from)
		for at := 0; ; at += len(from) {
			k := bytes.Index(event[at:], from)
			if k < 0 {
				break
			}
			at += k
			copy(out[at:], r.to)
		}
	}
	return out
}

// judgeEvent processes one delivered event on p and fails unless it made
// findings and nothing was bad.
func judgeEvent(b *testing.B, p *Pipeline, name string, data []byte) {
	rep, err := p.ProcessInput(context.Background(), name, bytes.NewReader(data), discard)
	if err != nil || rep.Findings == 0 || rep.Bad() {
		b.Fatalf("report %+v, err %v", rep, err)
	}
}

// benchRecordsOfInterest decodes the generated log's records of interest,
// all of which the generator counted.
func benchRecordsOfInterest(b *testing.B) []*cloudtrail.Record {
	data, st := benchLog()
	var recs []*cloudtrail.Record
	if _, err := (&cloudtrail.Decoder{}).Decode(context.Background(), "bench", bytes.NewReader(data),
		func(r *cloudtrail.Record, _ cloudtrail.Shape) error { recs = append(recs, r); return nil }, nil); err != nil {
		b.Fatal(err)
	}
	if len(recs) != st.Relevant {
		b.Fatalf("decoded %d records of interest, generator wrote %d", len(recs), st.Relevant)
	}
	return recs
}

// BenchmarkRecordsOfInterest judges the records of interest of the
// generated log, decoded once beforehand, on a fresh store each time: the
// cost per record of interest of state, rule triggers, the rule cache and
// the rules, without inflating or scanning.
func BenchmarkRecordsOfInterest(b *testing.B) {
	recs := benchRecordsOfInterest(b)
	b.ReportAllocs()
	var (
		cpu   time.Duration
		cache CacheStats
		memo  policy.MemoStats
	)
	for b.Loop() {
		b.StopTimer()
		p := benchPipeline(b)
		b.StartTimer()
		cpu0 := cpuTime()
		rep, err := p.ProcessRecords(context.Background(), recs, "bench", discard)
		cpu += cpuTime() - cpu0
		if err != nil || rep.Processed != len(recs) || rep.Bad() {
			b.Fatalf("report %+v, err %v", rep, err)
		}
		cache, memo = p.RuleCache(), p.engine.MemoStats()
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(recs)), "cpu-ns/record")
	reportCaches(b, cache, memo)
	b.ReportMetric(float64(cache.Hits+cache.Misses)/float64(len(recs)), "rules/record")
	b.ReportMetric(float64(memo.Misses)/float64(len(recs)), "evaluated/record")
}

// BenchmarkRuleCPU measures the rules alone on the generated log's records
// of interest: the CPU time of the evaluations the pipeline asks its engine
// for (those its rule cache does not answer), per record of interest. The
// evaluations are recorded once, from a sequential run of the records, and
// each iteration asks them again, in that order, of a fresh engine whose
// memos are empty, as a new process's are.
func BenchmarkRuleCPU(b *testing.B) {
	recs := benchRecordsOfInterest(b)
	type asked struct {
		in  *policy.Input
		ids []string
	}
	var calls []asked
	evaluate := evaluateRules
	evaluateRules = func(e *policy.Engine, ctx context.Context, in *policy.Input, ids []string) ([]policy.Result, error) {
		calls = append(calls, asked{in, slices.Clone(ids)})
		return evaluate(e, ctx, in, ids)
	}
	procs := runtime.GOMAXPROCS(1) // judged in order, on this goroutine
	restore := func() { runtime.GOMAXPROCS(procs); evaluateRules = evaluate }
	defer restore() // also when the pipeline cannot be built
	rep, err := benchPipeline(b).ProcessRecords(context.Background(), recs, "bench", discard)
	restore()
	if err != nil || rep.Processed != len(recs) || rep.Bad() {
		b.Fatalf("report %+v, err %v", rep, err)
	}
	if len(calls) == 0 {
		b.Fatal("the pipeline asked the engine nothing")
	}
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		e, err := policy.New(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		b.StartTimer()
		cpu0 := cpuTime()
		for _, c := range calls {
			if _, err := e.EvaluateRules(context.Background(), c.in, c.ids); err != nil {
				b.Fatal(err)
			}
		}
		cpu += cpuTime() - cpu0
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(recs)), "rule-cpu-ns/record")
	b.ReportMetric(float64(len(calls))/float64(len(recs)), "evaluations/record")
}
