// Command remediate is the Lambda function that carries out, or in a dry
// run only reports, the remediation an "Atrest Finding" event suggests.
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
	r, err := lambdafn.NewRemediator(ctx, settings, log)
	if err != nil {
		log.Error("init", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(r.Remediate)
}
