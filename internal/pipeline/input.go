package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// BuildInput assembles the policy input for one resource from the store: the
// resource as it now stands, the key protecting it or the file systems it
// protects, the triggering record (nil in a sweep) and the config. It also
// returns the blast radius of a key: the ARNs of the live file systems it
// protects.
func BuildInput(ctx context.Context, store state.Store, ref state.ResourceRef, rec *cloudtrail.Record, cfg config.Config) (*policy.Input, []string, error) {
	return buildInput(ctx, store, ref, rec, cfg, parsePolicy)
}

// buildInput is BuildInput with the policy document parser given: a
// pipeline passes its cache (policyDocs.parse).
func buildInput(ctx context.Context, store state.Store, ref state.ResourceRef, rec *cloudtrail.Record, cfg config.Config, parse func(string) (any, error)) (*policy.Input, []string, error) {
	in := &policy.Input{ResourceType: string(ref.Type), Resource: ref.ARN, Config: cfg, FileSystems: []policy.FileSystemRef{}}
	if rec != nil {
		in.Event = &policy.EventInput{EventID: rec.EventID, EventName: rec.EventName, EventSource: rec.EventSource, EventTime: rec.EventTime}
	}
	var blast []string
	switch ref.Type {
	case state.TypeFileSystem:
		fs, err := store.FileSystem(ctx, ref.ARN)
		if err != nil {
			return nil, nil, fmt.Errorf("read file system %s: %w", ref.ARN, err)
		}
		if fs == nil {
			return nil, nil, fmt.Errorf("file system %s is not in the store", ref.ARN)
		}
		fsIn, err := fileSystemInput(fs, parse)
		if err != nil {
			return nil, nil, err
		}
		in.FileSystem = fsIn
		if fs.KMSKeyARN != "" {
			k, err := store.Key(ctx, fs.KMSKeyARN)
			if err != nil {
				return nil, nil, fmt.Errorf("read key %s: %w", fs.KMSKeyARN, err)
			}
			if k != nil {
				if in.Key, err = keyInput(k, parse); err != nil {
					return nil, nil, err
				}
			}
		}
	case state.TypeKey:
		// The file systems first: a live store reads a key's policy and
		// grants only when it protects one, judged from the list this
		// call has just read.
		fss, err := store.FileSystemsForKey(ctx, ref.ARN)
		if err != nil {
			return nil, nil, fmt.Errorf("file systems protected by %s: %w", ref.ARN, err)
		}
		k, err := store.Key(ctx, ref.ARN)
		if err != nil {
			return nil, nil, fmt.Errorf("read key %s: %w", ref.ARN, err)
		}
		if k == nil {
			return nil, nil, fmt.Errorf("key %s is not in the store", ref.ARN)
		}
		if in.Key, err = keyInput(k, parse); err != nil {
			return nil, nil, err
		}
		if in.Key.Primary, err = primaryInput(ctx, store, k); err != nil {
			return nil, nil, err
		}
		for _, fs := range fss {
			in.FileSystems = append(in.FileSystems, policy.FileSystemRef{
				ARN: fs.ARN, ID: fs.ID, Account: fs.Account, Region: fs.Region, Creator: fs.Creator,
			})
			blast = append(blast, fs.ARN)
		}
	case state.TypeMonitoringPath:
		if err := monitoringInput(ctx, store, ref, in); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, fmt.Errorf("unknown resource type %q", ref.Type)
	}
	return in, blast, nil
}

// monitoringInput fills in the trail, EventBridge rule or subscription filter
// ref names (state/trail.go: all are TypeMonitoringPath resources).
func monitoringInput(ctx context.Context, store state.Store, ref state.ResourceRef, in *policy.Input) error {
	ts, ok := store.(state.TrailStore)
	if !ok {
		return fmt.Errorf("store %T does not model trails", store)
	}
	t, err := ts.Trail(ctx, ref.ARN)
	if err != nil {
		return fmt.Errorf("read trail %s: %w", ref.ARN, err)
	}
	if t == nil {
		w, err := ts.Watched(ctx, ref.ARN)
		if err != nil {
			return fmt.Errorf("read %s: %w", ref.ARN, err)
		}
		if w == nil {
			return fmt.Errorf("%s is not in the store", ref.ARN)
		}
		in.Watched = &policy.WatchedInput{
			Kind: w.Kind, ARN: w.ARN, Name: w.Name, Account: w.Account, Region: w.Region,
			EventBus: w.EventBus, LogGroup: w.LogGroup, State: w.State,
			RemovedTargets: slices.Clone(w.RemovedTargets), Retargeted: []policy.RetargetInput{},
			PatternKnown: w.PatternKnown, PatternError: w.PatternError, Dropped: []policy.DroppedInput{},
			LogGroupDeleted: w.LogGroupDeleted,
		}
		if in.Watched.RemovedTargets == nil {
			in.Watched.RemovedTargets = []string{}
		}
		for _, r := range w.Retargeted() {
			in.Watched.Retargeted = append(in.Watched.Retargeted, policy.RetargetInput{ID: r.ID, ARN: r.ARN, Expected: r.Expected})
		}
		for _, d := range w.Dropped {
			in.Watched.Dropped = append(in.Watched.Dropped, policy.DroppedInput{Source: d.Source, EventNames: slices.Clone(d.EventNames), All: d.All})
		}
		return nil
	}
	in.Trail = &policy.TrailInput{
		ARN: t.ARN, Name: t.Name, Account: t.Account, Region: t.HomeRegion, HomeRegion: t.HomeRegion,
		Known: t.Known(), Logging: t.Logging, MultiRegion: t.MultiRegion, IncludeGlobalEvents: t.IncludeGlobalEvents,
		S3Bucket: t.S3Bucket, BaselineMultiRegion: t.BaselineMultiRegion, BaselineS3Bucket: t.BaselineS3Bucket,
		ManagementEvents: t.ManagementEvents, ExcludedSources: slices.Clone(t.ExcludedSources), Deleted: t.Deleted,
		CloudWatchLogsLogGroup: state.LogGroupName(t.CloudWatchLogsLogGroupARN), CloudWatchLogsKnown: t.CloudWatchLogsKnown,
		BaselineCloudWatchLogsLogGroup: state.LogGroupName(t.BaselineCloudWatchLogsLogGroupARN),
		UncoveredRegions:               []string{},
	}
	// A single-Region trail logs its home region only (Security Hub
	// CloudTrail.1 asks for a multi-Region trail).
	if t.MultiRegion != nil && !*t.MultiRegion {
		for _, r := range in.Config.MonitoredRegions {
			if r != t.HomeRegion && !slices.Contains(in.Trail.UncoveredRegions, r) {
				in.Trail.UncoveredRegions = append(in.Trail.UncoveredRegions, r)
			}
		}
		slices.Sort(in.Trail.UncoveredRegions)
	}
	return nil
}

func fileSystemInput(fs *state.FileSystem, parse func(string) (any, error)) (*policy.FileSystemInput, error) {
	out := &policy.FileSystemInput{
		ARN: fs.ARN, ID: fs.ID, Account: fs.Account, Region: fs.Region,
		Encrypted: fs.Encrypted, KMSKeyID: fs.KMSKeyID, KMSKeyARN: fs.KMSKeyARN, Deleted: fs.Deleted,
		Creator: fs.Creator,
		Known:   fs.Known,
		// A file system whose creation was seen has no policy until one is put.
		PolicyKnown: fs.Known || fs.PolicyKnown,
	}
	if fs.Policy != "" {
		p, err := parse(fs.Policy)
		if err != nil {
			return nil, fmt.Errorf("file system %s policy: %w", fs.ARN, err)
		}
		out.Policy = p
	}
	return out, nil
}

func keyInput(k *state.Key, parse func(string) (any, error)) (*policy.KeyInput, error) {
	out := &policy.KeyInput{
		ARN: k.ARN, ID: k.ID, Account: k.Account, Region: k.Region,
		Known:   k.KeySpec != "" || k.KeyState != "" || k.KeyManager != "",
		Aliases: slices.Clone(k.Aliases), KeySpec: k.KeySpec, KeyUsage: k.KeyUsage, Origin: k.Origin,
		KeyManager: k.KeyManager, KeyState: k.KeyState, CustomKeyStoreID: k.CustomKeyStoreID,
		RotationEnabled: k.RotationEnabled, RotationPeriodDays: k.RotationPeriodDays,
		Grants:      make([]policy.GrantInput, 0, len(k.Grants)),
		MultiRegion: k.MultiRegion, MultiRegionKeyType: k.MultiRegionKeyType, PrimaryKeyARN: k.PrimaryKeyARN,
		Deleted: k.Deleted,
	}
	if out.Aliases == nil {
		out.Aliases = []string{}
	}
	for _, g := range k.Grants {
		ops := g.Operations
		if ops == nil {
			ops = []string{}
		}
		out.Grants = append(out.Grants, policy.GrantInput{
			GrantID: g.ID, GranteePrincipal: g.GranteePrincipal, Operations: ops,
			FileSystemID: g.FileSystemID, EFS: g.EFS, State: g.State, RetiredAfterDelete: g.RetiredAfterDelete,
		})
	}
	if k.Policy != "" {
		p, err := parse(k.Policy)
		if err != nil {
			return nil, fmt.Errorf("key %s policy: %w", k.ARN, err)
		}
		out.Policy = p
	}
	return out, nil
}

// primaryInput reads the primary key of a multi-Region replica: automatic
// rotation is managed on the primary and shared by its replicas. It is nil
// for any other key, and for a replica whose primary's ARN is unknown.
func primaryInput(ctx context.Context, store state.Store, k *state.Key) (*policy.PrimaryKeyInput, error) {
	if !k.Replica() || k.PrimaryKeyARN == "" || k.PrimaryKeyARN == k.ARN {
		return nil, nil
	}
	out := &policy.PrimaryKeyInput{ARN: k.PrimaryKeyARN}
	p, err := store.Key(ctx, k.PrimaryKeyARN)
	if err != nil {
		return nil, fmt.Errorf("read primary key %s of %s: %w", k.PrimaryKeyARN, k.ARN, err)
	}
	if p != nil {
		out.Known = p.KeySpec != "" || p.KeyState != "" || p.KeyManager != ""
		out.RotationEnabled, out.RotationPeriodDays = p.RotationEnabled, p.RotationPeriodDays
	}
	return out, nil
}

// parsePolicy decodes an IAM policy document. It must be a JSON object.
func parsePolicy(doc string) (any, error) {
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		return nil, fmt.Errorf("not a JSON document: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("not a JSON object")
	}
	return v, nil
}

// policyDocs keeps parsed policy documents by their text, with their Rego
// values (policy.Document), so that a key or file-system policy is parsed
// and converted once per change rather than once per evaluation: read
// straight into its Rego value (policy.ParseDocumentText), or decoded by
// encoding/json first when that cannot. It is bounded: once full it is
// cleared. The parsed values are shared between inputs and never changed.
type policyDocs struct {
	max  int
	docs map[string]any
}

// parse is parsePolicy through the cache.
func (c *policyDocs) parse(doc string) (any, error) {
	if v, ok := c.docs[doc]; ok {
		return v, nil
	}
	var v any
	if d, ok := policy.ParseDocumentText(doc); ok {
		v = d
	} else {
		parsed, err := parsePolicy(doc)
		if err != nil {
			return nil, err
		}
		if v, err = policy.NewDocumentText(doc, parsed); err != nil {
			return nil, err
		}
	}
	if len(c.docs) >= c.max {
		clear(c.docs)
	}
	c.docs[doc] = v
	return v, nil
}
