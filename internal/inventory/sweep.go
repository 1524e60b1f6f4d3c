package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/state"
)

// SweepResult is what one inventory sweep found.
type SweepResult struct {
	// Refs are every live file system and every key of the swept regions,
	// then the watched trails and the watched EventBridge rules and
	// subscription filters (all state.TypeMonitoringPath), each group sorted by ARN:
	// what to evaluate.
	Refs []state.ResourceRef
	// FileSystems, Keys, Trails and Watched count the refs of each group.
	FileSystems, Keys, Trails, Watched int
	// Errors are the reads that failed (a region that could not be listed,
	// a resource that could not be read). A resource whose read failed is
	// still in Refs: evaluating it reports the same error.
	Errors []error
}

// Gone returns the refs of previous (for example the resources found
// non-compliant by the last sweep) that this sweep no longer found: drift
// by deletion. Refs of other accounts or regions are not judged and not
// returned.
func (r *SweepResult) Gone(previous []state.ResourceRef, account string, regions []string) []state.ResourceRef {
	found := make(map[string]bool, len(r.Refs))
	for _, ref := range r.Refs {
		found[ref.ARN] = true
	}
	var gone []state.ResourceRef
	for _, ref := range previous {
		a, ok := arns.Parse(ref.ARN)
		if !ok || a.AccountID != account || !slices.Contains(regions, a.Region) {
			continue
		}
		if !found[ref.ARN] {
			gone = append(gone, ref)
		}
	}
	return gone
}

// Sweep inventories the monitor's own account in regions: every file system
// (DescribeFileSystems) and every key (ListKeys), paginated, and the
// monitoring path of Options.Watch: the trails (DescribeTrails, each
// multi-region trail once, read in its home region) and the named
// EventBridge rules and subscription filters. It reads each
// resource once into the cache, so evaluating the returned refs right after
// makes no further call while the reads are fresh: a sweep over N keys makes
// at most one DescribeKey and one GetKeyRotationStatus per key.
func (l *Live) Sweep(ctx context.Context, regions []string) (*SweepResult, error) {
	account, err := l.src.OwnAccount(ctx)
	if err != nil {
		return nil, err
	}
	return l.SweepAccount(ctx, account, regions)
}

// SweepAccount is Sweep for one account of the organization.
func (l *Live) SweepAccount(ctx context.Context, account string, regions []string) (*SweepResult, error) {
	res := &SweepResult{}
	var fsRefs, keyRefs []state.ResourceRef
	for _, region := range regions {
		c, err := l.clients(ctx, account, region)
		if err != nil {
			res.Errors = append(res.Errors, err)
			continue
		}
		// A sweep is a fresh inventory: the lists are read again.
		l.cache.invalidate(fsListKey(account, region), aliasIndexKey(account, region))
		list, err := l.fsList(ctx, c, account, region)
		if err != nil {
			res.Errors = append(res.Errors, err)
		}
		for _, d := range list.descs {
			arn := aws.ToString(d.FileSystemArn)
			if arn == "" {
				arn = arns.FileSystemARN(region, account, aws.ToString(d.FileSystemId))
			}
			fsRefs = append(fsRefs, state.ResourceRef{Type: state.TypeFileSystem, ARN: arn})
		}
		keys, err := l.listKeys(ctx, c, account, region)
		if err != nil {
			res.Errors = append(res.Errors, err)
		}
		for _, arn := range keys {
			keyRefs = append(keyRefs, state.ResourceRef{Type: state.TypeKey, ARN: arn})
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	trailRefs, watchedRefs, errs := l.monitoringRefs(ctx, account, regions)
	res.Errors = append(res.Errors, errs...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	cmp := func(a, b state.ResourceRef) int { return strings.Compare(a.ARN, b.ARN) }
	slices.SortFunc(fsRefs, cmp)
	slices.SortFunc(keyRefs, cmp)
	res.FileSystems, res.Keys = len(fsRefs), len(keyRefs)
	res.Trails, res.Watched = len(trailRefs), len(watchedRefs)
	res.Refs = slices.Concat(fsRefs, keyRefs, trailRefs, watchedRefs)
	res.Errors = append(res.Errors, l.warm(ctx, res.Refs)...)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return res, nil
}

func (l *Live) listKeys(ctx context.Context, c *Clients, account, region string) ([]string, error) {
	var keyARNs []string
	p := kms.NewListKeysPaginator(c.KMS, &kms.ListKeysInput{Limit: aws.Int32(1000)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return keyARNs, callError("kms:ListKeys", "keys of account "+account+" in "+region, err)
		}
		for _, k := range out.Keys {
			arn := aws.ToString(k.KeyArn)
			if arn == "" {
				arn = arns.KeyARN(region, account, aws.ToString(k.KeyId))
			}
			keyARNs = append(keyARNs, arn)
		}
	}
	return keyARNs, nil
}

// warm reads every ref into the cache with bounded concurrency.
func (l *Live) warm(ctx context.Context, refs []state.ResourceRef) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	work := make(chan state.ResourceRef)
	for range l.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ref := range work {
				var err error
				switch ref.Type {
				case state.TypeKey:
					_, err = l.Key(ctx, ref.ARN)
				case state.TypeMonitoringPath:
					var t *state.Trail
					if t, err = l.Trail(ctx, ref.ARN); t == nil && err == nil {
						_, err = l.Watched(ctx, ref.ARN)
					}
				default:
					_, err = l.FileSystem(ctx, ref.ARN)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("sweep %s: %w", ref.ARN, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, ref := range refs {
		select {
		case work <- ref:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	return errs
}
