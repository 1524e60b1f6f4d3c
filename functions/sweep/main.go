// Command sweep is the scheduled Lambda function that judges every file
// system and key as it now stands.
package main

import (
	"os"

	"github.com/atrest/atrest/internal/lambdafn"
	_ "github.com/atrest/atrest/internal/lambdafn/coldstart/early" // no collection until INIT ends
)

func main() {
	if err := lambdafn.StartSweep(); err != nil {
		os.Exit(1)
	}
}
