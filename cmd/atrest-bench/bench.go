package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
	"github.com/atrest/atrest/internal/trailgen"
	"github.com/atrest/atrest/rules"
)

// bench compares `atrest evaluate` (the binary --atrest names) on a generated log with the floor
// (gunzip) and the alternatives a user would reach for (jq, OPA evaluated
// per record). Each contender runs as its own process; CPU time and peak RSS
// come from the kernel's accounting of that process, so the figures hold on
// a busy machine.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(stderr)
	records := fl.Int("records", 200_000, "records in the generated log")
	relevant := fl.Float64("relevant", 0.01, "share of records of interest")
	naive := fl.Int("naive-sample", 200, "records of interest evaluated with a fresh rego.New each")
	dir := fl.String("dir", "", "folder for the generated log (default: a temporary folder)")
	atrest := fl.String("atrest", "bin/atrest", "the atrest binary to time")
	rounds := fl.Int("rounds", 3, "rounds of every contender, alternated; each figure is the median")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "atrest-bench bench: %v\n", err)
		return exitBadInput
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "atrest-bench-"); err != nil {
			fmt.Fprintf(stderr, "atrest-bench bench: %v\n", err)
			return exitBadInput
		}
		defer os.RemoveAll(*dir)
	}
	log := filepath.Join(*dir, "trail.json.gz")
	f, err := os.Create(log)
	if err != nil {
		fmt.Fprintf(stderr, "atrest-bench bench: %v\n", err)
		return exitBadInput
	}
	st, err := trailgen.Write(f, trailgen.Options{Records: *records, Relevant: *relevant, Seed: 1, Gzip: true})
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "atrest-bench bench: %v\n", err)
		return exitBadInput
	}
	fi, _ := os.Stat(log)
	fmt.Fprintf(stdout, "log: %d records (%d of interest), %.1f MB JSON, %.1f MB gzip; %s, %d CPUs\n\n",
		st.Records, st.Relevant, float64(st.Bytes)/1e6, float64(fi.Size())/1e6, runtime.GOARCH, runtime.NumCPU())

	var names []string
	for _, n := range cloudtrail.EventNames() {
		names = append(names, fmt.Sprintf(".eventName == %q", n))
	}
	jqFilter := ".Records[] | select(" + strings.Join(names, " or ") + ")"
	runs := []struct {
		name string
		cmd  func() *exec.Cmd
	}{
		{"gzip -dc (floor)", func() *exec.Cmd { return exec.CommandContext(ctx, "gzip", "-dc", log) }},
		{"Go compress/gzip", func() *exec.Cmd { return exec.CommandContext(ctx, self, "bench-step", "gunzip", log) }},
		{"atrest evaluate", func() *exec.Cmd { return exec.CommandContext(ctx, *atrest, "evaluate", "--format", "json", log) }},
		{"gzip -dc | jq", func() *exec.Cmd {
			return exec.CommandContext(ctx, "sh", "-c", `gzip -dc "$1" | jq -c "$2"`, "sh", log, jqFilter)
		}},
	}
	// Contenders alternate within each round, so that a burst of other
	// work on a shared machine hits them alike; each figure is the median
	// of the rounds.
	// Every binary timed starts from the same page-cache state, read from
	// disk (evictPageCache): its peak RSS counts the pages of it mapped.
	for _, bin := range []string{*atrest, self} {
		if err := evictPageCache(bin); err != nil {
			fmt.Fprintf(stderr, "atrest-bench bench: drop the page cache of %s: %v\n", bin, err)
		}
	}
	type result struct{ cpu, wall, rss float64 }
	samples := map[string][]measurement{}
	timeFile := filepath.Join(*dir, "time.txt")
	for range max(1, *rounds) {
		for _, r := range runs {
			m, err := measure(r.cmd(), timeFile)
			if err != nil {
				fmt.Fprintf(stderr, "atrest-bench bench: %s: %v\n", r.name, err)
				continue
			}
			samples[r.name] = append(samples[r.name], m)
		}
	}
	median := func(ms []measurement, f func(measurement) float64) float64 {
		v := make([]float64, len(ms))
		for i, m := range ms {
			v[i] = f(m)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "contender (median of %d)\tCPU s\twall s\trecords/s (CPU)\tMB/s (CPU)\tpeak RSS MB\t\n", max(1, *rounds))
	res := map[string]result{}
	for _, r := range runs {
		ms := samples[r.name]
		if len(ms) == 0 {
			continue
		}
		m := result{median(ms, func(m measurement) float64 { return m.cpu }), median(ms, func(m measurement) float64 { return m.wall }),
			median(ms, func(m measurement) float64 { return m.rssMB })}
		res[r.name] = m
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.0f\t%.0f\t%.1f\t\n", r.name, m.cpu, m.wall,
			float64(st.Records)/m.cpu, float64(st.Bytes)/1e6/m.cpu, m.rss)
	}
	tw.Flush()

	// OPA the naive way: a fresh rego.New over the rule files for each record.
	perEval, err := naiveOPA(ctx, log, *naive)
	if err != nil {
		fmt.Fprintf(stderr, "atrest-bench bench: naive OPA: %v\n", err)
		return exitBadInput
	}
	at := res["atrest evaluate"].cpu
	fmt.Fprintf(stdout, "\nnaive OPA (rego.New + Eval per record of interest): %.2f ms per record; %d records of interest would take %.1f s\n",
		perEval.Seconds()*1000, st.Relevant, perEval.Seconds()*float64(st.Relevant))
	if at > 0 {
		fmt.Fprintf(stdout, "\nratios (CPU time): atrest/gzip -dc %.2f, atrest/Go gunzip %.2f; jq/atrest %.1fx; naive OPA/atrest %.1fx\n",
			at/res["gzip -dc (floor)"].cpu, at/res["Go compress/gzip"].cpu,
			res["gzip -dc | jq"].cpu/at, perEval.Seconds()*float64(st.Relevant)/at)
		fmt.Fprintf(stdout, "atrest throughput: %.0f records/s of CPU (%.2f × Go gunzip's speed)\n",
			float64(st.Records)/at, res["Go compress/gzip"].cpu/at)
		aw, gw := res["atrest evaluate"].wall, res["Go compress/gzip"].wall
		fmt.Fprintf(stdout, "ratios (wall time): atrest/Go gunzip %.2f; jq/atrest %.1fx\n",
			aw/gw, res["gzip -dc | jq"].wall/aw)
	}
	return exitOK
}

type measurement struct{ cpu, wall, rssMB float64 }

// measure runs cmd under /usr/bin/time, which reports the CPU time and peak
// RSS of the command alone (a child's own rusage on Linux also counts the
// memory of the process that forked it).
func measure(cmd *exec.Cmd, timeFile string) (measurement, error) {
	argv := append([]string{"-o", timeFile, "-f", "%U %S %M"}, cmd.Args...)
	argv[4] = cmd.Path
	run := exec.CommandContext(context.Background(), "/usr/bin/time", argv...)
	run.Stdout, run.Stderr = io.Discard, io.Discard
	start := time.Now()
	if err := run.Run(); err != nil {
		return measurement{}, err
	}
	wall := time.Since(start).Seconds()
	out, err := os.ReadFile(timeFile)
	if err != nil {
		return measurement{}, err
	}
	var user, sys, rssKB float64
	if _, err := fmt.Sscanf(string(out), "%f %f %f", &user, &sys, &rssKB); err != nil {
		return measurement{}, fmt.Errorf("read /usr/bin/time output %q: %w", out, err)
	}
	return measurement{cpu: user + sys, wall: wall, rssMB: rssKB / 1024}, nil
}

// benchStep runs one measured step in its own process.
func benchStep(args []string, stderr io.Writer) int {
	if len(args) != 2 || args[0] != "gunzip" {
		fmt.Fprintln(stderr, "usage: atrest-bench bench-step gunzip FILE")
		return exitUsage
	}
	f, err := os.Open(args[1])
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitBadInput
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitBadInput
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		fmt.Fprintln(stderr, err)
		return exitBadInput
	}
	return exitOK
}

// naiveOPA measures a fresh rego.New, compile and Eval for each of n
// records of interest from the log, with the input handed over as a map.
func naiveOPA(ctx context.Context, log string, n int) (time.Duration, error) {
	engine, err := policy.New(ctx)
	if err != nil {
		return 0, err
	}
	store := state.NewMemory()
	p, err := pipeline.New(pipeline.Options{Store: store, Engine: engine, Config: config.Default()})
	if err != nil {
		return 0, err
	}
	var inputs []*policy.Input
	f, err := os.Open(log)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	// Judge the log once to fill the store, keeping the inputs the rules saw.
	_, err = p.ProcessInput(ctx, log, f, func(finding.Finding) error { return nil })
	if err != nil {
		return 0, err
	}
	for _, ref := range store.Refs() {
		if len(inputs) >= n {
			break
		}
		in, _, err := pipeline.BuildInput(ctx, store, ref, nil, config.Default())
		if err == nil {
			inputs = append(inputs, policy.AsJudged(in))
		}
	}
	if len(inputs) == 0 {
		return 0, errors.New("no records of interest in the log")
	}
	var modules []func(*rego.Rego)
	err = walkRules(func(name string, src []byte) {
		modules = append(modules, rego.Module(name, string(src)))
	})
	if err != nil {
		return 0, err
	}
	start := time.Now()
	for _, in := range inputs {
		m, err := toMap(in)
		if err != nil {
			return 0, err
		}
		opts := append([]func(*rego.Rego){rego.Query(policy.Query), rego.Input(m)}, modules...)
		if _, err := rego.New(opts...).Eval(ctx); err != nil {
			return 0, err
		}
	}
	return time.Since(start) / time.Duration(len(inputs)), nil
}

func toMap(in *policy.Input) (map[string]any, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func walkRules(fn func(name string, src []byte)) error {
	entries, err := rules.FS.ReadDir(".")
	if err != nil {
		return err
	}
	for _, d := range entries {
		if !d.IsDir() {
			continue
		}
		files, err := rules.FS.ReadDir(d.Name())
		if err != nil {
			return err
		}
		for _, f := range files {
			if strings.HasSuffix(f.Name(), "_test.rego") || !strings.HasSuffix(f.Name(), ".rego") {
				continue
			}
			path := d.Name() + "/" + f.Name()
			src, err := rules.FS.ReadFile(path)
			if err != nil {
				return err
			}
			fn(path, bytes.Clone(src))
		}
	}
	return nil
}
