// Command remediate is the Lambda function that carries out, or in a dry
// run only reports, the remediation an "Atrest Finding" event suggests.
package main

import (
	"os"

	"github.com/atrest/atrest/internal/lambdafn"
	_ "github.com/atrest/atrest/internal/lambdafn/coldstart/early" // no collection until INIT ends
)

func main() {
	if err := lambdafn.StartRemediate(); err != nil {
		os.Exit(1)
	}
}
