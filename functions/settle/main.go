// Command settle is the Lambda function that re-checks the NON_COMPLIANT
// verdicts held for the settle window when it ends, in batches of delayed
// SQS messages, and publishes those still non-compliant.
package main

import (
	"os"

	"github.com/atrest/atrest/internal/lambdafn"
	_ "github.com/atrest/atrest/internal/lambdafn/coldstart/early" // no collection until INIT ends
)

func main() {
	if err := lambdafn.StartSettle(); err != nil {
		os.Exit(1)
	}
}
