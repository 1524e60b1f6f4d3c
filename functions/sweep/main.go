// Command sweep is the scheduled Lambda function that judges every file
// system and key as it now stands.
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartSweep(); err != nil {
		os.Exit(1)
	}
}
