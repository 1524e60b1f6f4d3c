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
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
)

func evaluate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("evaluate", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		c      commonFlags
		s3Root string
		live   bool

		validateIntegrity, requireIntegrity bool
	)
	c.register(fl)
	fl.StringVar(&s3Root, "s3-root", "", "resolve s3://bucket/key in S3 notifications to DIR/bucket/key (default: read S3 with the standard AWS configuration)")
	fl.BoolVar(&live, "live", false, "read file systems and keys from the AWS APIs instead of building state from the events alone")
	fl.BoolVar(&validateIntegrity, "validate-integrity", false, "validate each CloudTrail log file read against the signed digest files beside it (signature via ListPublicKeys, digest chain, SHA-256); report altered, missing and unlisted log files")
	fl.BoolVar(&requireIntegrity, "require-integrity", false, "like --validate-integrity, and refuse to judge any log file or input whose integrity is not proven")
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
	s, code := c.open(ctx, "evaluate", stdout, stderr)
	if s == nil {
		return code
	}
	store, _, _, err := s.store(ctx, live)
	if err != nil {
		return s.usage("%v", err)
	}
	dec := &cloudtrail.Decoder{Opener: newLazyS3Opener(ctx)}
	if s3Root != "" {
		dec.Opener = cloudtrail.DirOpener{Root: s3Root}
	}
	var ic *integrityCheck
	if validateIntegrity || requireIntegrity {
		if ic, err = newIntegrityCheck(ctx, s3Root, requireIntegrity, stderr); err != nil {
			return s.usage("%v", err)
		}
		dec.Opener = ic.opener(dec.Opener)
	}
	if err := s.start(ctx, store, pipeline.Options{Decoder: dec}, metrics.SourceCLI); err != nil {
		return s.usage("%v", err)
	}
	var total pipeline.Report
	inputs, errs := expandInputs(fl.Args())
	for _, e := range errs {
		s.fail("%v", e)
	}
	for _, in := range inputs {
		if ic != nil {
			if err := ic.admitInput(ctx, in); err != nil {
				s.fail("%s: %v", in, err)
				continue
			}
		}
		rep, err := processOne(ctx, s.run, in, stdin)
		total.Add(rep)
		s.report(in, rep)
		if err != nil {
			s.fail("%s: %v", in, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	if ic != nil {
		ic.finish(ctx, s)
	}
	fmt.Fprintf(stderr, "atrest: %d inputs, %d records (%d of interest, %d skipped, %d duplicates, %d failed calls), %d findings, %d bad\n",
		// Of interest: the records judged and those of interest that were
		// bad input (cloudtrail.Stats.Invalid).
		len(inputs), total.Decode.Records, total.Processed+total.Decode.Invalid, total.Decode.Skipped, total.Duplicates, total.Failed,
		total.Findings, len(total.DecodeErrors)+len(total.ApplyErrors)+len(errs))
	return s.finish(ctx)
}

func processOne(ctx context.Context, run *monitor.Run, path string, stdin io.Reader) (pipeline.Report, error) {
	if path == "-" {
		return run.Input(ctx, "-", stdin)
	}
	fh, err := os.Open(path)
	if err != nil {
		return pipeline.Report{}, err
	}
	defer fh.Close()
	return run.Input(ctx, path, fh)
}

// expandInputs turns the arguments into the files to read: a folder gives
// its .json, .jsonl and .gz files (recursively, sorted), "-" is standard
// input.
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
