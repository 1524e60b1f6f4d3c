package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/terminal"
)

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const defaultVerifierPrincipal = "arn:aws:iam::111122223333:role/atrest-verifier"

// verifyKey implements
//
//	atrest verify-key [--interval D] [--file-system ARN ...] [--format table|json] [--policy-snippet] KEY [KEY...]
//
// It proves each key works with an AWS Encryption SDK round trip and prints
// each step's result and timing. Exit status: 0 every key verified; 3 a key
// failed verification; 1 a verification could not be completed (throttled,
// network); 2 usage error.
func verifyKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("verify-key", flag.ContinueOnError)
	fl.SetOutput(stderr)
	var fileSystems stringList
	interval := fl.Duration("interval", keyverify.DefaultInterval, "reuse a key's result for this long (a key named twice is verified once)")
	fl.Var(&fileSystems, "file-system", "a file system the keys protect, named in the encryption context (repeatable)")
	format := fl.String("format", "", "output format: table or json (JSON Lines); default table on a terminal, json otherwise")
	snippet := fl.Bool("policy-snippet", false, "print the key-policy statements the verifier's role needs, then verify any KEYs named")
	principal := fl.String("principal", defaultVerifierPrincipal, "the verifier's role ARN, for --policy-snippet")
	signing := fl.Bool("signing-suite", false, "encrypt with AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (0x0578) instead of 0x0478")
	fl.Usage = func() {
		fmt.Fprintln(stderr, "usage: atrest verify-key [flags] KEY [KEY...]")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if *snippet {
		fmt.Fprintln(stdout, keyverify.KeyPolicySnippet(*principal))
		if fl.NArg() == 0 {
			return exitOK
		}
	}
	if fl.NArg() == 0 {
		fmt.Fprintln(stderr, "atrest verify-key: name at least one key (ARN)")
		return exitUsage
	}
	f := *format
	if f == "" {
		f = "json"
		if isTerminal(stdout) {
			f = "table"
		}
	}
	if f != "table" && f != "json" {
		fmt.Fprintf(stderr, "atrest verify-key: --format %q: want table or json\n", f)
		return exitUsage
	}
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "atrest verify-key: %v\n", err)
		return exitUsage
	}
	opts := []keyverify.Option{keyverify.WithInterval(*interval)}
	if *signing {
		opts = append(opts, keyverify.WithSigningSuite())
	}
	v, err := keyverify.New(cfg, opts...)
	if err != nil {
		fmt.Fprintf(stderr, "atrest verify-key: %v\n", err)
		return exitUsage
	}
	code := exitOK
	var tw *tabwriter.Writer
	if f == "table" {
		tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tSTEP\tRESULT\tTIME\tDETAIL")
	}
	for _, key := range fl.Args() {
		r := v.Verify(ctx, key, fileSystems)
		switch {
		case r.OK:
		case r.Performed:
			code = exitNonCompliant
		case code == exitOK:
			code = exitBadInput
		}
		if tw == nil {
			if err := printJSON(stdout, r); err != nil {
				fmt.Fprintf(stderr, "atrest verify-key: %s\n", terminal.Escape(err.Error()))
				return exitBadInput
			}
			continue
		}
		for _, s := range r.Steps {
			result := "ok"
			if !s.OK {
				result = "FAILED"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", terminal.Escape(key), s.Step, result, s.Duration.Round(time.Microsecond), terminal.Escape(s.Detail))
		}
		outcome := "VERIFIED"
		if !r.OK {
			outcome = "NOT VERIFIED: " + string(r.Reason)
		}
		if r.Cached {
			outcome += " (cached)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tsuite %s\n", terminal.Escape(key), "total", outcome, r.Duration.Round(time.Microsecond), r.AlgorithmSuite)
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			fmt.Fprintf(stderr, "atrest verify-key: %v\n", err)
			return exitBadInput
		}
	}
	return code
}

// printJSON writes v as one line of JSON, with the characters that could
// reorder or hide text on a terminal as \u escapes.
func printJSON(w io.Writer, v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(terminal.EscapeJSON(line), '\n'))
	return err
}
