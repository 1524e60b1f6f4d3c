package state

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/jsonwalk"
)

// Memory is a Store filled from CloudTrail records alone: atrest's offline
// default, needing no AWS account. What no record has said stays unknown.
type Memory struct {
	fileSystems map[string]*FileSystem     // by ARN
	keys        map[string]*Key            // by ARN
	aliases     map[string]string          // alias ARN -> key ARN
	protects    map[string]map[string]bool // key ARN -> file-system ARNs
	// replicas indexes the multi-Region replica keys by their primary's
	// ARN, as their MultiRegionKeyType and PrimaryKeyARN say: a rotation
	// change of a primary touches its replicas without a pass over every key.
	replicas map[string]map[string]bool
	trails   map[string]*Trail   // by ARN (trail.go)
	watched  map[string]*Watched // by identifier (trail.go)
	// disconnected holds the custom key stores (keyStoreRef) last seen
	// disconnected (true) or connected (false).
	disconnected map[string]bool
	// connecting holds the custom key stores whose last record is a
	// ConnectCustomKeyStore: KMS only started connecting them, and the
	// connection may still fail, so whether their keys are usable is unknown.
	connecting map[string]bool
	// imported holds, per key ARN, whether the newest key material change
	// applied was an import (true) or a deletion or expiry (false).
	imported map[string]bool
	// versions holds, per resource ARN and attribute, the place in the
	// apply order (cloudtrail.Compare) of the record that set it, so an
	// earlier record never overwrites newer state, whatever order the
	// records arrive in.
	versions map[string]version
	// applying is the place of the record being applied.
	applying version
}

// version is a record's place in the order records are applied: eventTime,
// then the causal rank of its event name, then eventID.
type version struct {
	at   time.Time
	rank cloudtrail.Rank
	id   string
}

// before reports whether v comes before w.
func (v version) before(w version) bool {
	if c := v.at.Compare(w.at); c != 0 {
		return c < 0
	}
	if v.rank != w.rank {
		return v.rank < w.rank
	}
	return v.id < w.id
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		fileSystems:  map[string]*FileSystem{},
		keys:         map[string]*Key{},
		aliases:      map[string]string{},
		protects:     map[string]map[string]bool{},
		replicas:     map[string]map[string]bool{},
		trails:       map[string]*Trail{},
		watched:      map[string]*Watched{},
		disconnected: map[string]bool{},
		connecting:   map[string]bool{},
		imported:     map[string]bool{},
		versions:     map[string]version{},
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

// Key returns a copy of a key, or nil when unknown. A key in a custom key
// store that is disconnected is Unavailable, unless its deletion is
// scheduled or done; its own state shows again once the store reconnects.
func (m *Memory) Key(_ context.Context, arn string) (*Key, error) {
	k, ok := m.keys[arn]
	if !ok {
		return nil, nil
	}
	c := *k
	c.Aliases = slices.Clone(k.Aliases)
	c.Grants = slices.Clone(k.Grants)
	if k.CustomKeyStoreID != "" && m.disconnected[keyStoreRef(k.Account, k.Region, k.CustomKeyStoreID)] &&
		k.KeyState != KeyStatePendingDeletion && !k.Deleted {
		c.KeyState = KeyStateUnavailable
	}
	if k.CustomKeyStoreID != "" && m.connecting[keyStoreRef(k.Account, k.Region, k.CustomKeyStoreID)] &&
		k.KeyState == KeyStateEnabled && !k.Deleted {
		// An enabled key of a store still connecting: usable only once the
		// connection succeeds, which no record shows.
		c.KeyState = ""
	}
	return &c, nil
}

// keyStoreRef names a custom key store in an account and region.
func keyStoreRef(account, region, id string) string {
	return "kms-key-store:" + account + ":" + region + ":" + id
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
		if old := m.keys[k.ARN]; old != nil {
			m.unindexReplica(old)
		}
		m.keys[k.ARN] = &k
		m.indexReplica(&k)
		for _, a := range k.Aliases {
			m.aliases[arns.AliasARN(k.Region, k.Account, a)] = k.ARN
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

// newer reports whether a change at t to attr of arn, made by the record
// being applied, comes no earlier than the last one applied, and if so
// records it. Records with the same eventTime compare by the rank of their
// event names and then by eventID (cloudtrail.Compare), so a creation
// delivered after a modification of the same second never undoes it.
func (m *Memory) newer(arn, attr string, t time.Time) bool {
	k := arn + "#" + attr
	v := version{at: t, rank: m.applying.rank, id: m.applying.id}
	if last, ok := m.versions[k]; ok && v.before(last) {
		return false
	}
	m.versions[k] = v
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
	m.applying = version{at: rec.EventTime, rank: cloudtrail.RankOf(rec.EventName), id: rec.EventID}
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
		arn = arns.FileSystemARN(rec.AWSRegion, rec.Account(), id)
	}
	fs := m.fileSystems[arn]
	if fs == nil {
		fs = &FileSystem{ARN: arn, ID: arns.ResourceID(arn), Account: rec.Account(), Region: rec.AWSRegion}
		if a, ok := arns.Parse(arn); ok {
			fs.Account, fs.Region = a.AccountID, a.Region
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
	case cloudtrail.EventCreateReplicationConfiguration:
		return m.createReplication(rec)
	case cloudtrail.EventDeleteReplicationConfiguration:
		return m.deleteReplication(rec)
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
		if arns.LooksLikeARN(id) {
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
			if !jsonwalk.Valid(*req.Policy) {
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
	if rec.UserIdentity.ARN != "" {
		fs.Creator = rec.UserIdentity.ARN
	}
	// Deletion is final: file-system ids are never reused, so a creation
	// applied after the deletion is an older record delivered late (the S3
	// copy after the EventBridge one). It never brings the file system back,
	// nor into its key's blast radius (FileSystemsForKey skips it).
	ch := Change{Touched: []ResourceRef{{TypeFileSystem, fs.ARN}}}
	if !encrypted {
		return ch, nil
	}
	if keyARN := m.encryptWith(fs, req.KMSKeyID, resp.KMSKeyID, rec.EventTime); keyARN != "" {
		ch.Touched = append(ch.Touched, ResourceRef{TypeKey, keyARN})
	}
	return ch, nil
}

// encryptWith records the key an encrypted file system was created with:
// requested is the key reference the call gave ("" for EFS's AWS managed
// key), reported the one EFS answered with. It links the key to the file
// system and returns the key's ARN, "" when the reference cannot be resolved.
func (m *Memory) encryptWith(fs *FileSystem, requested, reported string, t time.Time) string {
	// EFS uses its AWS managed key when no key is named.
	defaultKey := requested == "" || requested == EFSDefaultKeyAlias ||
		strings.HasSuffix(requested, ":"+EFSDefaultKeyAlias)
	fs.KMSKeyID = requested
	if fs.KMSKeyID == "" {
		fs.KMSKeyID = EFSDefaultKeyAlias
	}
	ref := reported
	if ref == "" {
		ref = fs.KMSKeyID
	}
	keyARN := m.resolveKey(ref, fs.Account, fs.Region)
	if keyARN == "" {
		return ""
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
		m.newer(k.ARN, "state", t)
	}
	if defaultKey {
		k.KeyManager = ManagerAWS
		k.Origin = OriginAWSKMS
		if !slices.Contains(k.Aliases, EFSDefaultKeyAlias) {
			k.Aliases = append(k.Aliases, EFSDefaultKeyAlias)
			m.aliases[arns.AliasARN(k.Region, k.Account, EFSDefaultKeyAlias)] = k.ARN
		}
	}
	return keyARN
}

// replicaARN names a file system of a replication configuration: by its ARN
// when the record gives one, else by its id in region and account.
func replicaARN(id, region, account string) string {
	if arns.LooksLikeARN(id) {
		return id
	}
	return arns.FileSystemARN(region, account, id)
}

// createReplication applies CreateReplicationConfiguration. A new destination
// file system is created encrypted, with the key the request names or EFS's
// AWS managed key of the destination Region, and joins that key's blast
// radius; an existing destination keeps its encryption and key. The
// destination is named by the response.
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html
func (m *Memory) createReplication(rec *cloudtrail.Record) (Change, error) {
	var req replicationRequest
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	var resp replicationResponse
	if err := decodeParams("responseElements", rec.ResponseElements, &resp); err != nil {
		return Change{}, err
	}
	if len(resp.Destinations) == 0 || resp.Destinations[0].FileSystemID == "" {
		return Change{}, fmt.Errorf("%w: responseElements.destinations[0].fileSystemId missing", ErrBadRecord)
	}
	dst := resp.Destinations[0]
	var asked replicationDestination
	if len(req.Destinations) > 0 {
		asked = req.Destinations[0]
	}
	srcID := first(resp.SourceFileSystemARN, req.SourceFileSystemID, resp.SourceFileSystemID)
	if srcID == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.sourceFileSystemId missing", ErrBadRecord)
	}
	src := m.fileSystemFor(rec, arns.ResourceID(srcID), replicaARN(srcID, rec.AWSRegion, rec.Account()))
	fs := m.fileSystemFor(rec, arns.ResourceID(dst.FileSystemID),
		replicaARN(dst.FileSystemID, first(dst.Region, asked.Region, rec.AWSRegion), first(dst.OwnerID, rec.Account())))
	ch := Change{Touched: []ResourceRef{{TypeFileSystem, fs.ARN}}}
	t := rec.EventTime
	// A newer change of either side (the link ended) wins over this one.
	if m.newer(src.ARN, "replication", t) && m.newer(fs.ARN, "replication", t) {
		src.ReplicationDestination = fs.ARN
		fs.ReplicationSource = src.ARN
	}
	if asked.FileSystemID != "" {
		return ch, nil // an existing file system: its key is its own
	}
	fs.Encrypted = true
	fs.Known = true
	if keyARN := m.encryptWith(fs, asked.KMSKeyID, "", t); keyARN != "" {
		ch.Touched = append(ch.Touched, ResourceRef{TypeKey, keyARN})
	}
	return ch, nil
}

// deleteReplication applies DeleteReplicationConfiguration: the link between
// the two file systems ends and the destination becomes a writable file
// system of its own, still encrypted with its key. The request names the
// source file system.
// https://docs.aws.amazon.com/efs/latest/ug/API_DeleteReplicationConfiguration.html
func (m *Memory) deleteReplication(rec *cloudtrail.Record) (Change, error) {
	var req replicationRequest
	if err := decodeParams("requestParameters", rec.RequestParameters, &req); err != nil {
		return Change{}, err
	}
	id := req.SourceFileSystemID
	if id == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.sourceFileSystemId missing", ErrBadRecord)
	}
	fs := m.fileSystemFor(rec, arns.ResourceID(id), replicaARN(id, rec.AWSRegion, rec.Account()))
	ch := Change{Touched: []ResourceRef{{TypeFileSystem, fs.ARN}}}
	partner := cmp.Or(fs.ReplicationDestination, fs.ReplicationSource)
	if !m.newer(fs.ARN, "replication", rec.EventTime) {
		return ch, nil
	}
	fs.ReplicationDestination, fs.ReplicationSource = "", ""
	if other := m.fileSystems[partner]; other != nil {
		ch.Touched = append(ch.Touched, ResourceRef{TypeFileSystem, other.ARN})
		if m.newer(other.ARN, "replication", rec.EventTime) {
			other.ReplicationDestination, other.ReplicationSource = "", ""
		}
	}
	return ch, nil
}

// resolveKey turns a key id, key ARN, alias name or alias ARN into a key ARN
// in the given account and region. It returns "" when an alias is unknown.
func (m *Memory) resolveKey(ref, account, region string) string {
	arn, _ := arns.KeyResolver{Aliases: m.lookupAlias}.Resolve(context.Background(), ref, account, region)
	return arn
}

// lookupAlias answers alias lookups from the model's alias table.
func (m *Memory) lookupAlias(_ context.Context, a arns.Alias) (string, error) {
	return m.aliases[a.ARN], nil
}

func (m *Memory) keyFor(arn string) *Key {
	k := m.keys[arn]
	if k == nil {
		a, _ := arns.Parse(arn)
		k = &Key{ARN: arn, ID: arns.ResourceID(arn), Account: a.AccountID, Region: a.Region}
		m.keys[arn] = k
	}
	return k
}

// recordKeyARN finds the key a KMS record acts on: the resources list first
// (CloudTrail names the key ARN there), then the parameters.
func (m *Memory) recordKeyARN(rec *cloudtrail.Record, refs ...string) string {
	if arn := RecordKeyARN(rec); arn != "" {
		return arn
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
	var extra keyEventData
	if err := decodeParams("additionalEventData", rec.AdditionalEventData, &extra); err != nil {
		return Change{}, err
	}
	switch rec.EventName {
	case cloudtrail.EventCreateAlias, cloudtrail.EventUpdateAlias, cloudtrail.EventDeleteAlias:
		return m.applyAlias(rec, req)
	case cloudtrail.EventConnectCustomKeyStore, cloudtrail.EventDisconnectCustomKeyStore:
		return m.applyKeyStore(rec, req)
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
		rotatable(k)
		ch.Touched = append(ch.Touched, m.replicasOf(arn)...)
	case cloudtrail.EventDisableKeyRotation:
		if m.newer(arn, "rotation", t) {
			off := false
			k.RotationEnabled = &off
			k.RotationPeriodDays = 0
		}
		rotatable(k)
		ch.Touched = append(ch.Touched, m.replicasOf(arn)...)
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
		// Only a key with imported key material takes an import. The
		// import makes a key waiting for material usable; it never
		// enables a key that is disabled (or pending deletion), and new
		// material for an enabled key leaves it enabled. A record older
		// than the last material change is history.
		// https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-import-key-material.html
		if k.Origin == "" {
			k.Origin = OriginExternal
		}
		if m.newer(arn, "material", t) {
			m.imported[arn] = true
			if k.KeyState == KeyStatePendingImport {
				setState(KeyStateEnabled)
			}
		}
	case cloudtrail.EventDeleteImportedKeyMaterial, cloudtrail.EventDeleteExpiredKeyMaterial:
		// Without its key material the key is PendingImport, except that
		// a key pending deletion keeps that state.
		// https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
		// https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-delete-key-material.html
		if k.Origin == "" {
			k.Origin = OriginExternal
		}
		if m.newer(arn, "material", t) {
			m.imported[arn] = false
			if k.KeyState != KeyStatePendingDeletion {
				setState(KeyStatePendingImport)
			}
		}
	case cloudtrail.EventDeleteKey:
		// KMS deleted the key when its deletion window ended: it was
		// pending deletion until now, and deletion is final.
		// https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
		setState(KeyStatePendingDeletion)
		k.Deleted = true
	case cloudtrail.EventPutKeyPolicy:
		if req.Policy == nil {
			return Change{}, fmt.Errorf("%w: requestParameters.policy missing", ErrBadRecord)
		}
		if !jsonwalk.Valid(*req.Policy) {
			return Change{}, fmt.Errorf("%w: requestParameters.policy is not a JSON document", ErrBadRecord)
		}
		if m.newer(arn, "policy", t) {
			k.Policy = *req.Policy
		}
	case cloudtrail.EventCreateGrant:
		m.createGrant(rec, k, req, resp)
	case cloudtrail.EventRevokeGrant, cloudtrail.EventRetireGrant:
		// RetireGrant logs the grant id in additionalEventData; a grant
		// retired by its token alone names no grant.
		grantID := first(req.GrantID, extra.GrantID)
		if grantID == "" {
			ch.Ignored = rec.EventName + " names no grant id (a grant token only), so which grant ended is unknown"
			return ch, nil
		}
		m.endGrant(rec, k, grantID)
	case cloudtrail.EventReplicateKey:
		return m.replicateKey(rec, k, req, resp, ch)
	case cloudtrail.EventUpdatePrimaryRegion:
		return m.updatePrimaryRegion(rec, k, req, ch)
	}
	return ch, nil
}

// rotatable fills in what a successful EnableKeyRotation or
// DisableKeyRotation proves about a key: KMS refuses both for every key but
// a customer managed symmetric encryption key whose key material KMS
// generated, outside a custom key store (and for multi-Region replicas).
// Only unknown facts are filled; these never change over a key's life.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKeyRotation.html
func rotatable(k *Key) {
	k.KeyManager = first(k.KeyManager, ManagerCustomer)
	k.KeySpec = first(k.KeySpec, SpecSymmetricDefault)
	k.KeyUsage = first(ImpliedKeyUsage(k.KeySpec, k.KeyUsage), UsageEncryptDecrypt)
	k.Origin = first(k.Origin, OriginAWSKMS)
}

// replicasOf lists the known multi-Region replicas of a primary key, by ARN.
func (m *Memory) replicasOf(primaryARN string) []ResourceRef {
	var out []ResourceRef
	for arn := range m.replicas[primaryARN] {
		if arn != primaryARN {
			out = append(out, ResourceRef{TypeKey, arn})
		}
	}
	slices.SortFunc(out, func(a, b ResourceRef) int { return strings.Compare(a.ARN, b.ARN) })
	return out
}

// indexReplica adds k to the replicas index when it is a replica.
func (m *Memory) indexReplica(k *Key) {
	if !k.Replica() {
		return
	}
	set := m.replicas[k.PrimaryKeyARN]
	if set == nil {
		set = map[string]bool{}
		m.replicas[k.PrimaryKeyARN] = set
	}
	set[k.ARN] = true
}

// unindexReplica removes k from the replicas index, before its role or
// primary changes.
func (m *Memory) unindexReplica(k *Key) {
	if set := m.replicas[k.PrimaryKeyARN]; set != nil {
		delete(set, k.ARN)
		if len(set) == 0 {
			delete(m.replicas, k.PrimaryKeyARN)
		}
	}
}

// setMultiRegion records a key's multi-Region role as of t.
func (m *Memory) setMultiRegion(k *Key, keyType, primaryARN string, t time.Time) {
	if !m.newer(k.ARN, "multi_region", t) {
		return
	}
	m.unindexReplica(k)
	on := keyType != ""
	k.MultiRegion = &on
	k.MultiRegionKeyType = keyType
	k.PrimaryKeyARN = primaryARN
	m.indexReplica(k)
}

// replicateKey applies ReplicateKey, written in the primary key's Region:
// the key is a multi-Region primary, and the replica named in the response
// is a new key in the replica Region that shares the primary's key spec,
// key usage, origin and automatic rotation.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html
func (m *Memory) replicateKey(rec *cloudtrail.Record, primary *Key, req keyRequest, resp keyResponse, ch Change) (Change, error) {
	md := resp.ReplicaKeyMetadata
	replicaARN := ""
	if md != nil {
		replicaARN = md.ARN
	}
	if replicaARN == "" && req.ReplicaRegion != "" {
		replicaARN = arns.KeyARN(req.ReplicaRegion, primary.Account, primary.ID)
	}
	if replicaARN == "" {
		return Change{}, fmt.Errorf("%w: neither responseElements.replicaKeyMetadata.arn nor requestParameters.replicaRegion", ErrBadRecord)
	}
	t := rec.EventTime
	m.setMultiRegion(primary, MultiRegionPrimary, primary.ARN, t)
	r := m.keyFor(replicaARN)
	if t.After(r.Updated) {
		r.Updated = t
	}
	if md == nil {
		md = &keyMetadata{}
	}
	r.KeySpec = first(r.KeySpec, md.KeySpec, md.CustomerMasterKeySpec, primary.KeySpec)
	r.KeyUsage = first(r.KeyUsage, ImpliedKeyUsage(r.KeySpec, md.KeyUsage), primary.KeyUsage)
	r.Origin = first(r.Origin, md.Origin, primary.Origin)
	r.KeyManager = first(r.KeyManager, md.KeyManager, ManagerCustomer)
	// A new replica is Creating for a few seconds, then Enabled, or
	// PendingImport when its key material is imported.
	if m.newer(replicaARN, "state", t) {
		r.KeyState = KeyStateEnabled
		if r.Origin == OriginExternal {
			r.KeyState = KeyStatePendingImport
		}
	}
	m.setMultiRegion(r, MultiRegionReplica, primary.ARN, t)
	if resp.ReplicaPolicy != nil && jsonwalk.Valid(*resp.ReplicaPolicy) && m.newer(replicaARN, "policy", t) {
		r.Policy = *resp.ReplicaPolicy
	}
	ch.Touched = append(ch.Touched, ResourceRef{TypeKey, replicaARN})
	return ch, nil
}

// updatePrimaryRegion applies UpdatePrimaryRegion, written both in the
// Region whose primary becomes a replica and in the Region whose replica
// becomes the primary: every related multi-Region key atrest knows (same
// account and key id) now follows the primary in PrimaryRegion. It touches
// the record's key first, then the others by ARN. The new
// primary keeps the automatic rotation all related keys share.
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-update-primary-region.html
func (m *Memory) updatePrimaryRegion(rec *cloudtrail.Record, k *Key, req keyRequest, ch Change) (Change, error) {
	if req.PrimaryRegion == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.primaryRegion missing", ErrBadRecord)
	}
	a, ok := arns.Parse(k.ARN)
	if !ok {
		return Change{}, fmt.Errorf("%w: key %q is not an ARN", ErrBadRecord, k.ARN)
	}
	a.Region = req.PrimaryRegion
	newPrimary := a.String()
	var oldPrimary *Key
	var related []*Key
	for _, arn := range slices.Sorted(maps.Keys(m.keys)) {
		x := m.keys[arn]
		if x.Account != k.Account || x.ID != k.ID || arns.Partition(x.Region) != arns.Partition(k.Region) {
			continue
		}
		related = append(related, x)
		if x.MultiRegionKeyType == MultiRegionPrimary {
			oldPrimary = x
		}
	}
	p := m.keyFor(newPrimary)
	if !slices.Contains(related, p) {
		related = append(related, p)
	}
	if p.RotationEnabled == nil && oldPrimary != nil && oldPrimary != p && oldPrimary.RotationEnabled != nil {
		p.RotationEnabled, p.RotationPeriodDays = oldPrimary.RotationEnabled, oldPrimary.RotationPeriodDays
	}
	for _, x := range related {
		role := MultiRegionReplica
		if x.ARN == newPrimary {
			role = MultiRegionPrimary
		}
		m.setMultiRegion(x, role, newPrimary, rec.EventTime)
		if !slices.ContainsFunc(ch.Touched, func(r ResourceRef) bool { return r.ARN == x.ARN }) {
			ch.Touched = append(ch.Touched, ResourceRef{TypeKey, x.ARN})
		}
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
	if rec.UserIdentity.InvokedBy == cloudtrail.SourceEFS && g.FileSystemID != "" {
		m.protectedByGrant(rec, k, g.FileSystemID)
	}
	if i := slices.IndexFunc(k.Grants, func(x Grant) bool { return x.ID == g.ID }); i >= 0 {
		k.Grants[i] = g
		return
	}
	k.Grants = append(k.Grants, g)
}

// protectedByGrant records what a grant EFS created proves: the file system
// its encryption-context constraint names is encrypted with the key, which
// EFS accepted as a symmetric encryption key. The file system joins the
// key's blast radius; a deleted one stays deleted. A key reference already
// known from the file system's creation is kept.
// https://docs.aws.amazon.com/efs/latest/ug/encryption-at-rest.html
func (m *Memory) protectedByGrant(rec *cloudtrail.Record, k *Key, fsID string) {
	region := first(k.Region, rec.AWSRegion)
	account := first(rec.UserIdentity.AccountID, rec.Account())
	fs := m.fileSystemFor(rec, fsID, arns.FileSystemARN(region, account, fsID))
	if fs.KMSKeyARN != "" && fs.KMSKeyARN != k.ARN {
		return
	}
	fs.KMSKeyARN = k.ARN
	fs.KMSKeyID = first(fs.KMSKeyID, k.ARN)
	fs.Encrypted = true
	m.link(k.ARN, fs.ARN)
	k.KeySpec = first(k.KeySpec, SpecSymmetricDefault)
	k.KeyUsage = first(ImpliedKeyUsage(k.KeySpec, k.KeyUsage), UsageEncryptDecrypt)
}

func (m *Memory) endGrant(rec *cloudtrail.Record, k *Key, grantID string) {
	state := GrantRevoked
	if rec.EventName == cloudtrail.EventRetireGrant {
		state = GrantRetired
	}
	i := slices.IndexFunc(k.Grants, func(x Grant) bool { return x.ID == grantID })
	if i < 0 {
		k.Grants = append(k.Grants, Grant{ID: grantID})
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
			if fs := m.fileSystems[arns.FileSystemARN(k.Region, k.Account, g.FileSystemID)]; fs != nil && fs.Deleted {
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
	aliasARN := arns.AliasARN(rec.AWSRegion, rec.Account(), req.AliasName)
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
			if NamesKey(r) {
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

// applyKeyStore applies ConnectCustomKeyStore and DisconnectCustomKeyStore:
// while a custom key store is disconnected, every key in it is Unavailable.
// The keys' own states (Disabled, PendingDeletion) are kept and show again
// once it reconnects. It touches every key of the store the model knows.
// https://docs.aws.amazon.com/kms/latest/APIReference/API_DisconnectCustomKeyStore.html
// https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
func (m *Memory) applyKeyStore(rec *cloudtrail.Record, req keyRequest) (Change, error) {
	id := req.CustomKeyStoreID
	if id == "" {
		return Change{}, fmt.Errorf("%w: requestParameters.customKeyStoreId missing", ErrBadRecord)
	}
	account, region := rec.Account(), rec.AWSRegion
	var ch Change
	for _, arn := range slices.Sorted(maps.Keys(m.keys)) {
		if k := m.keys[arn]; k.CustomKeyStoreID == id && k.Account == account && k.Region == region {
			ch.Touched = append(ch.Touched, ResourceRef{TypeKey, arn})
		}
	}
	ref := keyStoreRef(account, region, id)
	if m.newer(ref, "connection", rec.EventTime) {
		disconnected := rec.EventName == cloudtrail.EventDisconnectCustomKeyStore
		m.disconnected[ref] = disconnected
		// A successful ConnectCustomKeyStore "does not indicate that the
		// custom key store is connected": it only starts the connection,
		// which can take minutes and can fail.
		// https://docs.aws.amazon.com/kms/latest/APIReference/API_ConnectCustomKeyStore.html
		m.connecting[ref] = !disconnected
		if !disconnected {
			for _, r := range ch.Touched {
				// A state read while the store was disconnected hid the
				// key's own state.
				if k := m.keys[r.ARN]; k.KeyState == KeyStateUnavailable {
					k.KeyState = ""
				}
			}
		}
	}
	if len(ch.Touched) == 0 {
		ch.Ignored = "no key of custom key store " + id + " is known"
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
		arn = arns.KeyARN(rec.AWSRegion, rec.Account(), md.KeyID)
	}
	k := m.keyFor(arn)
	if rec.EventTime.After(k.Updated) {
		k.Updated = rec.EventTime
	}
	k.KeySpec = first(md.KeySpec, md.CustomerMasterKeySpec, req.KeySpec, req.CustomerMasterKeySpec, SpecSymmetricDefault)
	k.KeyUsage = first(ImpliedKeyUsage(k.KeySpec, first(md.KeyUsage, req.KeyUsage)), UsageEncryptDecrypt)
	k.Origin = first(md.Origin, req.Origin, OriginAWSKMS)
	k.KeyManager = first(md.KeyManager, ManagerCustomer)
	k.CustomKeyStoreID = first(md.CustomKeyStoreID, req.CustomKeyStoreID)
	if k.CustomKeyStoreID != "" {
		// KMS creates keys only in a connected custom key store.
		if ref := keyStoreRef(k.Account, k.Region, k.CustomKeyStoreID); m.newer(ref, "connection", rec.EventTime) {
			m.disconnected[ref] = false
			m.connecting[ref] = false
		}
	}
	initial := KeyStateEnabled
	if k.Origin == OriginExternal {
		initial = KeyStatePendingImport
	}
	// A replica KMS creates is Creating for a few seconds, then settles.
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
	if md.KeyState == "Creating" {
		md.KeyState = ""
	}
	if m.newer(arn, "state", rec.EventTime) {
		k.KeyState = first(md.KeyState, initial)
		if k.KeyState == KeyStatePendingImport && m.imported[arn] {
			// A (newer) import of its material was applied already.
			k.KeyState = KeyStateEnabled
		}
	}
	// KMS writes a CreateKey in the replica's Region for ReplicateKey; the
	// replica shares its primary's rotation, so it is left as it is.
	// https://docs.aws.amazon.com/kms/latest/developerguide/ct-replicate-key.html
	role, primaryARN := "", ""
	if c := md.MultiRegionConfiguration; c != nil {
		role = c.MultiRegionKeyType
		if c.PrimaryKey != nil {
			primaryARN = c.PrimaryKey.ARN
		}
	}
	multiRegion := md.MultiRegion
	if multiRegion == nil {
		multiRegion = req.MultiRegion
	}
	switch {
	case role == MultiRegionReplica:
	case multiRegion != nil && *multiRegion || role == MultiRegionPrimary:
		role, primaryARN = MultiRegionPrimary, arn
	}
	m.setMultiRegion(k, role, primaryARN, rec.EventTime)
	if role != MultiRegionReplica && m.newer(arn, "rotation", rec.EventTime) {
		off := false // CreateKey leaves automatic rotation off.
		k.RotationEnabled = &off
		k.RotationPeriodDays = 0
	}
	// A replica's policy is the ReplicateKey's replicaPolicy, not the
	// default one.
	if (req.Policy != nil || role != MultiRegionReplica) && m.newer(arn, "policy", rec.EventTime) {
		if req.Policy != nil {
			if !jsonwalk.Valid(*req.Policy) {
				return Change{}, fmt.Errorf("%w: requestParameters.policy is not a JSON document", ErrBadRecord)
			}
			k.Policy = *req.Policy
		} else {
			k.Policy = DefaultKeyPolicy(arns.Partition(k.Region), k.Account)
		}
	}
	return Change{Touched: []ResourceRef{{TypeKey, arn}}}, nil
}

// RecordKeyARN returns the first KMS key ARN in a record's resources list,
// or "". CloudTrail does not always give an entry its type (the CreateGrant
// example has none), so an untyped entry whose ARN is a key ARN counts.
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-creategrant.html
func RecordKeyARN(rec *cloudtrail.Record) string {
	for _, r := range rec.Resources {
		if NamesKey(r) {
			return r.ARN
		}
	}
	return ""
}

// NamesKey reports whether a record's resources entry names a KMS key: typed
// as a key, or untyped with a key ARN.
func NamesKey(r cloudtrail.Resource) bool {
	return r.ARN != "" && (r.Type == string(TypeKey) || r.Type == "" && arns.IsKeyARN(r.ARN))
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
