package cloudtrail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DirOpener opens s3://bucket/key as the file Root/bucket/key, for offline
// runs and tests over a copy of a trail bucket. Names that would leave Root
// are rejected.
type DirOpener struct {
	Root string
}

var _ Opener = DirOpener{}

// Open implements Opener.
func (o DirOpener) Open(_ context.Context, bucket, key string) (io.ReadCloser, error) {
	name := bucket + "/" + key
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || !filepath.IsLocal(name) || path.Clean(name) != name {
		return nil, fmt.Errorf("open s3://%s/%s: name leaves %s", bucket, key, o.Root)
	}
	f, err := os.OpenInRoot(o.Root, filepath.FromSlash(name))
	if err != nil {
		return nil, fmt.Errorf("open s3://%s/%s: %w", bucket, key, err)
	}
	return f, nil
}

// ObjectGetter is the part of the S3 client an S3Opener uses.
type ObjectGetter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ ObjectGetter = (*s3.Client)(nil)

// ErrObjectTooLarge is wrapped by the error of an object whose size is over
// an opener's MaxBytes: reading it again cannot succeed.
var ErrObjectTooLarge = errors.New("object over the size limit")

// S3Opener opens objects with S3 GetObject.
type S3Opener struct {
	Client ObjectGetter
	// ExpectedBucketOwner, when set, makes S3 refuse objects of a bucket
	// owned by another account.
	ExpectedBucketOwner string
	// MaxBytes, when positive, refuses an object whose ContentLength (or
	// an unknown length) is over it before its body is read.
	MaxBytes int64
}

var _ Opener = S3Opener{}

// Open implements Opener.
func (o S3Opener) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if o.Client == nil {
		return nil, errors.New("S3 opener without a client")
	}
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if o.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(o.ExpectedBucketOwner)
	}
	out, err := o.Client.GetObject(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	if out.Body == nil {
		return nil, fmt.Errorf("get s3://%s/%s: no body", bucket, key)
	}
	if o.MaxBytes > 0 {
		if out.ContentLength == nil || *out.ContentLength > o.MaxBytes {
			out.Body.Close()
			size := "of unknown size"
			if out.ContentLength != nil {
				size = fmt.Sprintf("of %d bytes", *out.ContentLength)
			}
			return nil, fmt.Errorf("get s3://%s/%s: object %s, over the %d-byte limit: %w", bucket, key, size, o.MaxBytes, ErrObjectTooLarge)
		}
	}
	return out.Body, nil
}
