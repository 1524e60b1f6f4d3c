package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

type evaluateFlags struct {
	format     string
	configPath string
	s3Root     string
	failOn     string
}

func evaluate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var f evaluateFlags
	fl.StringVar(&f.format, "format", "", "output format: table or json (JSON Lines); default table on a terminal, json otherwise")
	fl.StringVar(&f.configPath, "config", "", "rule parameters file (YAML or JSON); default: embedded defaults")
	fl.StringVar(&f.s3Root, "s3-root", "", "resolve s3://bucket/key in S3 notifications to DIR/bucket/key (default: read S3 with the standard AWS configuration)")
	fl.StringVar(&f.failOn, "fail-on", "", "exit 3 when a finding of this status was printed: non_compliant")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: atrest evaluate [flags] PATH|DIR|- ...")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fl.NArg() == 0 {
		fmt.Fprintln(stderr, "atrest evaluate: no input: name files, folders or - for standard input")
		return exitUsage
	}
	format := f.format
	if format == "" {
		format = "json"
		if isTerminal(stdout) {
			format = "table"
		}
	}
	if format != "table" && format != "json" {
		fmt.Fprintf(stderr, "atrest evaluate: --format %q: want table or json\n", format)
		return exitUsage
	}
	if f.failOn != "" && f.failOn != "non_compliant" {
		fmt.Fprintf(stderr, "atrest evaluate: --fail-on %q: want non_compliant\n", f.failOn)
		return exitUsage
	}
	cfg := config.Default()
	if f.configPath != "" {
		var err error
		if cfg, err = config.Load(f.configPath); err != nil {
			fmt.Fprintf(stderr, "atrest evaluate: %v\n", err)
			return exitUsage
		}
	}
	engine, err := policy.New(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "atrest evaluate: %v\n", err)
		return exitUsage
	}
	dec := &cloudtrail.Decoder{Opener: newLazyS3Opener(ctx)}
	if f.s3Root != "" {
		dec.Opener = cloudtrail.DirOpener{Root: f.s3Root}
	}
	p, err := pipeline.New(pipeline.Options{Store: state.NewMemory(), Engine: engine, Config: cfg, Decoder: dec})
	if err != nil {
		fmt.Fprintf(stderr, "atrest evaluate: %v\n", err)
		return exitUsage
	}
	out := newPrinter(format, stdout)
	var (
		total        pipeline.Report
		bad          bool
		nonCompliant bool
	)
	emit := func(fd finding.Finding) error {
		if fd.Status == finding.NonCompliant {
			nonCompliant = true
		}
		return out.Print(fd)
	}
	inputs, errs := expandInputs(fl.Args())
	for _, e := range errs {
		fmt.Fprintf(stderr, "atrest: %v\n", e)
		bad = true
	}
	for _, in := range inputs {
		rep, err := processOne(ctx, p, in, stdin, emit)
		total.Add(rep)
		for _, e := range rep.DecodeErrors {
			fmt.Fprintf(stderr, "atrest: %v\n", e)
		}
		for _, e := range rep.ApplyErrors {
			fmt.Fprintf(stderr, "atrest: %s: %v\n", in, e)
		}
		if rep.Bad() {
			bad = true
		}
		if err != nil {
			fmt.Fprintf(stderr, "atrest: %s: %v\n", in, err)
			bad = true
			if ctx.Err() != nil {
				break
			}
		}
	}
	if err := out.Close(); err != nil {
		fmt.Fprintf(stderr, "atrest: write output: %v\n", err)
		return exitBadInput
	}
	fmt.Fprintf(stderr, "atrest: %d inputs, %d records (%d of interest, %d skipped, %d duplicates, %d failed calls), %d findings, %d bad\n",
		len(inputs), total.Decode.Records, total.Processed, total.Decode.Skipped, total.Duplicates, total.Failed,
		total.Findings, len(total.DecodeErrors)+len(total.ApplyErrors)+len(errs))
	switch {
	case bad:
		return exitBadInput
	case f.failOn == "non_compliant" && nonCompliant:
		return exitNonCompliant
	}
	return exitOK
}

func processOne(ctx context.Context, p *pipeline.Pipeline, path string, stdin io.Reader, emit pipeline.Emit) (pipeline.Report, error) {
	if path == "-" {
		return p.ProcessInput(ctx, "-", stdin, emit)
	}
	fh, err := os.Open(path)
	if err != nil {
		return pipeline.Report{}, err
	}
	defer fh.Close()
	return p.ProcessInput(ctx, path, fh, emit)
}

// expandInputs turns the arguments into the files to read: a folder gives
// its .json and .gz files (recursively, sorted), "-" is standard input.
func expandInputs(args []string) ([]string, []error) {
	var (
		out  []string
		errs []error
	)
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		st, err := os.Stat(a)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		var files []string
		err = filepath.WalkDir(a, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".gz") || strings.HasSuffix(path, ".jsonl")) {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
		slices.Sort(files)
		out = append(out, files...)
	}
	return out, errs
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
