// Command trail-logs is the Lambda function that judges CloudTrail records
// delivered by a CloudWatch Logs subscription to the trail's log group.
package main

import (
	"os"

	"github.com/atrest/atrest/internal/lambdafn"
	_ "github.com/atrest/atrest/internal/lambdafn/coldstart/early" // no collection until INIT ends
)

func main() {
	if err := lambdafn.StartTrailLogs(); err != nil {
		os.Exit(1)
	}
}
