// Command trail-logs is the Lambda function that judges CloudTrail records
// delivered by a CloudWatch Logs subscription to the trail's log group.
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartTrailLogs(); err != nil {
		os.Exit(1)
	}
}
