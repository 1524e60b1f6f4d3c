// Command atrest judges encryption at rest for Amazon EFS and the AWS KMS
// keys that protect it, from CloudTrail records in any delivery shape.
//
//	atrest evaluate [flags] PATH|DIR|- ...
//	atrest sweep [flags]
//	atrest backfill [flags]
//	atrest replay [flags] s3://BUCKET[/PREFIX]
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/atrest/atrest/internal/coldstart"
	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection while the rules are prepared
)

// Exit statuses.
const (
	exitOK           = 0
	exitBadInput     = 1 // some input was bad; findings for the valid rest were printed
	exitUsage        = 2
	exitNonCompliant = 3 // --fail-on non_compliant and a non-compliant finding was printed
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: atrest <command> [flags]

commands:
  evaluate   judge CloudTrail records from files, folders or standard input
  sweep      list every file system and key in AWS and judge each as it stands
  backfill   replay the last days of CloudTrail event history through the rules
  replay     judge a trail bucket's log files of a date range, on every core or on the Lambda fleet
  status     print the posture the deployed functions keep in their ledger table
  verify-key prove each KMS key works with an AWS Encryption SDK round trip
  rules      list the rules with their metadata

run 'atrest <command> -h' for the flags of a command
`

// judging are the commands that open a session (session.open), which
// releases the collector once the rules are compiled.
var judging = map[string]bool{"evaluate": true, "replay": true, "sweep": true, "backfill": true}

// releaseCollector ends the hold on the garbage collector that package
// early put on from package initialisation (coldstart), collecting once. The
// collector's settings become the process's again, GOGC or GOMEMLIMIT
// included. The start of a run keeps nearly all it allocates (the SDK's
// service descriptions, the rules parsed and compiled): the collections it
// would run find little to free.
func releaseCollector() {
	coldstart.Release(func(percent int, limit int64) (int, int64) { return percent, limit })
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	defer releaseCollector() // whatever the command did
	if len(args) == 0 || !judging[args[0]] {
		releaseCollector()
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "evaluate":
		return evaluate(ctx, args[1:], stdin, stdout, stderr)
	case "sweep":
		return sweep(ctx, args[1:], stdout, stderr)
	case "backfill":
		return backfill(ctx, args[1:], stdout, stderr)
	case "replay":
		return replayArchive(ctx, args[1:], stdout, stderr)
	case "status":
		return status(ctx, args[1:], stdout, stderr)
	case "verify-key":
		return verifyKey(ctx, args[1:], stdout, stderr)
	case "rules":
		return listRules(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "atrest: unknown command %q\n%s", args[0], usage)
	return exitUsage
}
