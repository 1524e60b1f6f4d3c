package awstest

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
)

// CreateFileSystem creates a file system for a test. CreateFileSystem is
// idempotent by creation token: when the SDK retries a request whose first
// attempt succeeded (a slow answer on a busy machine), EFS answers
// FileSystemAlreadyExists, and the file system the first attempt created is
// the one wanted.
// It is safe to call from several goroutines.
func CreateFileSystem(ctx context.Context, client *efs.Client, in *efs.CreateFileSystemInput) (string, error) {
	out, err := client.CreateFileSystem(ctx, in)
	if err == nil {
		return aws.ToString(out.FileSystemArn), nil
	}
	var exists *efstypes.FileSystemAlreadyExists
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("create file system %s: %w", aws.ToString(in.CreationToken), err)
	}
	d, derr := client.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{CreationToken: in.CreationToken})
	if derr != nil || len(d.FileSystems) != 1 {
		return "", fmt.Errorf("file system %s exists but cannot be read: %v (%w)", aws.ToString(in.CreationToken), derr, err)
	}
	return aws.ToString(d.FileSystems[0].FileSystemArn), nil
}
