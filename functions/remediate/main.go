// Command remediate is the Lambda function that carries out, or in a dry
// run only reports, the remediation an "Atrest Finding" event suggests.
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartRemediate(); err != nil {
		os.Exit(1)
	}
}
