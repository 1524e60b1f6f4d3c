package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/atrest/atrest/internal/trailgen"
)

// genTrail writes a generated CloudTrail log file, for benchmarks and load
// tests: `atrest-bench gen-trail --records 200000 --gzip -o trail.json.gz`.
func genTrail(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("gen-trail", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var (
		o   trailgen.Options
		out string
	)
	fl.IntVar(&o.Records, "records", 200_000, "number of records")
	fl.Float64Var(&o.Relevant, "relevant", 0.01, "share of EFS/KMS records of interest (0..1)")
	fl.Uint64Var(&o.Seed, "seed", 1, "random seed: the same seed writes the same file")
	fl.BoolVar(&o.Gzip, "gzip", false, "gzip the output, as CloudTrail delivers it")
	fl.StringVar(&out, "o", "-", "output file, - for standard output")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if o.Records < 0 || o.Relevant < 0 || o.Relevant > 1 || fl.NArg() > 0 {
		fmt.Fprintln(stderr, "atrest-bench gen-trail: --records must be ≥ 0, --relevant within 0..1, no arguments")
		return exitUsage
	}
	w := stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			fmt.Fprintf(stderr, "atrest-bench gen-trail: %v\n", err)
			return exitBadInput
		}
		defer f.Close()
		w = f
	}
	st, err := trailgen.Write(w, o)
	if err != nil {
		fmt.Fprintf(stderr, "atrest-bench gen-trail: %v\n", err)
		return exitBadInput
	}
	fmt.Fprintf(stderr, "atrest-bench gen-trail: %d records (%d of interest), %d bytes of JSON\n", st.Records, st.Relevant, st.Bytes)
	return exitOK
}
