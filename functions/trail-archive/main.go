// Command trail-archive is the Lambda function that judges CloudTrail log
// files named by S3 notifications, in batches of SQS messages.
package main

import (
	"os"

	_ "github.com/atrest/atrest/internal/coldstart/early" // no collection until INIT ends
	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	if err := lambdafn.StartTrailArchive(); err != nil {
		os.Exit(1)
	}
}
