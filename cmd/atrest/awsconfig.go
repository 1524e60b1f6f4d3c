package main

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// loadAWSConfig reads the standard AWS configuration: profiles, AWS_REGION,
// AWS_ENDPOINT_URL and the rest, nothing bespoke.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("AWS configuration: %w", err)
	}
	return cfg, nil
}

// lazyS3Opener reads S3 objects named by event notifications, loading the
// AWS configuration only when the first notification needs it, so offline
// runs never touch AWS.
type lazyS3Opener struct {
	load func() (cloudtrail.Opener, error)
}

func newLazyS3Opener(ctx context.Context) *lazyS3Opener {
	return &lazyS3Opener{load: sync.OnceValues(func() (cloudtrail.Opener, error) {
		cfg, err := loadAWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		return cloudtrail.S3Opener{Client: s3.NewFromConfig(cfg), MaxBytes: cloudtrail.DefaultMaxInflatedBytes}, nil
	})}
}

// Open implements cloudtrail.Opener.
func (o *lazyS3Opener) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	op, err := o.load()
	if err != nil {
		return nil, err
	}
	return op.Open(ctx, bucket, key)
}
