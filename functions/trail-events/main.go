// Command trail-events is the Lambda function that judges CloudTrail
// management events delivered by EventBridge ("AWS API Call via
// CloudTrail" and "AWS Service Event via CloudTrail").
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartTrailEvents(); err != nil {
		os.Exit(1)
	}
}
