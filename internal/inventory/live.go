package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/state"
)

// DefaultTTL is how long a read is trusted when Options.TTL is zero.
const DefaultTTL = 60 * time.Second

// keyPolicyName is the only key policy name KMS supports.
const keyPolicyName = "default"

// Options configure a Live store.
type Options struct {
	// Clients gives the clients for each account and region.
	Clients ClientSource
	// TTL is how long a read is reused; DefaultTTL when zero. Events that
	// change a resource drop its cached reads at once.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Concurrency bounds the reads a sweep makes at once; 4 when zero.
	Concurrency int
	// Watch names the trails, EventBridge rules and subscription filters a
	// sweep lists besides file systems and keys (the config's watched_*
	// lists). The zero value sweeps every trail and no rule or filter.
	Watch Watch
}

// Live is a state.TrailStore that answers from the KMS, EFS, CloudTrail,
// EventBridge and CloudWatch Logs APIs. Reads are
// cached per process for a short time, concurrent reads of one thing are made
// once, and records only drop the cached reads they make stale: a record is
// never trusted for facts. Live is safe for concurrent use.
type Live struct {
	src         ClientSource
	cache       *cache
	now         func() time.Time
	concurrency int
	watch       Watch

	mu             sync.Mutex
	trailBaselines map[string]trailBaseline     // by trail ARN
	ruleTargets    map[string]map[string]string // first ARN seen of each target id, by rule ARN
	deletedKeys    map[string]bool              // keys a DeleteKey record named

	// readAllKeyFacts makes Key read the policy and grants of every key,
	// as it did before protectsNone: tests compare the two.
	readAllKeyFacts bool
}

var _ state.Store = (*Live)(nil)

// NewLive returns a live store reading through opts.Clients.
func NewLive(opts Options) *Live {
	if opts.TTL <= 0 {
		opts.TTL = DefaultTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	return &Live{
		src: opts.Clients, cache: newCache(opts.TTL, opts.Now), now: opts.Now, concurrency: opts.Concurrency,
		watch:          Watch{Trails: slices.Clone(opts.Watch.Trails), EventRules: slices.Clone(opts.Watch.EventRules), SubscriptionFilters: slices.Clone(opts.Watch.SubscriptionFilters)},
		trailBaselines: map[string]trailBaseline{},
		ruleTargets:    map[string]map[string]string{},
		deletedKeys:    map[string]bool{},
	}
}

// Cache keys: one per read, so an event drops exactly what it changes.
func keyMetaKey(arn string) string          { return "kms/meta/" + arn }
func keyRotationKey(arn string) string      { return "kms/rotation/" + arn }
func keyPolicyKey(arn string) string        { return "kms/policy/" + arn }
func keyGrantsKey(arn string) string        { return "kms/grants/" + arn }
func aliasIndexKey(acct, reg string) string { return "kms/aliases/" + acct + "/" + reg }
func fsDescKey(arn string) string           { return "efs/desc/" + arn }
func fsPolicyKey(arn string) string         { return "efs/policy/" + arn }
func fsListKey(acct, reg string) string     { return "efs/list/" + acct + "/" + reg }

type keyMetaEntry struct {
	md     *kmstypes.KeyMetadata // nil: no such key
	readAt time.Time
}

type rotationEntry struct {
	known   bool // false when KMS does not support rotation for the key
	enabled bool
	days    int
}

type aliasIndex struct {
	toKey map[string]string   // alias name -> key ARN
	byKey map[string][]string // key ARN -> alias names, sorted
}

type fsDescEntry struct {
	desc   *efstypes.FileSystemDescription // nil: no such file system
	readAt time.Time
}

type fsPolicyEntry struct {
	policy string
}

type fsListEntry struct {
	descs  []efstypes.FileSystemDescription
	readAt time.Time
}

func parseKeyARN(arn string) (arns.ARN, error) {
	a, ok := arns.Parse(arn)
	if !ok || a.Service != arns.ServiceKMS || !strings.HasPrefix(a.Resource, arns.KeyPrefix) {
		return arns.ARN{}, fmt.Errorf("%w: %q is not a KMS key ARN", ErrBadARN, arn)
	}
	return a, nil
}

func parseFileSystemARN(arn string) (arns.ARN, error) {
	a, ok := arns.Parse(arn)
	if !ok || a.Service != arns.ServiceEFS || !strings.HasPrefix(a.Resource, arns.FileSystemPrefix) {
		return arns.ARN{}, fmt.Errorf("%w: %q is not an EFS file system ARN", ErrBadARN, arn)
	}
	return a, nil
}

func (l *Live) clients(ctx context.Context, account, region string) (*Clients, error) {
	c, err := l.src.Clients(ctx, account, region)
	if err != nil {
		return nil, fmt.Errorf("clients for account %s in %s: %w", account, region, err)
	}
	return c, nil
}

// Key reads a key: DescribeKey, GetKeyRotationStatus (for keys KMS rotates),
// the region's ListAliases, and GetKeyPolicy and ListGrants unless the key
// surely protects no live file system (protectsNone). It returns nil when
// KMS does not know the key.
//
// The key policy and the grants are read by the rules about the file systems
// a key protects only (efs_kms_key_policy_grants_efs, efs_kms_key_available);
// every rule judges a key that protects none "unused" without reading them.
// Such a key is returned with its policy unknown ("") and no grants, so a
// sweep over keys most of which protect nothing makes no call that could
// change a verdict.
func (l *Live) Key(ctx context.Context, arn string) (*state.Key, error) {
	a, err := parseKeyARN(arn)
	if err != nil {
		return nil, err
	}
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	meta, err := l.keyMeta(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	md := meta.md
	if md == nil {
		l.mu.Lock()
		deleted := l.deletedKeys[arn]
		l.mu.Unlock()
		if deleted {
			// KMS deleted it (a DeleteKey record) and DescribeKey
			// confirms: nothing of it is left to read.
			return &state.Key{ARN: arn, ID: arns.ResourceID(arn), Account: a.AccountID, Region: a.Region,
				Aliases: []string{}, Grants: []state.Grant{}, Deleted: true, Updated: meta.readAt}, nil
		}
		return nil, nil
	}
	k := &state.Key{
		ARN:              arn,
		ID:               arns.ResourceID(arn),
		Account:          a.AccountID,
		Region:           a.Region,
		KeySpec:          cmp.Or(string(md.KeySpec), string(md.CustomerMasterKeySpec)),
		Origin:           string(md.Origin),
		KeyManager:       string(md.KeyManager),
		KeyState:         string(md.KeyState),
		CustomKeyStoreID: aws.ToString(md.CustomKeyStoreId),
		Aliases:          []string{},
		Grants:           []state.Grant{},
		Updated:          meta.readAt,
	}
	// DescribeKey answers may leave KeyUsage out (moto does); a
	// SYMMETRIC_DEFAULT key can have no usage but ENCRYPT_DECRYPT.
	k.KeyUsage = state.ImpliedKeyUsage(k.KeySpec, string(md.KeyUsage))
	k.MultiRegion, k.MultiRegionKeyType, k.PrimaryKeyARN = multiRegion(md)
	if md.DeletionDate != nil {
		k.DeletionDate = md.DeletionDate.UTC()
	}
	if rotationApplies(md) {
		rot, err := l.keyRotation(ctx, c, arn)
		if err != nil {
			return nil, err
		}
		if rot.known {
			enabled := rot.enabled
			k.RotationEnabled = &enabled
			k.RotationPeriodDays = rot.days
		}
	}
	idx, err := l.aliases(ctx, c, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	k.Aliases = append(k.Aliases, idx.byKey[arn]...)
	if !l.readAllKeyFacts && l.protectsNone(ctx, c, a, arn) {
		return k, nil
	}
	if k.Policy, err = l.keyPolicy(ctx, c, arn); err != nil {
		return nil, err
	}
	grants, err := l.keyGrants(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	k.Grants = append(k.Grants, grants...)
	return k, nil
}

// protectsNone reports whether a key surely protects no live file system:
// the file-system list of its account and region is cached and fresh (a
// sweep or FileSystemsForKey read it; every record that creates, deletes or
// replicates a file system drops it) and no live file system in it names the
// key, judged as FileSystemsForKey judges. It makes no call: without a fresh
// list, or when a file system's key reference cannot be resolved, it reports
// false and the caller reads everything. The pipeline asks
// FileSystemsForKey right before Key, so the file systems a rule sees and
// this judgement come from the same list: a key that protects one is never
// judged without its policy and grants.
func (l *Live) protectsNone(ctx context.Context, c *Clients, a arns.ARN, keyARN string) bool {
	v, ok := l.cache.peek(fsListKey(a.AccountID, a.Region))
	if !ok {
		return false
	}
	list := v.(fsListEntry)
	for i := range list.descs {
		fs, err := l.fileSystemFrom(ctx, c, &list.descs[i], a.AccountID, a.Region, list.readAt)
		if err != nil || !fs.Deleted && fs.KMSKeyARN == keyARN {
			return false
		}
	}
	return true
}

// multiRegion reads a key's multi-Region role from DescribeKey.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_MultiRegionConfiguration.html
func multiRegion(md *kmstypes.KeyMetadata) (on *bool, keyType, primaryARN string) {
	on = md.MultiRegion
	if c := md.MultiRegionConfiguration; c != nil {
		keyType = string(c.MultiRegionKeyType)
		if c.PrimaryKey != nil {
			primaryARN = aws.ToString(c.PrimaryKey.Arn)
		}
	}
	return on, keyType, primaryARN
}

// relatedKeys lists the ARNs of a multi-Region key's primary and replicas,
// as DescribeKey last reported them.
func relatedKeys(md *kmstypes.KeyMetadata) []string {
	c := md.MultiRegionConfiguration
	if c == nil {
		return nil
	}
	var out []string
	if c.PrimaryKey != nil && c.PrimaryKey.Arn != nil {
		out = append(out, *c.PrimaryKey.Arn)
	}
	for _, r := range c.ReplicaKeys {
		if r.Arn != nil {
			out = append(out, *r.Arn)
		}
	}
	return out
}

// rotationApplies reports whether KMS can rotate the key automatically: a
// symmetric encryption key with key material from KMS. For others
// GetKeyRotationStatus fails with UnsupportedOperationException.
func rotationApplies(md *kmstypes.KeyMetadata) bool {
	return md.KeySpec == kmstypes.KeySpecSymmetricDefault &&
		md.Origin == kmstypes.OriginTypeAwsKms &&
		aws.ToString(md.CustomKeyStoreId) == ""
}

func (l *Live) keyMeta(ctx context.Context, c *Clients, arn string) (keyMetaEntry, error) {
	v, err := l.cache.get(ctx, keyMetaKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arn)})
		if err != nil {
			var nf *kmstypes.NotFoundException
			if errors.As(err, &nf) {
				return keyMetaEntry{readAt: l.now()}, nil
			}
			return nil, callError("kms:DescribeKey", arn, err)
		}
		return keyMetaEntry{md: out.KeyMetadata, readAt: l.now()}, nil
	})
	if err != nil {
		return keyMetaEntry{}, err
	}
	return v.(keyMetaEntry), nil
}

func (l *Live) keyRotation(ctx context.Context, c *Clients, arn string) (rotationEntry, error) {
	v, err := l.cache.get(ctx, keyRotationKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.KMS.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(arn)})
		if err != nil {
			switch apiErrorCode(err) {
			case "UnsupportedOperationException", "KMSInvalidStateException":
				return rotationEntry{}, nil
			}
			return nil, callError("kms:GetKeyRotationStatus", arn, err)
		}
		e := rotationEntry{known: true, enabled: out.KeyRotationEnabled}
		if out.KeyRotationEnabled && out.RotationPeriodInDays != nil {
			e.days = int(*out.RotationPeriodInDays)
		}
		return e, nil
	})
	if err != nil {
		return rotationEntry{}, err
	}
	return v.(rotationEntry), nil
}

func (l *Live) keyPolicy(ctx context.Context, c *Clients, arn string) (string, error) {
	v, err := l.cache.get(ctx, keyPolicyKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.KMS.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(arn), PolicyName: aws.String(keyPolicyName)})
		if err != nil {
			return nil, callError("kms:GetKeyPolicy", arn, err)
		}
		return aws.ToString(out.Policy), nil
	})
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func (l *Live) keyGrants(ctx context.Context, c *Clients, arn string) ([]state.Grant, error) {
	v, err := l.cache.get(ctx, keyGrantsKey(arn), func(ctx context.Context) (any, error) {
		var grants []state.Grant
		// Limit: the largest page ListGrants allows (1 to 100, default 50).
		// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
		p := kms.NewListGrantsPaginator(c.KMS, &kms.ListGrantsInput{KeyId: aws.String(arn), Limit: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, callError("kms:ListGrants", arn, err)
			}
			for _, g := range out.Grants {
				grants = append(grants, grantFrom(g))
			}
		}
		return grants, nil
	})
	if err != nil {
		return nil, err
	}
	return slices.Clone(v.([]state.Grant)), nil
}

// grantFrom maps a listed grant. ListGrants lists only grants in force.
func grantFrom(g kmstypes.GrantListEntry) state.Grant {
	out := state.Grant{
		ID:               aws.ToString(g.GrantId),
		GranteePrincipal: aws.ToString(g.GranteePrincipal),
		State:            state.GrantActive,
	}
	for _, op := range g.Operations {
		out.Operations = append(out.Operations, string(op))
	}
	if g.Constraints != nil {
		for _, ctx := range []map[string]string{g.Constraints.EncryptionContextSubset, g.Constraints.EncryptionContextEquals} {
			if id, ok := ctx[state.EFSGrantContextKey]; ok {
				out.FileSystemID = id
			}
		}
	}
	out.EFS = out.FileSystemID != "" || strings.Contains(out.GranteePrincipal, "elasticfilesystem") ||
		strings.Contains(aws.ToString(g.GranteeServicePrincipal), "elasticfilesystem")
	return out
}

// aliases reads every alias of an account and region once (ListAliases,
// paginated) and indexes them both ways.
func (l *Live) aliases(ctx context.Context, c *Clients, account, region string) (*aliasIndex, error) {
	v, err := l.cache.get(ctx, aliasIndexKey(account, region), func(ctx context.Context) (any, error) {
		idx := &aliasIndex{toKey: map[string]string{}, byKey: map[string][]string{}}
		// Limit: the largest page ListAliases allows (1 to 100, default 50).
		// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
		p := kms.NewListAliasesPaginator(c.KMS, &kms.ListAliasesInput{Limit: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, callError("kms:ListAliases", "aliases of account "+account+" in "+region, err)
			}
			for _, al := range out.Aliases {
				if al.TargetKeyId == nil || al.AliasName == nil {
					continue // an AWS managed alias whose key is not created yet
				}
				keyARN := arns.KeyARN(region, account, *al.TargetKeyId)
				idx.toKey[*al.AliasName] = keyARN
				idx.byKey[keyARN] = append(idx.byKey[keyARN], *al.AliasName)
			}
		}
		for _, names := range idx.byKey {
			slices.Sort(names)
		}
		return idx, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*aliasIndex), nil
}

// resolveKey turns a key reference (id, key ARN, alias name, alias ARN) into
// a key ARN, looking aliases up in the alias index of their own account and
// region. An unknown alias, or one of an account that is not monitored,
// resolves to "".
func (l *Live) resolveKey(ctx context.Context, c *Clients, ref, account, region string) (string, error) {
	lookup := func(ctx context.Context, a arns.Alias) (string, error) {
		ac := c
		if a.Account != account || a.Region != region {
			var err error
			if ac, err = l.clients(ctx, a.Account, a.Region); errors.Is(err, ErrAccountNotMonitored) {
				return "", nil // an alias of an account atrest cannot read: the key stays unknown
			} else if err != nil {
				return "", err
			}
		}
		idx, err := l.aliases(ctx, ac, a.Account, a.Region)
		if err != nil {
			return "", err
		}
		return idx.toKey[a.Name], nil
	}
	return arns.KeyResolver{Aliases: lookup}.Resolve(ctx, ref, account, region)
}

// FileSystem reads a file system (DescribeFileSystems and
// DescribeFileSystemPolicy). A file system EFS does not know is reported
// Deleted, with Known false: nothing about it is a fact any more.
func (l *Live) FileSystem(ctx context.Context, arn string) (*state.FileSystem, error) {
	a, err := parseFileSystemARN(arn)
	if err != nil {
		return nil, err
	}
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	d, err := l.fsDesc(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	if d.desc == nil {
		return &state.FileSystem{ARN: arn, ID: arns.ResourceID(arn), Account: a.AccountID, Region: a.Region, Deleted: true, Updated: d.readAt}, nil
	}
	fs, err := l.fileSystemFrom(ctx, c, d.desc, a.AccountID, a.Region, d.readAt)
	if err != nil {
		return nil, err
	}
	if fs.Deleted {
		return fs, nil
	}
	pol, err := l.fsPolicy(ctx, c, arn)
	if err != nil {
		return nil, err
	}
	fs.Policy, fs.PolicyKnown = pol.policy, true
	return fs, nil
}

func (l *Live) fsDesc(ctx context.Context, c *Clients, arn string) (fsDescEntry, error) {
	v, err := l.cache.get(ctx, fsDescKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.EFS.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(arns.ResourceID(arn))})
		if err != nil {
			var nf *efstypes.FileSystemNotFound
			if errors.As(err, &nf) {
				return fsDescEntry{readAt: l.now()}, nil
			}
			return nil, callError("elasticfilesystem:DescribeFileSystems", arn, err)
		}
		e := fsDescEntry{readAt: l.now()}
		if len(out.FileSystems) > 0 {
			d := out.FileSystems[0]
			e.desc = &d
		}
		return e, nil
	})
	if err != nil {
		return fsDescEntry{}, err
	}
	return v.(fsDescEntry), nil
}

func (l *Live) fsPolicy(ctx context.Context, c *Clients, arn string) (fsPolicyEntry, error) {
	v, err := l.cache.get(ctx, fsPolicyKey(arn), func(ctx context.Context) (any, error) {
		out, err := c.EFS.DescribeFileSystemPolicy(ctx, &efs.DescribeFileSystemPolicyInput{FileSystemId: aws.String(arns.ResourceID(arn))})
		if err != nil {
			var nf *efstypes.PolicyNotFound
			if errors.As(err, &nf) {
				return fsPolicyEntry{}, nil
			}
			return nil, callError("elasticfilesystem:DescribeFileSystemPolicy", arn, err)
		}
		return fsPolicyEntry{policy: aws.ToString(out.Policy)}, nil
	})
	if err != nil {
		return fsPolicyEntry{}, err
	}
	return v.(fsPolicyEntry), nil
}

// fileSystemFrom maps a description, resolving its key reference. The
// policy is left unknown.
func (l *Live) fileSystemFrom(ctx context.Context, c *Clients, d *efstypes.FileSystemDescription, account, region string, readAt time.Time) (*state.FileSystem, error) {
	id := aws.ToString(d.FileSystemId)
	arn := aws.ToString(d.FileSystemArn)
	if arn == "" {
		arn = arns.FileSystemARN(region, account, id)
	}
	fs := &state.FileSystem{
		ARN:       arn,
		ID:        id,
		Account:   account,
		Region:    region,
		Encrypted: aws.ToBool(d.Encrypted),
		Known:     true,
		KMSKeyID:  aws.ToString(d.KmsKeyId),
		Deleted:   d.LifeCycleState == efstypes.LifeCycleStateDeleting || d.LifeCycleState == efstypes.LifeCycleStateDeleted,
		Updated:   readAt,
	}
	if !fs.Encrypted {
		return fs, nil
	}
	if fs.KMSKeyID == "" {
		// EFS reports the key of every encrypted file system; an emulator
		// may leave it out for the AWS managed key, which is what EFS uses
		// when none is named.
		fs.KMSKeyID = state.EFSDefaultKeyAlias
	}
	keyARN, err := l.resolveKey(ctx, c, fs.KMSKeyID, account, region)
	if err != nil {
		return nil, err
	}
	fs.KMSKeyARN = keyARN
	return fs, nil
}

// fsList reads every file system of an account and region
// (DescribeFileSystems, paginated) and primes the single descriptions.
func (l *Live) fsList(ctx context.Context, c *Clients, account, region string) (fsListEntry, error) {
	v, err := l.cache.get(ctx, fsListKey(account, region), func(ctx context.Context) (any, error) {
		e := fsListEntry{readAt: l.now()}
		// MaxItems: EFS pages at 100 file systems at most (the default).
		// https://docs.aws.amazon.com/efs/latest/ug/API_DescribeFileSystems.html
		p := efs.NewDescribeFileSystemsPaginator(c.EFS, &efs.DescribeFileSystemsInput{MaxItems: aws.Int32(100)})
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				return nil, callError("elasticfilesystem:DescribeFileSystems", "file systems of account "+account+" in "+region, err)
			}
			e.descs = append(e.descs, out.FileSystems...)
		}
		for i := range e.descs {
			d := e.descs[i]
			arn := aws.ToString(d.FileSystemArn)
			if arn == "" {
				arn = arns.FileSystemARN(region, account, aws.ToString(d.FileSystemId))
			}
			l.cache.put(fsDescKey(arn), fsDescEntry{desc: &d, readAt: e.readAt})
		}
		return e, nil
	})
	if err != nil {
		return fsListEntry{}, err
	}
	return v.(fsListEntry), nil
}

// FileSystemsForKey returns the live file systems of the key's account and
// region that the key protects, from DescribeFileSystems over all of them
// (not only those seen in events). A file-system policy is included when it
// has been read already; otherwise PolicyKnown is false.
func (l *Live) FileSystemsForKey(ctx context.Context, keyARN string) ([]*state.FileSystem, error) {
	a, err := parseKeyARN(keyARN)
	if err != nil {
		return nil, err
	}
	c, err := l.clients(ctx, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	list, err := l.fsList(ctx, c, a.AccountID, a.Region)
	if err != nil {
		return nil, err
	}
	var out []*state.FileSystem
	for i := range list.descs {
		fs, err := l.fileSystemFrom(ctx, c, &list.descs[i], a.AccountID, a.Region, list.readAt)
		if err != nil {
			return nil, err
		}
		if fs.Deleted || fs.KMSKeyARN != keyARN {
			continue
		}
		if v, ok := l.cache.peek(fsPolicyKey(fs.ARN)); ok {
			fs.Policy, fs.PolicyKnown = v.(fsPolicyEntry).policy, true
		}
		out = append(out, fs)
	}
	slices.SortFunc(out, func(x, y *state.FileSystem) int { return strings.Compare(x.ARN, y.ARN) })
	return out, nil
}
