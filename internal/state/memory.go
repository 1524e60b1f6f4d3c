package state

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// Memory is a Store filled from CloudTrail records alone: atrest's offline
// default, needing no AWS account. What no record has said stays unknown.
type Memory struct {
	fileSystems map[string]*FileSystem     // by ARN
	keys        map[string]*Key            // by ARN
	aliases     map[string]string          // alias ARN -> key ARN
	protects    map[string]map[string]bool // key ARN -> file-system ARNs
	trails      map[string]*Trail          // by ARN (trail.go)
	watched     map[string]*Watched        // by identifier (trail.go)
	// versions holds, per resource ARN and attribute, the eventTime of the
	// change that set it, so an older record never overwrites newer state.
	versions map[string]time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		fileSystems: map[string]*FileSystem{},
		keys:        map[string]*Key{},
		aliases:     map[string]string{},
		protects:    map[string]map[string]bool{},
		trails:      map[string]*Trail{},
		watched:     map[string]*Watched{},
		versions:    map[string]time.Time{},
	}
}

// FileSystem returns a copy of a file system, or nil when unknown.
func (m *Memory) FileSystem(_ context.Context, arn string) (*FileSystem, error) {
	fs, ok := m.fileSystems[arn]
	if !ok {
		return nil, nil
	}
	c := *fs
	return &c, nil
}

// Key returns a copy of a key, or nil when unknown.
func (m *Memory) Key(_ context.Context, arn string) (*Key, error) {
	k, ok := m.keys[arn]
	if !ok {
		return nil, nil
	}
	c := *k
	c.Aliases = slices.Clone(k.Aliases)
	c.Grants = slices.Clone(k.Grants)
	return &c, nil
}

// FileSystemsForKey returns the live file systems a key protects, by ARN.
func (m *Memory) FileSystemsForKey(_ context.Context, keyARN string) ([]*FileSystem, error) {
	var out []*FileSystem
	for arn := range m.protects[keyARN] {
		if fs := m.fileSystems[arn]; fs != nil && !fs.Deleted {
			c := *fs
			out = append(out, &c)
		}
	}
	slices.SortFunc(out, func(a, b *FileSystem) int { return strings.Compare(a.ARN, b.ARN) })
	return out, nil
}

// Put adds or replaces resources directly, for seeding a store from an
// inventory or a test.
func (m *Memory) Put(fileSystems []FileSystem, keys []Key) {
	for i := range keys {
		k := keys[i]
		m.keys[k.ARN] = &k
		for _, a := range k.Aliases {
			m.aliases[AliasARN(k.Region, k.Account, a)] = k.ARN
		}
	}
	for i := range fileSystems {
		fs := fileSystems[i]
		m.fileSystems[fs.ARN] = &fs
		if fs.KMSKeyARN != "" {
			m.link(fs.KMSKeyARN, fs.ARN)
		}
	}
}

func (m *Memory) link(keyARN, fsARN string) {
	set := m.protects[keyARN]
	if set == nil {
		set = map[string]bool{}
		m.protects[keyARN] = set
	}
	set[fsARN] = true
}

// newer reports whether a change at t to attr of arn is at least as new as
// the last one applied, and if so records t.
func (m *Memory) newer(arn, attr string, t time.Time) bool {
	k := arn + "#" + attr
	if last, ok := m.versions[k]; ok && t.Before(last) {
		return false
	}
	m.versions[k] = t
	return true
}

// Apply changes the model by one record. A failed call changes nothing.
func (m *Memory) Apply(_ context.Context, rec *cloudtrail.Record) (Change, error) {
	if rec.Failed() {
		return Change{Ignored: "call failed with " + rec.ErrorCode}, nil
	}
	if err := ValidateIDs(rec); err != nil {
		return Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	var (
		ch  Change
		err error
	)
	switch rec.EventSource {
	case cloudtrail.SourceEFS:
		ch, err = m.applyEFS(rec)
	case cloudtrail.SourceKMS:
		ch, err = m.applyKMS(rec)
	case cloudtrail.SourceCloudTrail, cloudtrail.SourceEvents, cloudtrail.SourceLogs:
		ch, err = m.applyMonitoring(rec)
	default:
		return Change{Ignored: "event source " + rec.EventSource + " changes no EFS or KMS state"}, nil
	}
	if err != nil {
		return Change{}, fmt.Errorf("apply %s %s: %w", rec.EventName, rec.EventID, err)
	}
	return ch, nil
}

func (m *Memory) fileSystemFor(rec *cloudtrail.Record, id, arn string) *FileSystem {
	if arn == "" {
		arn = FileSystemARN(rec.AWSRegion, rec.Account(), id)
	}
	fs := m.fileSystems[arn]
	if fs == nil {
		fs = &FileSystem{ARN: arn, ID: ResourceID(arn), Account: rec.Account(), Region: rec.AWSRegion}
		if a, ok := ParseARN(arn); ok {
			fs.Account, fs.Region = a.Account, a.Region
		}
		m.fileSystems[arn] = fs
	}
	if rec.EventTime.After(fs.Updated) {
		fs.Updated = rec.EventTime
	}
	return fs
}

func (m *Memory) applyEFS(rec *cloudtrail.Record) (Change, error) {
	switch rec.EventName {
	case cloudtrail.EventCreateFileSystem:
		return m.createFileSystem(rec)
	case cloudtrail.EventDeleteFileSystem, cloudtrail.EventPutFileSystemPolicy, cloudtrail.EventDeleteFileSystemPolicy:
		var req fileSystemRequest
		if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
			return Change{}, err
		}
		id := req.FileSystemID
		if id == "" {
			return Change{}, fmt.Errorf("%w: requestParameters.fileSystemId missing", ErrBadRecord)
		}
		arn := ""
		if strings.HasPrefix(id, "arn:") {
			arn = id
		}
		fs := m.fileSystemFor(rec, id, arn)
		ch := Change{Touched: []ResourceRef{{TypeFileSystem, fs.ARN}}}
		switch rec.EventName {
		case cloudtrail.EventDeleteFileSystem:
			if m.newer(fs.ARN, "deleted", rec.EventTime) {
				fs.Deleted = true
			}
			if fs.KMSKeyARN != "" {
				ch.Touched = append(ch.Touched, ResourceRef{TypeKey, fs.KMSKeyARN})
			}
		case cloudtrail.EventPutFileSystemPolicy:
			if req.Policy == nil {
				return Change{}, fmt.Errorf("%w: requestParameters.policy missing", ErrBadRecord)
			}
			if !json.Valid([]byte(*req.Policy)) {
				return Change{}, fmt.Errorf("%w: requestParameters.policy is not a JSON document", ErrBadRecord)
			}
			if m.newer(fs.ARN, "policy", rec.EventTime) {
				fs.Policy = *req.Policy
				fs.PolicyKnown = true
			}
		case cloudtrail.EventDeleteFileSystemPolicy:
			if m.newer(fs.ARN, "policy", rec.EventTime) {
				fs.Policy = ""
				fs.PolicyKnown = true
			}
		}
		return ch, nil
	}
	return Change{Ignored: "no state change for " + rec.EventName}, nil
}

func (m *Memory) createFileSystem(rec *cloudtrail.Record) (Change, error) {
	var req createFileSystemRequest
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	var resp createFileSystemResponse
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	if resp.FileSystemID == "" && resp.FileSystemARN == "" {
		return Change{}, fmt.Errorf("%w: responseElements.fileSystemId missing", ErrBadRecord)
	}
	fs := m.fileSystemFor(rec, resp.FileSystemID, resp.FileSystemARN)
	if resp.FileSystemID != "" {
		fs.ID = resp.FileSystemID
	}
	encrypted := false
	switch {
	case resp.Encrypted != nil:
		encrypted = *resp.Encrypted
	case req.Encrypted != nil:
		encrypted = *req.Encrypted
	}
	fs.Encrypted = encrypted
	fs.Known = true
	fs.Deleted = false
	ch := Change{Touched: []ResourceRef{{TypeFileSystem, fs.ARN}}}
	if !encrypted {
		return ch, nil
	}
	// EFS uses its AWS managed key when no key is named.
	defaultKey := req.KMSKeyID == "" || req.KMSKeyID == EFSDefaultKeyAlias ||
		strings.HasSuffix(req.KMSKeyID, ":"+EFSDefaultKeyAlias)
	fs.KMSKeyID = req.KMSKeyID
	if fs.KMSKeyID == "" {
		fs.KMSKeyID = EFSDefaultKeyAlias
	}
	ref := resp.KMSKeyID
	if ref == "" {
		ref = fs.KMSKeyID
	}
	keyARN := m.resolveKey(ref, fs.Account, fs.Region)
	if keyARN == "" {
		return ch, nil
	}
	fs.KMSKeyARN = keyARN
	m.link(keyARN, fs.ARN)
	k := m.keyFor(keyARN)
	// The call succeeded, so EFS accepted the key: it was an enabled
	// symmetric encryption key at that moment. Fill only what is unknown.
	if k.KeySpec == "" {
		k.KeySpec = SpecSymmetricDefault
	}
	if k.KeyUsage == "" {
		k.KeyUsage = UsageEncryptDecrypt
	}
	if k.KeyState == "" {
		k.KeyState = KeyStateEnabled
		m.newer(k.ARN, "state", rec.EventTime)
	}
	if defaultKey {
		k.KeyManager = ManagerAWS
		k.Origin = OriginAWSKMS
		if !slices.Contains(k.Aliases, EFSDefaultKeyAlias) {
			k.Aliases = append(k.Aliases, EFSDefaultKeyAlias)
			m.aliases[AliasARN(k.Region, k.Account, EFSDefaultKeyAlias)] = k.ARN
		}
	}
	ch.Touched = append(ch.Touched, ResourceRef{TypeKey, keyARN})
	return ch, nil
}

// resolveKey turns a key id, key ARN, alias name or alias ARN into a key ARN
// in the given account and region. It returns "" when an alias is unknown.
func (m *Memory) resolveKey(ref, account, region string) string {
	if a, ok := ParseARN(ref); ok {
		if strings.HasPrefix(a.Resource, "key/") {
			return ref
		}
		if strings.HasPrefix(a.Resource, "alias/") {
			return m.aliases[ref]
		}
		return ""
	}
	if strings.HasPrefix(ref, "alias/") {
		return m.aliases[AliasARN(region, account, ref)]
	}
	if ref == "" || account == "" || region == "" {
		return ""
	}
	return KeyARN(region, account, ref)
}

func (m *Memory) keyFor(arn string) *Key {
	k := m.keys[arn]
	if k == nil {
		a, _ := ParseARN(arn)
		k = &Key{ARN: arn, ID: ResourceID(arn), Account: a.Account, Region: a.Region}
		m.keys[arn] = k
	}
	return k
}

// recordKeyARN finds the key a KMS record acts on: the resources list first
// (CloudTrail names the key ARN there), then the parameters.
func (m *Memory) recordKeyARN(rec *cloudtrail.Record, refs ...string) string {
	for _, r := range rec.Resources {
		if r.Type == "AWS::KMS::Key" && r.ARN != "" {
			return r.ARN
		}
	}
	for _, ref := range refs {
		if ref == "" {
			continue
		}
		if arn := m.resolveKey(ref, rec.Account(), rec.AWSRegion); arn != "" {
			return arn
		}
	}
	return ""
}

func (m *Memory) applyKMS(rec *cloudtrail.Record) (Change, error) {
	if rec.EventName == cloudtrail.EventCreateKey {
		return m.createKey(rec)
	}
	var req keyRequest
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	var resp keyResponse
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	switch rec.EventName {
	case cloudtrail.EventCreateAlias, cloudtrail.EventUpdateAlias, cloudtrail.EventDeleteAlias:
		return m.applyAlias(rec, req)
	}
	arn := m.recordKeyARN(rec, resp.KeyID, req.KeyID)
	if arn == "" {
		return Change{}, fmt.Errorf("%w: cannot tell which key %q names (no key ARN in resources, unknown alias)", ErrBadRecord, req.KeyID)
	}
	k := m.keyFor(arn)
	if rec.EventTime.After(k.Updated) {
		k.Updated = rec.EventTime
	}
	ch := Change{Touched: []ResourceRef{{TypeKey, arn}}}
	t := rec.EventTime
	setState := func(s string) {
		if m.newer(arn, "state", t) {
			k.KeyState = s
			if s != KeyStatePendingDeletion {
				k.DeletionDate = time.Time{}
			}
		}
	}
	switch rec.EventName {
	case cloudtrail.EventEnableKeyRotation:
		if m.newer(arn, "rotation", t) {
			on := true
			k.RotationEnabled = &on
			k.RotationPeriodDays = 365
			if req.RotationPeriodInDays != nil {
				k.RotationPeriodDays = *req.RotationPeriodInDays
			}
		}
	case cloudtrail.EventDisableKeyRotation:
		if m.newer(arn, "rotation", t) {
			off := false
			k.RotationEnabled = &off
			k.RotationPeriodDays = 0
		}
	case cloudtrail.EventRotateKeyOnDemand:
		// Rotating now says nothing about the schedule.
	case cloudtrail.EventDisableKey:
		setState(KeyStateDisabled)
	case cloudtrail.EventEnableKey:
		setState(KeyStateEnabled)
	case cloudtrail.EventScheduleKeyDeletion:
		setState(KeyStatePendingDeletion)
		if k.KeyState == KeyStatePendingDeletion && resp.DeletionDate != "" {
			k.DeletionDate = parseCloudTrailDate(resp.DeletionDate)
		}
	case cloudtrail.EventCancelKeyDeletion:
		// KMS leaves a key Disabled after its deletion is cancelled.
		setState(KeyStateDisabled)
	case cloudtrail.EventImportKeyMaterial:
		setState(KeyStateEnabled)
	case cloudtrail.EventDeleteImportedKeyMaterial:
		setState(KeyStatePendingImport)
	case cloudtrail.EventPutKeyPolicy:
		if req.Policy == nil {
			return Change{}, fmt.Errorf("%w: requestParameters.policy missing", ErrBadRecord)
		}
		if !json.Valid([]byte(*req.Policy)) {
			return Change{}, fmt.Errorf("%w: requestParameters.policy is not a JSON document", ErrBadRecord)
		}
		if m.newer(arn, "policy", t) {
			k.Policy = *req.Policy
		}
	case cloudtrail.EventCreateGrant:
		m.createGrant(rec, k, req, resp)
	case cloudtrail.EventRevokeGrant, cloudtrail.EventRetireGrant:
		m.endGrant(rec, k, req)
	}
	return ch, nil
}

func (m *Memory) createGrant(rec *cloudtrail.Record, k *Key, req keyRequest, resp keyResponse) {
	g := Grant{ID: resp.GrantID, GranteePrincipal: req.GranteePrincipal, Operations: req.Operations, State: GrantActive}
	if req.Constraints != nil {
		for _, ctx := range []map[string]string{req.Constraints.EncryptionContextSubset, req.Constraints.EncryptionContextEquals} {
			if id, ok := ctx[EFSGrantContextKey]; ok {
				g.FileSystemID = id
			}
		}
	}
	g.EFS = g.FileSystemID != "" || strings.Contains(req.GranteePrincipal, "elasticfilesystem") ||
		rec.UserIdentity.InvokedBy == cloudtrail.SourceEFS
	if g.ID == "" {
		// A grant whose id the record does not give cannot be revoked by
		// id later; keep it keyed by event so it still counts as active.
		g.ID = "event:" + rec.EventID
	}
	if i := slices.IndexFunc(k.Grants, func(x Grant) bool { return x.ID == g.ID }); i >= 0 {
		k.Grants[i] = g
		return
	}
	k.Grants = append(k.Grants, g)
}

func (m *Memory) endGrant(rec *cloudtrail.Record, k *Key, req keyRequest) {
	state := GrantRevoked
	if rec.EventName == cloudtrail.EventRetireGrant {
		state = GrantRetired
	}
	i := slices.IndexFunc(k.Grants, func(x Grant) bool { return req.GrantID != "" && x.ID == req.GrantID })
	if i < 0 {
		k.Grants = append(k.Grants, Grant{ID: req.GrantID})
		i = len(k.Grants) - 1
	}
	g := &k.Grants[i]
	if !m.newer(k.ARN+"/grant/"+g.ID, "state", rec.EventTime) {
		return
	}
	g.State = state
	if state == GrantRetired {
		fsDeleted := false
		if g.FileSystemID != "" {
			if fs := m.fileSystems[FileSystemARN(k.Region, k.Account, g.FileSystemID)]; fs != nil && fs.Deleted {
				fsDeleted = true
			}
		}
		// EFS retires its grants when their file system is deleted.
		g.RetiredAfterDelete = fsDeleted || rec.UserIdentity.InvokedBy == cloudtrail.SourceEFS
	}
}

func (m *Memory) applyAlias(rec *cloudtrail.Record, req keyRequest) (Change, error) {
	if !strings.HasPrefix(req.AliasName, "alias/") {
		return Change{}, fmt.Errorf("%w: requestParameters.aliasName %q does not start with alias/", ErrBadRecord, req.AliasName)
	}
	aliasARN := AliasARN(rec.AWSRegion, rec.Account(), req.AliasName)
	var ch Change
	if old := m.aliases[aliasARN]; old != "" {
		if k := m.keys[old]; k != nil {
			k.Aliases = slices.DeleteFunc(k.Aliases, func(a string) bool { return a == req.AliasName })
		}
		delete(m.aliases, aliasARN)
		ch.Touched = append(ch.Touched, ResourceRef{TypeKey, old})
	}
	if rec.EventName == cloudtrail.EventDeleteAlias {
		return ch, nil
	}
	if req.TargetKeyID == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.targetKeyId missing", ErrBadRecord)
	}
	target := m.resolveKey(req.TargetKeyID, rec.Account(), rec.AWSRegion)
	if target == "" {
		for _, r := range rec.Resources {
			if r.Type == "AWS::KMS::Key" {
				target = r.ARN
			}
		}
	}
	if target == "" {
		return Change{}, fmt.Errorf("%w: cannot resolve targetKeyId %q", ErrBadRecord, req.TargetKeyID)
	}
	k := m.keyFor(target)
	m.aliases[aliasARN] = target
	if !slices.Contains(k.Aliases, req.AliasName) {
		k.Aliases = append(k.Aliases, req.AliasName)
	}
	if !slices.ContainsFunc(ch.Touched, func(r ResourceRef) bool { return r.ARN == target }) {
		ch.Touched = append(ch.Touched, ResourceRef{TypeKey, target})
	}
	return ch, nil
}

func (m *Memory) createKey(rec *cloudtrail.Record) (Change, error) {
	var req createKeyRequest
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	var resp createKeyResponse
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	md := resp.KeyMetadata
	if md == nil {
		return Change{}, fmt.Errorf("%w: responseElements.keyMetadata missing", ErrBadRecord)
	}
	arn := md.ARN
	if arn == "" {
		if md.KeyID == "" {
			return Change{}, fmt.Errorf("%w: responseElements.keyMetadata has neither arn nor keyId", ErrBadRecord)
		}
		arn = KeyARN(rec.AWSRegion, rec.Account(), md.KeyID)
	}
	k := m.keyFor(arn)
	if rec.EventTime.After(k.Updated) {
		k.Updated = rec.EventTime
	}
	k.KeySpec = first(md.KeySpec, md.CustomerMasterKeySpec, req.KeySpec, req.CustomerMasterKeySpec, SpecSymmetricDefault)
	k.KeyUsage = first(md.KeyUsage, req.KeyUsage, UsageEncryptDecrypt)
	k.Origin = first(md.Origin, req.Origin, OriginAWSKMS)
	k.KeyManager = first(md.KeyManager, ManagerCustomer)
	k.CustomKeyStoreID = first(md.CustomKeyStoreID, req.CustomKeyStoreID)
	initial := KeyStateEnabled
	if k.Origin == OriginExternal {
		initial = KeyStatePendingImport
	}
	if m.newer(arn, "state", rec.EventTime) {
		k.KeyState = first(md.KeyState, initial)
	}
	if m.newer(arn, "rotation", rec.EventTime) {
		off := false // CreateKey leaves automatic rotation off.
		k.RotationEnabled = &off
		k.RotationPeriodDays = 0
	}
	if m.newer(arn, "policy", rec.EventTime) {
		if req.Policy != nil {
			if !json.Valid([]byte(*req.Policy)) {
				return Change{}, fmt.Errorf("%w: requestParameters.policy is not a JSON document", ErrBadRecord)
			}
			k.Policy = *req.Policy
		} else {
			k.Policy = DefaultKeyPolicy(Partition(k.Region), k.Account)
		}
	}
	return Change{Touched: []ResourceRef{{TypeKey, arn}}}, nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// parseCloudTrailDate reads the dates CloudTrail writes in KMS response
// elements ("Jan 5, 2026, 12:00:00 AM"), or RFC 3339. Unreadable: zero.
func parseCloudTrailDate(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "Jan 2, 2006, 3:04:05 PM", "Jan 2, 2006 3:04:05 PM"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// Refs lists every resource in the store, file systems first, each sorted
// by ARN.
func (m *Memory) Refs() []ResourceRef {
	var out []ResourceRef
	for _, arn := range slices.Sorted(maps.Keys(m.fileSystems)) {
		out = append(out, ResourceRef{TypeFileSystem, arn})
	}
	for _, arn := range slices.Sorted(maps.Keys(m.keys)) {
		out = append(out, ResourceRef{TypeKey, arn})
	}
	return out
}
