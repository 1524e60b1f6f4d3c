// Command trail-logs is the Lambda function that judges CloudTrail records
// delivered by a CloudWatch Logs subscription to the trail's log group.
package main

import (
	"context"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/atrest/atrest/internal/lambdafn"
)

func main() {
	ctx := context.Background()
	log := lambdafn.NewLogger(os.Stdout)
	settings, err := lambdafn.FromEnv(os.Getenv)
	if err != nil {
		log.Error("settings", "error", err.Error())
		os.Exit(1)
	}
	m, err := lambdafn.NewMonitor(ctx, settings, log, os.Stdout)
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.StartHandler(lambdafn.Raw(m.TrailLogs))
}
