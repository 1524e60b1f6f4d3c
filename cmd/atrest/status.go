package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/posture"
	"github.com/atrest/atrest/internal/terminal"
)

// envLedgerTable names the deployed ledger's table when --table is not
// given (the functions' own variable).
const envLedgerTable = "ATREST_LEDGER_TABLE"

// status implements
//
//	atrest status [--table NAME] [--format table|json|html] [--status LIST] [--all] [--reasons] [-o FILE]
//
// It reads the deployed ledger (DynamoDB, standard AWS configuration) and
// prints its posture as evaluate and sweep do.
func status(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("status", flag.ContinueOnError)
	fl.SetOutput(stderr)
	table := fl.String("table", os.Getenv(envLedgerTable), "the ledger's DynamoDB table: the stack's LedgerTableName output (default $"+envLedgerTable+")")
	format := fl.String("format", "", "table, json (JSON Lines, one entry a line) or html; default table on a terminal, json otherwise")
	statuses := fl.String("status", "", "show only these statuses, comma-separated (e.g. non_compliant,error)")
	all := fl.Bool("all", false, "show NOT_APPLICABLE entries and deleted resources too")
	reasons := fl.Bool("reasons", false, "table: print every row's full reason below it")
	output := fl.String("o", "", "write the posture to this file instead of standard output")
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	fail := func(code int, format string, args ...any) int {
		fmt.Fprintf(stderr, "atrest status: %s\n", terminal.Escape(fmt.Sprintf(format, args...)))
		return code
	}
	if fl.NArg() > 0 || *table == "" {
		return fail(exitUsage, "name the ledger's table with --table or $%s (the stack's LedgerTableName output)", envLedgerTable)
	}
	f := *format
	if f == "" {
		f = "json"
		if *output == "" && isTerminal(stdout) {
			f = "table"
		}
	}
	if f != posture.FormatTable && f != posture.FormatJSON && f != posture.FormatHTML {
		return fail(exitUsage, "--format %q: want table, json or html", f)
	}
	filter := posture.Filter{All: *all}
	if *statuses != "" {
		var err error
		if filter.Statuses, err = posture.ParseStatuses(*statuses); err != nil {
			return fail(exitUsage, "--status: %v", err)
		}
	}
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	store, err := ledger.NewTable(dynamodb.NewFromConfig(cfg), *table)
	if err != nil {
		return fail(exitUsage, "%v", err)
	}
	entries, err := store.List(ctx)
	if err != nil {
		return fail(exitBadInput, "read the ledger %s: %v", *table, err)
	}
	w, done := stdout, func() error { return nil }
	if *output != "" {
		fh, err := os.Create(*output)
		if err != nil {
			return fail(exitUsage, "%v", err)
		}
		w, done = fh, fh.Close
	}
	err = writePosture(w, f, entries, filter, *reasons, "atrest status: "+*table)
	if cerr := done(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail(exitBadInput, "%v", err)
	}
	return exitOK
}
