// Command verify is the scheduled Lambda function that proves every KMS key
// protecting an EFS file system works, with an envelope-encryption round
// trip (efs_kms_key_verified).
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
	lambda.Start(m.Verify)
}
