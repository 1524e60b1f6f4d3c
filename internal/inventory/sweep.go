package inventory

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
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
// at most one DescribeKey and one GetKeyRotationStatus per key. File systems
// are listed before keys, so a key's policy and grants (GetKeyPolicy,
// ListGrants) are read only when a listed file system names it (Key,
// protectsNone): with 200 keys of which 128 protect file systems, 128 of
// each.
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
	// Limit: the largest page ListKeys allows (1 to 1000, default 100).
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html
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

// Watch names the monitoring path a sweep lists, as the config's
// watched_trails, watched_event_rules and watched_subscription_filters do.
type Watch struct {
	// Trails are trail names or ARNs; empty: every trail DescribeTrails
	// returns in the swept regions.
	Trails []string
	// EventRules are rule names (the default event bus of each swept
	// region) or rule ARNs; empty: none.
	EventRules []string
	// SubscriptionFilters are "LOG_GROUP:FILTER" or "LOG_GROUP:*"; empty: none.
	SubscriptionFilters []string
}

// trailList reads every trail DescribeTrails returns in a region, shadow
// trails of multi-region trails included, and primes the single reads.
func (l *Live) trailList(ctx context.Context, c *Clients, account, region string) ([]cttypes.Trail, error) {
	v, err := l.cache.get(ctx, trailListKey(account, region), func(ctx context.Context) (any, error) {
		out, err := c.Trails.DescribeTrails(ctx, &awscloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
		if err != nil {
			return nil, callError("cloudtrail:DescribeTrails", "trails of account "+account+" in "+region, err)
		}
		readAt := l.now()
		for i := range out.TrailList {
			tr := out.TrailList[i]
			if arn := aws.ToString(tr.TrailARN); arn != "" {
				l.cache.put(trailDescKey(arn), trailDescEntry{trail: &tr, readAt: readAt})
			}
		}
		return out.TrailList, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]cttypes.Trail), nil
}

// monitoringRefs lists the monitoring path of an account in regions: the
// watched trails (every trail when none is named), deduplicated by ARN since
// a multi-region trail is listed in every region, and the watched EventBridge
// rules and subscription filters. A named trail, rule or filter found in no
// region is still returned (in the first region when named without an
// ARN), so that evaluating it reports it deleted.
func (l *Live) monitoringRefs(ctx context.Context, account string, regions []string) (trails, watched []state.ResourceRef, errs []error) {
	seen := map[string]bool{}
	add := func(list *[]state.ResourceRef, arn string) {
		if !seen[arn] {
			seen[arn] = true
			*list = append(*list, state.ResourceRef{Type: state.TypeMonitoringPath, ARN: arn})
		}
	}
	if len(regions) == 0 {
		return nil, nil, nil
	}
	first := regions[0]
	matchedTrail := map[string]bool{}
	var ruleFound, filterFound map[string]bool = map[string]bool{}, map[string]bool{}
	for _, region := range regions {
		c, err := l.clients(ctx, account, region)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if c.Trails == nil || c.EventRules == nil || c.Logs == nil {
			errs = append(errs, fmt.Errorf("no CloudTrail, EventBridge or CloudWatch Logs client for account %s in %s", account, region))
			continue
		}
		l.cache.invalidate(trailListKey(account, region))
		l.cache.invalidatePrefix(filtersPrefix(account, region))
		list, err := l.trailList(ctx, c, account, region)
		if err != nil {
			errs = append(errs, err)
		}
		for _, tr := range list {
			arn, name := aws.ToString(tr.TrailARN), aws.ToString(tr.Name)
			if arn == "" {
				continue
			}
			if len(l.watch.Trails) == 0 {
				add(&trails, arn)
				continue
			}
			for _, w := range l.watch.Trails {
				if w == arn || w == name {
					matchedTrail[w] = true
					add(&trails, arn)
				}
			}
		}
		for _, r := range l.watch.EventRules {
			if arns.LooksLikeARN(r) {
				continue
			}
			arn := arns.New("events", region, account, "rule/"+r)
			l.cache.invalidate(ruleKey(arn), ruleTargetsKey(arn))
			e, err := l.ruleDesc(ctx, c, arn, "default", r)
			if err != nil {
				errs = append(errs, err)
				ruleFound[r] = true // reported as an error, not as deleted
				add(&watched, arn)
				continue
			}
			if e.found {
				ruleFound[r] = true
				add(&watched, arn)
			}
		}
		for _, f := range l.watch.SubscriptionFilters {
			group, filter, _ := strings.Cut(f, ":")
			e, err := l.groupFilters(ctx, c, account, region, group)
			if err != nil {
				errs = append(errs, err)
				filterFound[f] = true
				add(&watched, state.SubscriptionFilterID(region, account, group, filter))
				continue
			}
			for _, name := range e.names {
				if filter == "*" || filter == name {
					filterFound[f] = true
					add(&watched, state.SubscriptionFilterID(region, account, group, name))
				}
			}
		}
	}
	for _, w := range l.watch.Trails {
		if matchedTrail[w] {
			continue
		}
		if arns.LooksLikeARN(w) {
			add(&trails, w)
		} else {
			add(&trails, arns.New("cloudtrail", first, account, "trail/"+w))
		}
	}
	for _, r := range l.watch.EventRules {
		switch {
		case arns.LooksLikeARN(r):
			l.cache.invalidate(ruleKey(r), ruleTargetsKey(r))
			add(&watched, r)
		case !ruleFound[r]:
			add(&watched, arns.New("events", first, account, "rule/"+r))
		}
	}
	for _, f := range l.watch.SubscriptionFilters {
		if !filterFound[f] {
			group, filter, _ := strings.Cut(f, ":")
			add(&watched, state.SubscriptionFilterID(first, account, group, filter))
		}
	}
	cmp := func(a, b state.ResourceRef) int { return strings.Compare(a.ARN, b.ARN) }
	slices.SortFunc(trails, cmp)
	slices.SortFunc(watched, cmp)
	return trails, watched, errs
}
