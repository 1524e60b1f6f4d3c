package replay

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// DirClient serves ListObjectsV2 and GetObject from a local copy of buckets:
// s3://bucket/key is the file Root/bucket/key, as cloudtrail.DirOpener reads
// it (aws s3 sync s3://bucket Root/bucket makes one). Names that would leave
// Root are refused.
type DirClient struct {
	Root string
}

var _ Client = DirClient{}

// ListObjectsV2 implements Client: keys in lexicographic order, folders as
// CommonPrefixes when Delimiter is "/", MaxKeys and ContinuationToken as S3
// has them.
func (d DirClient) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	bucket, prefix := aws.ToString(in.Bucket), aws.ToString(in.Prefix)
	delim := aws.ToString(in.Delimiter)
	if delim != "" && delim != "/" {
		return nil, fmt.Errorf("local list s3://%s/%s: delimiter %q: only \"/\" is supported", bucket, prefix, delim)
	}
	root, err := d.open(bucket)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	dir := prefix
	if i := strings.LastIndex(dir, "/"); i >= 0 {
		dir = dir[:i]
	} else {
		dir = ""
	}
	if dir != "" && !fs.ValidPath(dir) {
		return nil, fmt.Errorf("local list s3://%s/%s: prefix leaves the bucket folder", bucket, prefix)
	}
	type entry struct {
		key    string
		size   int64
		folder bool
	}
	var entries []entry
	fsys := root.FS()
	start := cmp.Or(dir, ".")
	walkErr := fs.WalkDir(fsys, start, func(name string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if name == start {
			return nil
		}
		key := name
		if de.IsDir() {
			if delim != "" {
				if strings.HasPrefix(key+"/", prefix) {
					entries = append(entries, entry{key: key + "/", folder: true})
				}
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		info, err := de.Info()
		if err != nil {
			return err
		}
		entries = append(entries, entry{key: key, size: info.Size()})
		return nil
	})
	if walkErr != nil {
		return nil, fmt.Errorf("local list s3://%s/%s: %w", bucket, prefix, walkErr)
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	after := aws.ToString(in.ContinuationToken)
	limit := int(aws.ToInt32(in.MaxKeys))
	if limit <= 0 {
		limit = 1000
	}
	out := &s3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix, Delimiter: in.Delimiter}
	n := 0
	for _, e := range entries {
		if after != "" && e.key <= after {
			continue
		}
		if n == limit {
			out.IsTruncated = aws.Bool(true)
			out.NextContinuationToken = aws.String(after)
			break
		}
		if e.folder {
			out.CommonPrefixes = append(out.CommonPrefixes, s3types.CommonPrefix{Prefix: aws.String(e.key)})
		} else {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(e.key), Size: aws.Int64(e.size)})
		}
		after = e.key
		n++
	}
	out.KeyCount = aws.Int32(int32(n))
	return out, nil
}

// GetObject implements Client.
func (d DirClient) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	bucket, key := aws.ToString(in.Bucket), aws.ToString(in.Key)
	if !fs.ValidPath(key) || path.Clean(key) != key {
		return nil, fmt.Errorf("local get s3://%s/%s: key leaves the bucket folder", bucket, key)
	}
	root, err := d.open(bucket)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		return nil, fmt.Errorf("local get s3://%s/%s: %w", bucket, key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("local get s3://%s/%s: %w", bucket, key, err)
	}
	return &s3.GetObjectOutput{Body: f, ContentLength: aws.Int64(st.Size())}, nil
}

func (d DirClient) open(bucket string) (*os.Root, error) {
	if bucket == "" || strings.ContainsAny(bucket, `/\`) || bucket == "." || bucket == ".." {
		return nil, fmt.Errorf("local bucket %q: not a bucket name", bucket)
	}
	r, err := os.OpenRoot(d.Root)
	if err != nil {
		return nil, fmt.Errorf("local bucket %s: %w", bucket, err)
	}
	defer r.Close()
	br, err := r.OpenRoot(bucket)
	if err != nil {
		return nil, fmt.Errorf("local bucket %s: %w", bucket, err)
	}
	return br, nil
}
