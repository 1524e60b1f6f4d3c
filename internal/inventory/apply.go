package inventory

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/state"
)

// The identifiers Apply reads from a record. Facts (encryption, key state,
// policies) are never taken from a record: they are read from the APIs.
type recordIDs struct {
	FileSystemID  string `json:"fileSystemId"`
	FileSystemARN string `json:"fileSystemArn"`
	KMSKeyID      string `json:"kmsKeyId"`
	KeyID         string `json:"keyId"`
	AliasName     string `json:"aliasName"`
	TargetKeyID   string `json:"targetKeyId"`
	KeyMetadata   *struct {
		KeyID string `json:"keyId"`
		ARN   string `json:"arn"`
	} `json:"keyMetadata"`
	// ReplicaKeyMetadata answers ReplicateKey; PrimaryRegion is
	// UpdatePrimaryRegion's new primary Region.
	ReplicaKeyMetadata *struct {
		ARN string `json:"arn"`
	} `json:"replicaKeyMetadata"`
	PrimaryRegion      string `json:"primaryRegion"`
	CustomKeyStoreID   string `json:"customKeyStoreId"`
	SourceFileSystemID string `json:"sourceFileSystemId"`
	Destinations       []struct {
		FileSystemID string `json:"fileSystemId"`
		Region       string `json:"region"`
		OwnerID      string `json:"ownerId"`
	} `json:"destinations"`
}

func decodeIDs(field string, raw json.RawMessage) (recordIDs, error) {
	var ids recordIDs
	if len(raw) == 0 || string(raw) == "null" {
		return ids, nil
	}
	if err := json.Unmarshal(raw, &ids); err != nil {
		return ids, fmt.Errorf("%w: %s: %v", state.ErrBadRecord, field, err)
	}
	return ids, nil
}

// Apply drops the cached reads a record makes stale and reports the
// resources it touched, as state.Memory does: CreateFileSystem and
// DeleteFileSystem touch the file system and its key, a file-system policy
// change the file system, a key change the key, an alias change the keys the
// alias left and joined, a custom key store connected or disconnected every
// key of that store read before, CreateReplicationConfiguration the
// destination file system and its key, DeleteReplicationConfiguration the
// file system it names; a trail, EventBridge rule or subscription-filter
// change the trail, rule or filter. Multi-Region keys share their primary's
// rotation: a rotation change touches the key's replicas too (from
// DescribeKey), ReplicateKey the primary and the new replica,
// UpdatePrimaryRegion every related key and the new primary. A failed call
// (errorCode set) changes nothing.
func (l *Live) Apply(ctx context.Context, rec *cloudtrail.Record) (state.Change, error) {
	if rec.Failed() {
		return state.Change{Ignored: "call failed with " + rec.ErrorCode}, nil
	}
	if !cloudtrail.Interesting(rec.EventSource, rec.EventName) {
		return state.Change{Ignored: "no state change for " + rec.EventSource + " " + rec.EventName}, nil
	}
	if state.MonitoringSource(rec.EventSource) {
		return l.applyMonitoring(ctx, rec) // errors name the record already
	}
	if err := state.ValidateIDs(rec); err != nil {
		return state.Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	req, err := decodeIDs("requestParameters", rec.RequestParameters)
	if err != nil {
		return state.Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	resp, err := decodeIDs("responseElements", rec.ResponseElements)
	if err != nil {
		return state.Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	var ch state.Change
	if rec.EventSource == cloudtrail.SourceEFS {
		ch, err = l.applyEFS(ctx, rec, req, resp)
	} else {
		ch, err = l.applyKMS(ctx, rec, req, resp)
	}
	if err != nil {
		return state.Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	return ch, nil
}

func (l *Live) applyEFS(ctx context.Context, rec *cloudtrail.Record, req, resp recordIDs) (state.Change, error) {
	account, region := rec.Account(), rec.AWSRegion
	id, arn := req.FileSystemID, ""
	switch rec.EventName {
	case cloudtrail.EventCreateFileSystem:
		id, arn = resp.FileSystemID, resp.FileSystemARN
	case cloudtrail.EventCreateReplicationConfiguration:
		return l.applyReplication(ctx, rec, req, resp)
	case cloudtrail.EventDeleteReplicationConfiguration:
		id = req.SourceFileSystemID
	}
	if arns.LooksLikeARN(id) {
		arn = id
	}
	if arn == "" {
		if id == "" {
			return state.Change{}, fmt.Errorf("%w: fileSystemId missing", state.ErrBadRecord)
		}
		arn = arns.FileSystemARN(region, account, id)
	}
	if a, ok := arns.Parse(arn); ok {
		account, region = a.AccountID, a.Region
	}
	ch := state.Change{Touched: []state.ResourceRef{{Type: state.TypeFileSystem, ARN: arn}}}
	switch rec.EventName {
	case cloudtrail.EventPutFileSystemPolicy, cloudtrail.EventDeleteFileSystemPolicy:
		l.cache.invalidate(fsPolicyKey(arn))
		return ch, nil
	case cloudtrail.EventDeleteReplicationConfiguration:
		// The destination becomes writable; its encryption and key stay.
		l.cache.invalidate(fsDescKey(arn), fsListKey(account, region))
		return ch, nil
	case cloudtrail.EventDeleteFileSystem:
		// The key is the one the file system had: known from an earlier
		// read, or from a read now while EFS still lists it as deleting.
		keyARN := l.fileSystemKey(ctx, arn, account, region, "")
		l.cache.invalidate(fsDescKey(arn), fsPolicyKey(arn), fsListKey(account, region))
		if keyARN != "" {
			l.cache.invalidate(keyGrantsKey(keyARN)) // EFS retires its grant
			ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: keyARN})
		}
		return ch, nil
	default: // CreateFileSystem
		l.cache.invalidate(fsDescKey(arn), fsPolicyKey(arn), fsListKey(account, region))
		ref := resp.KMSKeyID
		if ref == "" {
			ref = req.KMSKeyID
		}
		keyARN := l.fileSystemKey(ctx, arn, account, region, ref)
		if keyARN != "" {
			l.cache.invalidate(keyGrantsKey(keyARN)) // EFS creates a grant
			ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: keyARN})
		}
		return ch, nil
	}
}

// applyReplication drops the reads of the destination of a new replication
// configuration (named by the response) and touches it and its key.
func (l *Live) applyReplication(ctx context.Context, rec *cloudtrail.Record, req, resp recordIDs) (state.Change, error) {
	if len(resp.Destinations) == 0 || resp.Destinations[0].FileSystemID == "" {
		return state.Change{}, fmt.Errorf("%w: responseElements.destinations[0].fileSystemId missing", state.ErrBadRecord)
	}
	dst := resp.Destinations[0]
	account, region := cmp.Or(dst.OwnerID, rec.Account()), cmp.Or(dst.Region, rec.AWSRegion)
	arn := dst.FileSystemID
	if !arns.LooksLikeARN(arn) {
		arn = arns.FileSystemARN(region, account, arn)
	} else if a, ok := arns.Parse(arn); ok {
		account, region = a.AccountID, a.Region
	}
	if src := cmp.Or(req.SourceFileSystemID, resp.SourceFileSystemID); src != "" && !arns.LooksLikeARN(src) {
		l.cache.invalidate(fsDescKey(arns.FileSystemARN(rec.AWSRegion, rec.Account(), src)))
	}
	l.cache.invalidate(fsDescKey(arn), fsPolicyKey(arn), fsListKey(account, region))
	ch := state.Change{Touched: []state.ResourceRef{{Type: state.TypeFileSystem, ARN: arn}}}
	if keyARN := l.fileSystemKey(ctx, arn, account, region, ""); keyARN != "" {
		l.cache.invalidate(keyGrantsKey(keyARN)) // EFS creates a grant
		ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: keyARN})
	}
	return ch, nil
}

// fileSystemKey finds the key ARN of a file system for the touched set: from
// the cache or a read, else from the record's key reference. "" when the
// file system is unencrypted or the key cannot be told.
func (l *Live) fileSystemKey(ctx context.Context, arn, account, region, recordRef string) string {
	c, err := l.clients(ctx, account, region)
	if err != nil {
		return arns.StaticKeyARN(recordRef, account, region)
	}
	if d, err := l.fsDesc(ctx, c, arn); err == nil && d.desc != nil {
		if fs, err := l.fileSystemFrom(ctx, c, d.desc, account, region, d.readAt); err == nil {
			return fs.KMSKeyARN
		}
	}
	if recordRef == "" {
		return ""
	}
	if keyARN, err := l.resolveKey(ctx, c, recordRef, account, region); err == nil {
		return keyARN
	}
	return arns.StaticKeyARN(recordRef, account, region)
}

func (l *Live) applyKMS(ctx context.Context, rec *cloudtrail.Record, req, resp recordIDs) (state.Change, error) {
	account, region := rec.Account(), rec.AWSRegion
	switch rec.EventName {
	case cloudtrail.EventCreateAlias, cloudtrail.EventUpdateAlias, cloudtrail.EventDeleteAlias:
		return l.applyAlias(ctx, rec, req)
	case cloudtrail.EventConnectCustomKeyStore, cloudtrail.EventDisconnectCustomKeyStore:
		return l.applyKeyStore(rec, req)
	case cloudtrail.EventCreateKey:
		arn := ""
		if md := resp.KeyMetadata; md != nil {
			arn = md.ARN
			if arn == "" && md.KeyID != "" {
				arn = arns.KeyARN(region, account, md.KeyID)
			}
		}
		if arn == "" {
			return state.Change{}, fmt.Errorf("%w: responseElements.keyMetadata has neither arn nor keyId", state.ErrBadRecord)
		}
		l.invalidateKey(arn)
		return state.Change{Touched: []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}}, nil
	}
	arn := state.RecordKeyARN(rec)
	for _, ref := range []string{resp.KeyID, req.KeyID} {
		if arn != "" {
			break
		}
		if ref == "" {
			continue
		}
		if arn = arns.StaticKeyARN(ref, account, region); arn == "" {
			if c, err := l.clients(ctx, account, region); err == nil {
				arn, _ = l.resolveKey(ctx, c, ref, account, region)
			}
		}
	}
	if arn == "" {
		return state.Change{}, fmt.Errorf("%w: cannot tell which key %q names (no key ARN in resources, unknown alias)", state.ErrBadRecord, req.KeyID)
	}
	switch rec.EventName {
	case cloudtrail.EventEnableKeyRotation, cloudtrail.EventDisableKeyRotation:
		// Replicas share their primary's rotation: they are judged again.
		l.cache.invalidate(keyRotationKey(arn))
		touched := []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}
		for _, r := range l.related(ctx, arn, account, region, false) {
			if r != arn {
				l.cache.invalidate(keyRotationKey(r))
				touched = append(touched, state.ResourceRef{Type: state.TypeKey, ARN: r})
			}
		}
		return state.Change{Touched: touched}, nil
	case cloudtrail.EventRotateKeyOnDemand:
		l.cache.invalidate(keyRotationKey(arn))
	case cloudtrail.EventReplicateKey:
		// The primary's replica list changed; the replica is new.
		l.invalidateKey(arn)
		touched := []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}
		if md := resp.ReplicaKeyMetadata; md != nil && md.ARN != "" {
			l.invalidateKey(md.ARN)
			touched = append(touched, state.ResourceRef{Type: state.TypeKey, ARN: md.ARN})
		}
		return state.Change{Touched: touched}, nil
	case cloudtrail.EventUpdatePrimaryRegion:
		// Every related key's role or primary changed.
		if req.PrimaryRegion == "" {
			return state.Change{}, fmt.Errorf("%w: requestParameters.primaryRegion missing", state.ErrBadRecord)
		}
		keys := l.related(ctx, arn, account, region, true)
		if a, ok := arns.Parse(arn); ok {
			a.Region = req.PrimaryRegion
			keys = append(keys, a.String())
		}
		var ch state.Change
		for _, k := range append([]string{arn}, keys...) {
			if !slices.ContainsFunc(ch.Touched, func(r state.ResourceRef) bool { return r.ARN == k }) {
				l.cache.invalidate(keyMetaKey(k), keyRotationKey(k))
				ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: k})
			}
		}
		return ch, nil
	case cloudtrail.EventPutKeyPolicy:
		l.cache.invalidate(keyPolicyKey(arn))
	case cloudtrail.EventCreateGrant, cloudtrail.EventRevokeGrant, cloudtrail.EventRetireGrant:
		l.cache.invalidate(keyGrantsKey(arn))
	case cloudtrail.EventDeleteKey:
		// DescribeKey now answers NotFound; Key reports the key deleted.
		l.mu.Lock()
		l.deletedKeys[arn] = true
		l.mu.Unlock()
		l.invalidateKey(arn)
	default: // key state: Enable/DisableKey, (Cancel)ScheduleKeyDeletion, key material
		l.cache.invalidate(keyMetaKey(arn), keyRotationKey(arn))
	}
	return state.Change{Touched: []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}}, nil
}

// related lists the multi-Region keys related to a key as DescribeKey
// reports them (primary first, then replicas): for a primary its replicas,
// for a replica its primary and peers. With cachedOnly it reads nothing and
// answers from a cached DescribeKey, if any. A single-Region key, or one
// that cannot be read, has none.
func (l *Live) related(ctx context.Context, arn, account, region string, cachedOnly bool) []string {
	if cachedOnly {
		if v, ok := l.cache.peek(keyMetaKey(arn)); ok && v.(keyMetaEntry).md != nil {
			return relatedKeys(v.(keyMetaEntry).md)
		}
		return nil
	}
	if a, ok := arns.Parse(arn); ok {
		account, region = a.AccountID, a.Region
	}
	c, err := l.clients(ctx, account, region)
	if err != nil {
		return nil
	}
	meta, err := l.keyMeta(ctx, c, arn)
	if err != nil || meta.md == nil {
		return nil
	}
	return relatedKeys(meta.md)
}

// applyKeyStore drops the metadata of every key of a custom key store that
// was read before (their key state changes to or from Unavailable) and
// touches them; they are read again when judged.
func (l *Live) applyKeyStore(rec *cloudtrail.Record, req recordIDs) (state.Change, error) {
	if req.CustomKeyStoreID == "" {
		return state.Change{}, fmt.Errorf("%w: requestParameters.customKeyStoreId missing", state.ErrBadRecord)
	}
	var keyARNs []string
	for k, v := range l.cache.fresh(keyMetaKey("")) {
		md := v.(keyMetaEntry).md
		arn := strings.TrimPrefix(k, keyMetaKey(""))
		a, ok := arns.Parse(arn)
		if md != nil && aws.ToString(md.CustomKeyStoreId) == req.CustomKeyStoreID && ok &&
			a.AccountID == rec.Account() && a.Region == rec.AWSRegion {
			keyARNs = append(keyARNs, arn)
		}
	}
	slices.Sort(keyARNs)
	var ch state.Change
	for _, arn := range keyARNs {
		l.cache.invalidate(keyMetaKey(arn))
		ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: arn})
	}
	if len(ch.Touched) == 0 {
		ch.Ignored = "no key of custom key store " + req.CustomKeyStoreID + " was read"
	}
	return ch, nil
}

func (l *Live) invalidateKey(arn string) {
	l.cache.invalidate(keyMetaKey(arn), keyRotationKey(arn), keyPolicyKey(arn), keyGrantsKey(arn))
}

func (l *Live) applyAlias(ctx context.Context, rec *cloudtrail.Record, req recordIDs) (state.Change, error) {
	if !strings.HasPrefix(req.AliasName, "alias/") {
		return state.Change{}, fmt.Errorf("%w: requestParameters.aliasName %q does not start with alias/", state.ErrBadRecord, req.AliasName)
	}
	account, region := rec.Account(), rec.AWSRegion
	var touched []string
	// The key the alias left is known from the cached alias index; CloudTrail
	// also lists the keys an alias call acted on in resources.
	if v, ok := l.cache.peek(aliasIndexKey(account, region)); ok {
		if old := v.(*aliasIndex).toKey[req.AliasName]; old != "" {
			touched = append(touched, old)
		}
	}
	for _, r := range rec.Resources {
		if state.NamesKey(r) {
			touched = append(touched, r.ARN)
		}
	}
	if rec.EventName != cloudtrail.EventDeleteAlias {
		if req.TargetKeyID == "" {
			return state.Change{}, fmt.Errorf("%w: requestParameters.targetKeyId missing", state.ErrBadRecord)
		}
		if t := arns.StaticKeyARN(req.TargetKeyID, account, region); t != "" {
			touched = append(touched, t)
		}
	}
	l.cache.invalidate(aliasIndexKey(account, region))
	var ch state.Change
	for _, arn := range touched {
		if !slices.ContainsFunc(ch.Touched, func(r state.ResourceRef) bool { return r.ARN == arn }) {
			ch.Touched = append(ch.Touched, state.ResourceRef{Type: state.TypeKey, ARN: arn})
		}
	}
	if len(ch.Touched) == 0 {
		ch.Ignored = "the key alias " + req.AliasName + " named is not known"
	}
	return ch, nil
}
