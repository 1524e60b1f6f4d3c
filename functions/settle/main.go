// Command settle is the Lambda function that re-checks the NON_COMPLIANT
// verdicts held for the settle window when it ends, in batches of delayed
// SQS messages, and publishes those still non-compliant.
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartSettle(); err != nil {
		os.Exit(1)
	}
}
