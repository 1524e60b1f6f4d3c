package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

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
// alias left and joined; a trail, EventBridge rule or subscription-filter
// change the trail, rule or filter. A failed call (errorCode set) changes
// nothing.
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
	if rec.EventName == cloudtrail.EventCreateFileSystem {
		id, arn = resp.FileSystemID, resp.FileSystemARN
	}
	if strings.HasPrefix(id, "arn:") {
		arn = id
	}
	if arn == "" {
		if id == "" {
			return state.Change{}, fmt.Errorf("%w: fileSystemId missing", state.ErrBadRecord)
		}
		arn = state.FileSystemARN(region, account, id)
	}
	if a, ok := state.ParseARN(arn); ok {
		account, region = a.Account, a.Region
	}
	ch := state.Change{Touched: []state.ResourceRef{{Type: state.TypeFileSystem, ARN: arn}}}
	switch rec.EventName {
	case cloudtrail.EventPutFileSystemPolicy, cloudtrail.EventDeleteFileSystemPolicy:
		l.cache.invalidate(fsPolicyKey(arn))
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

// fileSystemKey finds the key ARN of a file system for the touched set: from
// the cache or a read, else from the record's key reference. "" when the
// file system is unencrypted or the key cannot be told.
func (l *Live) fileSystemKey(ctx context.Context, arn, account, region, recordRef string) string {
	c, err := l.clients(ctx, account, region)
	if err != nil {
		return keyARNFromRef(recordRef, account, region)
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
	return keyARNFromRef(recordRef, account, region)
}

// keyARNFromRef resolves a key id or key ARN without any read; aliases give "".
func keyARNFromRef(ref, account, region string) string {
	if a, ok := state.ParseARN(ref); ok {
		if strings.HasPrefix(a.Resource, "key/") {
			return ref
		}
		return ""
	}
	if ref == "" || strings.HasPrefix(ref, "alias/") {
		return ""
	}
	return state.KeyARN(region, account, ref)
}

func (l *Live) applyKMS(ctx context.Context, rec *cloudtrail.Record, req, resp recordIDs) (state.Change, error) {
	account, region := rec.Account(), rec.AWSRegion
	switch rec.EventName {
	case cloudtrail.EventCreateAlias, cloudtrail.EventUpdateAlias, cloudtrail.EventDeleteAlias:
		return l.applyAlias(ctx, rec, req)
	case cloudtrail.EventCreateKey:
		arn := ""
		if md := resp.KeyMetadata; md != nil {
			arn = md.ARN
			if arn == "" && md.KeyID != "" {
				arn = state.KeyARN(region, account, md.KeyID)
			}
		}
		if arn == "" {
			return state.Change{}, fmt.Errorf("%w: responseElements.keyMetadata has neither arn nor keyId", state.ErrBadRecord)
		}
		l.invalidateKey(arn)
		return state.Change{Touched: []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}}, nil
	}
	arn := ""
	for _, r := range rec.Resources {
		if r.Type == string(state.TypeKey) && r.ARN != "" {
			arn = r.ARN
			break
		}
	}
	for _, ref := range []string{resp.KeyID, req.KeyID} {
		if arn != "" {
			break
		}
		if ref == "" {
			continue
		}
		if arn = keyARNFromRef(ref, account, region); arn == "" {
			if c, err := l.clients(ctx, account, region); err == nil {
				arn, _ = l.resolveKey(ctx, c, ref, account, region)
			}
		}
	}
	if arn == "" {
		return state.Change{}, fmt.Errorf("%w: cannot tell which key %q names (no key ARN in resources, unknown alias)", state.ErrBadRecord, req.KeyID)
	}
	switch rec.EventName {
	case cloudtrail.EventEnableKeyRotation, cloudtrail.EventDisableKeyRotation, cloudtrail.EventRotateKeyOnDemand:
		l.cache.invalidate(keyRotationKey(arn))
	case cloudtrail.EventPutKeyPolicy:
		l.cache.invalidate(keyPolicyKey(arn))
	case cloudtrail.EventCreateGrant, cloudtrail.EventRevokeGrant, cloudtrail.EventRetireGrant:
		l.cache.invalidate(keyGrantsKey(arn))
	default: // key state: Enable/DisableKey, (Cancel)ScheduleKeyDeletion, key material
		l.cache.invalidate(keyMetaKey(arn), keyRotationKey(arn))
	}
	return state.Change{Touched: []state.ResourceRef{{Type: state.TypeKey, ARN: arn}}}, nil
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
		if r.Type == string(state.TypeKey) && r.ARN != "" {
			touched = append(touched, r.ARN)
		}
	}
	if rec.EventName != cloudtrail.EventDeleteAlias {
		if req.TargetKeyID == "" {
			return state.Change{}, fmt.Errorf("%w: requestParameters.targetKeyId missing", state.ErrBadRecord)
		}
		if t := keyARNFromRef(req.TargetKeyID, account, region); t != "" {
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
