package integrity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ErrNotFound reports an object the bucket does not hold.
var ErrNotFound = errors.New("object not found")

// Source reads a trail bucket: objects with their user metadata, and the
// keys under a prefix.
type Source interface {
	// Get opens an object and returns its user metadata (lower-case keys
	// without "x-amz-meta-"); an error wrapping ErrNotFound when absent.
	Get(ctx context.Context, bucket, key string) (io.ReadCloser, map[string]string, error)
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, bucket, prefix string) ([]string, error)
}

// MetadataSuffix names the file beside a digest in a DirSource that holds
// its S3 metadata: the output of
//
//	aws s3api head-object --bucket BUCKET --key KEY > ROOT/BUCKET/KEY.metadata
//
// (a local copy of a bucket loses the metadata that carries the newest
// digest's signature).
const MetadataSuffix = ".metadata"

// DirSource reads a copy of trail buckets: s3://bucket/key is the file
// Root/bucket/key. Names that would leave Root are rejected.
type DirSource struct {
	Root string
}

var _ Source = DirSource{}

func (d DirSource) name(bucket, key string) (string, error) {
	name := bucket + "/" + key
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || !filepath.IsLocal(name) || path.Clean(name) != name {
		return "", fmt.Errorf("s3://%s/%s: name leaves %s", bucket, key, d.Root)
	}
	return filepath.FromSlash(name), nil
}

// Get implements Source.
func (d DirSource) Get(_ context.Context, bucket, key string) (io.ReadCloser, map[string]string, error) {
	name, err := d.name(bucket, key)
	if err != nil {
		return nil, nil, err
	}
	f, err := os.OpenInRoot(d.Root, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
	}
	if err != nil {
		return nil, nil, err
	}
	meta, err := d.metadata(name)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("s3://%s/%s%s: %w", bucket, key, MetadataSuffix, err)
	}
	return f, meta, nil
}

func (d DirSource) metadata(name string) (map[string]string, error) {
	f, err := os.OpenInRoot(d.Root, name+MetadataSuffix)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head struct {
		Metadata map[string]string `json:"Metadata"`
	}
	if err := json.NewDecoder(io.LimitReader(f, 1<<20)).Decode(&head); err != nil {
		return nil, fmt.Errorf("not head-object output: %w", err)
	}
	return head.Metadata, nil
}

// List implements Source. prefix must end in "/": it names a folder.
func (d DirSource) List(_ context.Context, bucket, prefix string) ([]string, error) {
	if !strings.HasSuffix(prefix, "/") {
		return nil, fmt.Errorf("list s3://%s/%s: not a folder", bucket, prefix)
	}
	dir, err := d.name(bucket, strings.TrimSuffix(prefix, "/"))
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(d.Root)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	var keys []string
	err = fs.WalkDir(root.FS(), filepath.ToSlash(dir), func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && !strings.HasSuffix(p, MetadataSuffix) {
			keys = append(keys, strings.TrimPrefix(p, bucket+"/"))
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// S3API is the part of the S3 client an S3Source uses.
type S3API interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

var _ S3API = (*s3.Client)(nil)

// S3Source reads a trail bucket with GetObject and ListObjectsV2.
type S3Source struct {
	Client S3API
	// ExpectedBucketOwner, when set, makes S3 refuse a bucket owned by
	// another account.
	ExpectedBucketOwner string
}

var _ Source = S3Source{}

// maxListPages bounds one folder listing (1,000 keys a page).
const maxListPages = 100

// Get implements Source.
func (s S3Source) Get(ctx context.Context, bucket, key string) (io.ReadCloser, map[string]string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if s.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(s.ExpectedBucketOwner)
	}
	out, err := s.Client.GetObject(ctx, in)
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			return nil, nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, ErrNotFound)
		}
		return nil, nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	if out.Body == nil {
		return nil, nil, fmt.Errorf("get s3://%s/%s: no body", bucket, key)
	}
	return out.Body, out.Metadata, nil
}

// List implements Source.
func (s S3Source) List(ctx context.Context, bucket, prefix string) ([]string, error) {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if s.ExpectedBucketOwner != "" {
		in.ExpectedBucketOwner = aws.String(s.ExpectedBucketOwner)
	}
	var keys []string
	for range maxListPages {
		out, err := s.Client.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if !aws.ToBool(out.IsTruncated) || out.NextContinuationToken == nil {
			slices.Sort(keys)
			return keys, nil
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	return nil, fmt.Errorf("list s3://%s/%s: more than %d pages", bucket, prefix, maxListPages)
}
