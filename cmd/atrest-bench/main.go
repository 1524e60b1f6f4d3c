// Command atrest-bench is the developers' benchmark tool for atrest: it
// writes generated CloudTrail log files and times `atrest evaluate` against
// gunzip, jq and per-record OPA. It is not part of the user's binary.
//
//	atrest-bench bench [--atrest PATH] [--records N] ...
//	atrest-bench gen-trail [--records N] [--relevant F] [--gzip] [-o FILE]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
)

// Exit statuses, as atrest's.
const (
	exitOK       = 0
	exitBadInput = 1
	exitUsage    = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: atrest-bench <command> [flags]

commands:
  bench      time atrest evaluate against gunzip, jq and per-record OPA on a generated log
  gen-trail  write a generated CloudTrail log file for benchmarks

run 'atrest-bench <command> -h' for the flags of a command
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "bench":
		return bench(ctx, args[1:], stdout, stderr)
	case "bench-step":
		return benchStep(args[1:], stderr)
	case "gen-trail":
		return genTrail(args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "atrest-bench: unknown command %q\n%s", args[0], usage)
	return exitUsage
}
