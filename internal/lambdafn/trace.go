package lambdafn

import (
	"context"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// iamPrefix maps an SDK service id to the prefix of its IAM actions.
var iamPrefix = map[string]string{
	"KMS": "kms", "EFS": "elasticfilesystem", "CloudTrail": "cloudtrail", "EventBridge": "events",
	"CloudWatch Logs": "logs", "CloudWatch": "cloudwatch", "STS": "sts", "S3": "s3",
	"DynamoDB": "dynamodb", "SecurityHub": "securityhub", "SQS": "sqs",
}

// Action names the IAM action of an SDK call by service id and operation,
// e.g. ("KMS", "DescribeKey") is "kms:DescribeKey".
func Action(serviceID, operation string) string {
	prefix, ok := iamPrefix[serviceID]
	if !ok {
		prefix = strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
	}
	return prefix + ":" + operation
}

// traceCalls logs every API call made with clients built from cfg, as the
// IAM action it needs ("aws call", action). Only names are logged.
func traceCalls(cfg *aws.Config, log *slog.Logger) {
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("atrestTraceCalls",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				log.InfoContext(ctx, "aws call", "action", Action(awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)))
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
	})
}
