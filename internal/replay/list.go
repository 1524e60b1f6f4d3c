package replay

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// Client is the part of the S3 API a replay uses. *s3.Client satisfies it,
// and so does a DirClient over a local copy of a bucket.
type Client interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

var _ Client = (*s3.Client)(nil)

// Scope says which part of an archive to read.
type Scope struct {
	Bucket string
	// Prefix is the trail's S3 key prefix ("" for none); a trailing "/" is
	// added when missing.
	Prefix string
	// OrgID, when set, reads the organization trail folder AWSLogs/OrgID/.
	OrgID string
	// Accounts and Regions, when set, are read without listing them; when
	// empty they are discovered one folder level at a time.
	Accounts []string
	Regions  []string
	// Since and Until are the first and last day (UTC) read, inclusive.
	Since, Until time.Time
	// PageSize is ListObjectsV2's MaxKeys (S3's default 1,000 when 0).
	PageSize int32
	// ListWorkers is how many day folders are listed at once
	// (DefaultListWorkers when 0).
	ListWorkers int
}

// Listing is what List found.
type Listing struct {
	Objects []Object // sorted by key
	Bytes   int64
	Skipped []string // keys in the partitions read that are not log files
}

// ErrScope reports a scope that cannot be listed.
var ErrScope = errors.New("replay scope")

func (sc *Scope) check() error {
	switch {
	case sc.Bucket == "":
		return fmt.Errorf("%w: no bucket", ErrScope)
	case sc.Since.IsZero() || sc.Until.IsZero():
		return fmt.Errorf("%w: since and until are required", ErrScope)
	case sc.Until.Before(sc.Since):
		return fmt.Errorf("%w: until %s is before since %s", ErrScope, sc.Until.Format(time.DateOnly), sc.Since.Format(time.DateOnly))
	case sc.OrgID != "" && !IsOrgID(sc.OrgID):
		return fmt.Errorf("%w: organization id %q: want o- and 10 to 32 lower-case letters or digits", ErrScope, sc.OrgID)
	}
	for _, a := range sc.Accounts {
		if !IsAccount(a) {
			return fmt.Errorf("%w: account %q: want 12 digits", ErrScope, a)
		}
	}
	for _, r := range sc.Regions {
		if !isRegion(r) {
			return fmt.Errorf("%w: region %q", ErrScope, r)
		}
	}
	if sc.Prefix != "" && !strings.HasSuffix(sc.Prefix, "/") {
		sc.Prefix += "/"
	}
	return nil
}

// List lists the log files of the scope: one ListObjectsV2 with
// Delimiter "/" per folder level it has to discover (organizations and
// accounts under AWSLogs/, regions under each account's CloudTrail/), then
// the day folders of each account and region in [Since, Until], page by
// page, ListWorkers folders at a time. It never lists the bucket as a whole, never a digest folder, and
// never a day outside the range.
func List(ctx context.Context, c Client, sc Scope) (Listing, error) {
	if err := sc.check(); err != nil {
		return Listing{}, err
	}
	roots, err := accountRoots(ctx, c, sc)
	if err != nil {
		return Listing{}, err
	}
	since := time.Date(sc.Since.Year(), sc.Since.Month(), sc.Since.Day(), 0, 0, 0, 0, time.UTC)
	until := time.Date(sc.Until.Year(), sc.Until.Month(), sc.Until.Day(), 0, 0, 0, 0, time.UTC)
	var days []string
	for _, root := range roots {
		regions := sc.Regions
		if len(regions) == 0 {
			folders, err := folders(ctx, c, sc, root+trailFolder+"/")
			if err != nil {
				return Listing{}, err
			}
			for _, f := range folders {
				if isRegion(f) {
					regions = append(regions, f)
				}
			}
		}
		for _, region := range regions {
			for day := since; !day.After(until); day = day.AddDate(0, 0, 1) {
				days = append(days, DayPrefix(root, region, day))
			}
		}
	}
	out, err := listDays(ctx, c, sc, days)
	if err != nil {
		return Listing{}, err
	}
	slices.SortFunc(out.Objects, func(a, b Object) int { return strings.Compare(a.Key, b.Key) })
	slices.Sort(out.Skipped)
	return out, nil
}

// DefaultListWorkers is how many day folders are listed at once.
const DefaultListWorkers = 16

// listDays lists the day folders, ListWorkers at a time: an organization's
// archive has one folder per account, region and day.
func listDays(ctx context.Context, c Client, sc Scope, days []string) (Listing, error) {
	n := sc.ListWorkers
	if n <= 0 {
		n = DefaultListWorkers
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		out   Listing
		first error
	)
	next := make(chan string)
	for range min(n, len(days)) {
		wg.Go(func() {
			for prefix := range next {
				var l Listing
				err := listDay(ctx, c, sc, prefix, &l)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				}
				out.Objects = append(out.Objects, l.Objects...)
				out.Skipped = append(out.Skipped, l.Skipped...)
				out.Bytes += l.Bytes
				mu.Unlock()
			}
		})
	}
feed:
	for _, d := range days {
		select {
		case next <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	if first != nil {
		return Listing{}, first
	}
	return out, nil
}

// accountRoots are the folders AWSLogs/[O-ID/]ACCOUNT/ to read.
func accountRoots(ctx context.Context, c Client, sc Scope) ([]string, error) {
	base := sc.Prefix + logsFolder
	if sc.OrgID != "" {
		base += sc.OrgID + "/"
	}
	var roots []string
	if len(sc.Accounts) > 0 {
		for _, a := range sc.Accounts {
			roots = append(roots, base+a+"/")
		}
		return roots, nil
	}
	names, err := folders(ctx, c, sc, base)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		switch {
		case IsAccount(n):
			roots = append(roots, base+n+"/")
		case sc.OrgID == "" && IsOrgID(n):
			// An organization trail's folder: its accounts one level down.
			accounts, err := folders(ctx, c, sc, base+n+"/")
			if err != nil {
				return nil, err
			}
			for _, a := range accounts {
				if IsAccount(a) {
					roots = append(roots, base+n+"/"+a+"/")
				}
			}
		}
	}
	return roots, nil
}

// folders lists the immediate sub-folders of prefix (their last segment).
func folders(ctx context.Context, c Client, sc Scope, prefix string) ([]string, error) {
	var out []string
	err := pages(ctx, c, sc, prefix, "/", func(o *s3.ListObjectsV2Output) {
		for _, p := range o.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(p.Prefix), prefix), "/")
			if name != "" && !strings.Contains(name, "/") {
				out = append(out, name)
			}
		}
	})
	return out, err
}

// listDay adds the log files of one day folder.
func listDay(ctx context.Context, c Client, sc Scope, prefix string, out *Listing) error {
	return pages(ctx, c, sc, prefix, "", func(o *s3.ListObjectsV2Output) {
		for _, obj := range o.Contents {
			key := aws.ToString(obj.Key)
			lf, ok := ParseKey(sc.Prefix, key)
			if !ok || !strings.HasPrefix(key, prefix) {
				out.Skipped = append(out.Skipped, key)
				continue
			}
			lf.Size = aws.ToInt64(obj.Size)
			out.Objects = append(out.Objects, lf)
			out.Bytes += lf.Size
		}
	})
}

// pages calls ListObjectsV2 for every page under prefix.
func pages(ctx context.Context, c Client, sc Scope, prefix, delimiter string, each func(*s3.ListObjectsV2Output)) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(sc.Bucket), Prefix: aws.String(prefix)}
	if delimiter != "" {
		in.Delimiter = aws.String(delimiter)
	}
	if sc.PageSize > 0 {
		in.MaxKeys = aws.Int32(sc.PageSize)
	}
	p := s3.NewListObjectsV2Paginator(c, in)
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", sc.Bucket, prefix, err)
		}
		each(out)
	}
	return nil
}
