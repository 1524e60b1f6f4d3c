package integrity

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/arns"
)

// Status is what validation says of one log file.
type Status string

// Statuses of a log file.
const (
	// Valid: a digest whose signature verified lists the file, and its hash
	// matches.
	Valid Status = "valid"
	// Altered: a valid digest lists the file with another hash.
	Altered Status = "altered"
	// Missing: a valid digest lists the file; the bucket does not hold it.
	Missing Status = "missing"
	// Unlisted: the file lies in the time a valid digest chain of its
	// folder covers, and no digest lists it.
	Unlisted Status = "unlisted"
	// Unvalidated: nothing proves or disproves the file: no digest covers
	// it yet, or the digest listing it could not be validated.
	Unvalidated Status = "unvalidated"
)

// Kinds of integrity failure besides the log file statuses.
const (
	// KindDigest: a digest file fails validation (signature, public key,
	// location, format) or the chain of digests is broken.
	KindDigest = "digest"
)

// ErrIntegrity is wrapped by every Failure.
var ErrIntegrity = errors.New("integrity check failed")

// Verdict is the result of validating one log file.
type Verdict struct {
	Bucket, Key string
	Status      Status
	Reason      string
}

// Object is s3://bucket/key.
func (v Verdict) Object() string { return "s3://" + v.Bucket + "/" + v.Key }

// OK reports whether the file is proven intact.
func (v Verdict) OK() bool { return v.Status == Valid }

func (v Verdict) String() string { return v.Object() + ": " + string(v.Status) + ": " + v.Reason }

// Failure is one integrity failure: a log file altered, missing or
// unlisted, or a digest that fails validation. It names the file and the
// trail whose evidence it is.
type Failure struct {
	Trail  string // ARN of the trail (from the digest file's name)
	Object string // s3://bucket/key of the log file or digest
	Kind   string // "altered", "missing", "unlisted" or "digest"
	Reason string
}

func (f Failure) Error() string { return f.Object + ": " + f.Reason }

// Unwrap makes errors.Is(f, ErrIntegrity) hold.
func (f Failure) Unwrap() error { return ErrIntegrity }

// Summary is the failure as a trail fact: what and where, in one line.
func (f Failure) Summary() string {
	switch f.Kind {
	case string(Altered):
		return "log file " + f.Object + " altered (its hash does not match its digest)"
	case string(Missing):
		return "log file " + f.Object + " missing (its digest lists it, the bucket does not hold it)"
	case string(Unlisted):
		return "log file " + f.Object + " unlisted (in the hours its trail's digests cover, listed by none)"
	}
	return "digest " + f.Object + ": " + f.Reason
}

// DefaultDeliveryAllowance is how long after the time stamp in its name a
// log file may be delivered: a file is called unlisted only when the digests
// cover that whole span.
const DefaultDeliveryAllowance = time.Hour

// DefaultMaxInflatedBytes bounds the uncompressed size of a log file hashed.
const DefaultMaxInflatedBytes = 1 << 30

// Validator validates log files against the digest files beside them in the
// same bucket, loading and validating the digests of a log file's account,
// region and day once. It is not safe for concurrent use.
type Validator struct {
	Source Source
	Keys   KeySource
	// DeliveryAllowance: see DefaultDeliveryAllowance (zero: the default).
	DeliveryAllowance time.Duration
	// MaxInflatedBytes: see DefaultMaxInflatedBytes (zero: the default).
	MaxInflatedBytes int64

	digests  map[string]*digestFile // by bucket/key: every digest loaded
	groups   map[groupKey]*group
	folders  map[string][]string // bucket/prefix -> keys
	verdicts map[string]Verdict
	failures map[string]Failure // by kind and object

	// held is the content CheckContent hashes instead of reading the
	// object again; nil outside CheckContent.
	held *heldContent
}

// heldContent is one object's content as the caller read it.
type heldContent struct {
	id      string // bucket/key
	content []byte
}

type groupKey struct {
	bucket, base, region string
	day                  time.Time
}

// digestFile is one loaded digest.
type digestFile struct {
	bucket, key string
	name        DigestName
	trail       string // trail ARN
	d           *Digest
	meta        map[string]string
	parseErr    error
}

// listState is how far the digest listing a log file was validated.
type listState int

const (
	listVerified listState = iota // signature verified
	listUnsigned                  // no signature known (the newest digest, no metadata)
	listFailed                    // the digest failed validation
	listError                     // validation could not run (e.g. ListPublicKeys failed)
)

type listing struct {
	hash, algorithm string
	trail           string
	digest          string // s3:// of the digest
	state           listState
	reason          string
}

type span struct{ start, end time.Time }

// group is what the digests of one bucket, base, region and day say.
type group struct {
	listed   map[string]listing // by bucket/key of the log file
	coverage map[string][]span  // by trail ARN: merged delivery spans of verified digests
	trails   []string           // trails whose digests were found
	err      error              // the group could not be read
	opErrs   []error            // digests whose validation could not run
}

func (v *Validator) init() {
	if v.digests == nil {
		v.digests = map[string]*digestFile{}
		v.groups = map[groupKey]*group{}
		v.folders = map[string][]string{}
		v.verdicts = map[string]Verdict{}
		v.failures = map[string]Failure{}
	}
}

func (v *Validator) allowance() time.Duration {
	if v.DeliveryAllowance > 0 {
		return v.DeliveryAllowance
	}
	return DefaultDeliveryAllowance
}

// Check validates the log file s3://bucket/key: the digests of its folder's
// day and the next (a digest is delivered within the hour after the files it
// lists), their signatures and chain, and the file's hash. Integrity
// failures found on the way, for this file or others of the same folder, are
// kept for Failures. The error is non-nil when validation could not run for
// the file or a digest of its folder (an S3 or CloudTrail call failed); a
// file whose own digest could not be validated is then Unvalidated.
func (v *Validator) Check(ctx context.Context, bucket, key string) (Verdict, error) {
	v.init()
	id := bucket + "/" + key
	// A file found valid is hashed again each time it is checked: the
	// object may have been overwritten since (its new ObjectCreated
	// notification brings it back), and only what the digest lists is
	// valid.
	if vd, ok := v.verdicts[id]; ok && vd.Status != Valid {
		return vd, nil
	}
	vd := Verdict{Bucket: bucket, Key: key, Status: Unvalidated}
	ln, ok := ParseLogKey(key)
	if !ok {
		vd.Reason = "not a CloudTrail log file key (AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/...)"
		return vd, nil
	}
	g := v.group(ctx, groupKey{bucket, ln.Base, ln.Region, ln.Day})
	if g.err != nil {
		vd.Reason = "digests not read: " + g.err.Error()
		return vd, g.err
	}
	lst, listed := g.listed[id]
	switch {
	case listed && lst.state == listVerified:
		vd = v.hashCheck(ctx, vd, lst)
		if vd.Status == Unvalidated {
			return vd, errors.New(vd.Reason)
		}
	case listed && lst.state == listUnsigned:
		vd.Reason = "listed by digest " + lst.digest + ", whose signature is not known (no S3 metadata; its successor is not there yet)"
	case listed && lst.state == listError:
		vd.Reason = "listed by digest " + lst.digest + ", whose validation could not run: " + lst.reason
	case listed:
		vd.Reason = "listed by digest " + lst.digest + ", which failed validation: " + lst.reason
	default:
		trails := v.covering(g, ln.Time)
		if len(trails) == 0 {
			vd.Reason = "no digest lists it (digests cover an hour after delivery; validation may be enabled later or the digest not yet delivered)"
			break
		}
		vd.Status, vd.Reason = Unlisted, "in the time the trail's digests cover, but no digest lists it"
		for _, t := range trails {
			v.fail(Failure{Trail: t, Object: vd.Object(), Kind: string(Unlisted), Reason: vd.Reason})
		}
	}
	v.verdicts[id] = vd
	return vd, errors.Join(g.opErrs...)
}

// CheckContent is Check for a log file whose content the caller already
// read: the hash is taken over content, not over a second read of the
// object, so a caller that judges content judges exactly what was
// validated, even if the object is overwritten in between.
func (v *Validator) CheckContent(ctx context.Context, bucket, key string, content []byte) (Verdict, error) {
	v.held = &heldContent{id: bucket + "/" + key, content: content}
	defer func() { v.held = nil }()
	return v.Check(ctx, bucket, key)
}

// Forget drops everything read and found so far, so the next Check reads
// the bucket again (digests arrive every hour).
func (v *Validator) Forget() {
	v.digests = nil
	v.init()
}

// CheckDigest validates the digests of a digest file's folder, as Check
// does for a log file's, so a digest given as input is validated even when
// no log file of its folder is read.
func (v *Validator) CheckDigest(ctx context.Context, bucket, key string) error {
	v.init()
	dn, ok := ParseDigestKey(key)
	if !ok {
		return fmt.Errorf("s3://%s/%s: not a CloudTrail digest file key", bucket, key)
	}
	day := dn.End.UTC().Truncate(24 * time.Hour)
	g := v.group(ctx, groupKey{bucket, dn.Base, dn.Region, day})
	return errors.Join(append([]error{g.err}, g.opErrs...)...)
}

// Failures lists the integrity failures found so far, sorted by trail,
// object and kind.
func (v *Validator) Failures() []Failure {
	out := slices.Collect(maps.Values(v.failures))
	slices.SortFunc(out, func(a, b Failure) int {
		return cmpStrings(a.Trail, b.Trail, a.Object, b.Object, a.Kind, b.Kind)
	})
	return out
}

func cmpStrings(pairs ...string) int {
	for i := 0; i+1 < len(pairs); i += 2 {
		if c := strings.Compare(pairs[i], pairs[i+1]); c != 0 {
			return c
		}
	}
	return 0
}

func (v *Validator) fail(f Failure) {
	v.failures[f.Kind+" "+f.Object+" "+f.Trail] = f
}

// hashCheck hashes the uncompressed content of a listed log file.
func (v *Validator) hashCheck(ctx context.Context, vd Verdict, lst listing) Verdict {
	if lst.algorithm != "" && lst.algorithm != HashAlgorithm {
		vd.Status, vd.Reason = Altered, fmt.Sprintf("digest %s lists hash algorithm %q, not %s", lst.digest, lst.algorithm, HashAlgorithm)
		v.fail(Failure{Trail: lst.trail, Object: vd.Object(), Kind: string(Altered), Reason: vd.Reason})
		return vd
	}
	sum, err := v.hashObject(ctx, vd.Bucket, vd.Key)
	switch {
	case errors.Is(err, ErrNotFound):
		vd.Status, vd.Reason = Missing, "listed by digest "+lst.digest+", not in the bucket"
		v.fail(Failure{Trail: lst.trail, Object: vd.Object(), Kind: string(Missing), Reason: vd.Reason})
	case err != nil:
		vd.Reason = "not hashed: " + err.Error()
	case !strings.EqualFold(sum, lst.hash):
		vd.Status = Altered
		vd.Reason = fmt.Sprintf("SHA-256 of its uncompressed content is %s; digest %s lists %s", sum, lst.digest, lst.hash)
		v.fail(Failure{Trail: lst.trail, Object: vd.Object(), Kind: string(Altered), Reason: vd.Reason})
	default:
		vd.Status, vd.Reason = Valid, "hash matches digest "+lst.digest
	}
	return vd
}

// hashObject is the hex SHA-256 of an object's uncompressed content.
func (v *Validator) hashObject(ctx context.Context, bucket, key string) (string, error) {
	var body io.ReadCloser
	if v.held != nil && v.held.id == bucket+"/"+key {
		body = io.NopCloser(bytes.NewReader(v.held.content))
	} else {
		b, _, err := v.Source.Get(ctx, bucket, key)
		if err != nil {
			return "", err
		}
		body = b
	}
	defer body.Close()
	limit := v.MaxInflatedBytes
	if limit <= 0 {
		limit = DefaultMaxInflatedBytes
	}
	br := bufio.NewReader(body)
	var r io.Reader = br
	if head, _ := br.Peek(2); isGzip(head) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return "", fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		r = zr
	}
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, limit+1))
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if n > limit {
		return "", fmt.Errorf("s3://%s/%s inflates past %d bytes", bucket, key, limit)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// covering lists the trails whose verified digests cover the whole span in
// which a log file stamped t may have been delivered.
func (v *Validator) covering(g *group, t time.Time) []string {
	var out []string
	for _, trail := range g.trails {
		for _, s := range g.coverage[trail] {
			if !t.Before(s.start) && !t.Add(v.allowance()).After(s.end) {
				out = append(out, trail)
				break
			}
		}
	}
	return out
}

// group loads and validates the digests of k's day and the next, once.
func (v *Validator) group(ctx context.Context, k groupKey) *group {
	if g, ok := v.groups[k]; ok {
		return g
	}
	g := &group{listed: map[string]listing{}, coverage: map[string][]span{}}
	v.groups[k] = g
	var here []*digestFile
	for _, day := range []time.Time{k.day, k.day.Add(24 * time.Hour)} {
		keys, err := v.list(ctx, k.bucket, digestFolder(k.base, k.region, day))
		if err != nil {
			g.err = err
			return g
		}
		for _, key := range keys {
			if _, ok := ParseDigestKey(key); !ok {
				continue
			}
			df, err := v.load(ctx, k.bucket, key)
			if err != nil {
				g.err = err
				return g
			}
			here = append(here, df)
		}
	}
	spans := map[string][]span{}
	for _, df := range here {
		st, reason, opErr := v.validateDigest(ctx, df)
		if opErr != nil {
			g.opErrs = append(g.opErrs, opErr)
		}
		if !slices.Contains(g.trails, df.trail) {
			g.trails = append(g.trails, df.trail)
		}
		if df.d == nil {
			continue
		}
		if st == listVerified {
			spans[df.trail] = append(spans[df.trail], span{df.d.Start, df.d.End})
		}
		for _, lf := range df.d.LogFiles {
			id := lf.S3Bucket + "/" + lf.S3Object
			if old, ok := g.listed[id]; ok && old.state <= st {
				continue // a verified listing wins over the others
			}
			g.listed[id] = listing{hash: lf.HashValue, algorithm: lf.HashAlgorithm, trail: df.trail,
				digest: "s3://" + df.bucket + "/" + df.key, state: st, reason: reason}
		}
	}
	slices.Sort(g.trails)
	for trail, ss := range spans {
		g.coverage[trail] = merge(ss)
	}
	if err := v.sweep(ctx, k, g); err != nil {
		g.err = err
	}
	return g
}

// sweep finds the missing and unlisted log files of a group: every file a
// verified digest lists must be in the bucket, and every file of the day's
// log folder in the covered time must be listed.
func (v *Validator) sweep(ctx context.Context, k groupKey, g *group) error {
	present := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(g.listed)) {
		lst := g.listed[id]
		if lst.state != listVerified {
			continue
		}
		bucket, key, _ := strings.Cut(id, "/")
		folder := key[:strings.LastIndexByte(key, '/')+1]
		if bucket != k.bucket || folder == "" {
			continue // CloudTrail lists files of its own bucket, in folders
		}
		keys, err := v.list(ctx, bucket, folder)
		if err != nil {
			return err
		}
		for _, kk := range keys {
			present[bucket+"/"+kk] = true
		}
		if !present[id] {
			v.fail(Failure{Trail: lst.trail, Object: "s3://" + id, Kind: string(Missing), Reason: "listed by digest " + lst.digest + ", not in the bucket"})
		}
	}
	keys, err := v.list(ctx, k.bucket, logFolder(k.base, k.region, k.day))
	if err != nil {
		return err
	}
	for _, key := range keys {
		ln, ok := ParseLogKey(key)
		if !ok {
			continue
		}
		if _, listed := g.listed[k.bucket+"/"+key]; listed {
			continue
		}
		for _, t := range v.covering(g, ln.Time) {
			v.fail(Failure{Trail: t, Object: "s3://" + k.bucket + "/" + key, Kind: string(Unlisted),
				Reason: "in the time the trail's digests cover, but no digest lists it"})
		}
	}
	return nil
}

// merge joins delivery spans that touch (digests follow each other within
// a minute).
func merge(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return a.start.Compare(b.start) })
	var out []span
	for _, s := range ss {
		if n := len(out); n > 0 && !s.start.After(out[n-1].end.Add(time.Minute)) {
			if s.end.After(out[n-1].end) {
				out[n-1].end = s.end
			}
			continue
		}
		out = append(out, s)
	}
	return out
}

func (v *Validator) list(ctx context.Context, bucket, prefix string) ([]string, error) {
	id := bucket + "/" + prefix
	if keys, ok := v.folders[id]; ok {
		return keys, nil
	}
	keys, err := v.Source.List(ctx, bucket, prefix)
	if err != nil {
		return nil, err
	}
	v.folders[id] = keys
	return keys, nil
}

// load reads and parses a digest once. A digest that cannot be parsed is
// kept with its error (an integrity failure, not an operational one).
func (v *Validator) load(ctx context.Context, bucket, key string) (*digestFile, error) {
	id := bucket + "/" + key
	if df, ok := v.digests[id]; ok {
		return df, nil
	}
	body, meta, err := v.Source.Get(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(io.LimitReader(body, MaxDigestBytes+1))
	body.Close()
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	df := &digestFile{bucket: bucket, key: key, meta: meta}
	if dn, ok := ParseDigestKey(key); ok {
		df.name = dn
		df.trail = arns.New(arns.ServiceCloudTrail, dn.HomeRegion, dn.Account, "trail/"+dn.Trail)
	}
	df.d, df.parseErr = ParseDigest(data)
	if df.parseErr != nil {
		df.d = nil
	}
	v.digests[id] = df
	return df, nil
}

// successor is the loaded digest whose previous digest is df.
func (v *Validator) successor(df *digestFile) *digestFile {
	var best *digestFile
	for _, id := range slices.Sorted(maps.Keys(v.digests)) {
		s := v.digests[id]
		if s.d == nil || s.d.PreviousDigestS3Bucket == nil || s.d.PreviousDigestS3Object == nil {
			continue
		}
		if *s.d.PreviousDigestS3Bucket == df.bucket && *s.d.PreviousDigestS3Object == df.key && s.bucket == df.bucket {
			best = s
			break
		}
	}
	return best
}

// validateDigest validates one digest: location, algorithm, signature and
// its link to the previous digest. Integrity failures are recorded; opErr is
// set when validation could not run.
func (v *Validator) validateDigest(ctx context.Context, df *digestFile) (st listState, reason string, opErr error) {
	where := "s3://" + df.bucket + "/" + df.key
	failed := func(r string) (listState, string, error) {
		v.fail(Failure{Trail: df.trail, Object: where, Kind: KindDigest, Reason: r})
		return listFailed, r, nil
	}
	if df.d == nil {
		return failed(df.parseErr.Error())
	}
	d := df.d
	// A. Retrieved from its original location.
	if d.DigestS3Bucket != df.bucket || d.DigestS3Object != df.key {
		return failed("moved from its original location " + d.Location())
	}
	if d.AWSAccountID != df.name.Account {
		return failed(fmt.Sprintf("awsAccountId %s is not the account %s its key names", d.AWSAccountID, df.name.Account))
	}
	if d.DigestSignatureAlgorithm != SignatureAlgorithm {
		return failed(fmt.Sprintf("digestSignatureAlgorithm %q, not %s", d.DigestSignatureAlgorithm, SignatureAlgorithm))
	}
	if a, ok := df.meta[MetaSignatureAlgorithm]; ok && a != SignatureAlgorithm {
		return failed(fmt.Sprintf("signature-algorithm metadata %q, not %s", a, SignatureAlgorithm))
	}
	// The chain: the previous digest must be where this one says, with the
	// hash this one holds.
	if !d.Starting() {
		if r := v.checkPrevious(ctx, df); r != "" {
			v.fail(Failure{Trail: df.trail, Object: where, Kind: KindDigest, Reason: r})
		}
	}
	// The signature: from S3 metadata, or else from the next digest's
	// previousDigestSignature (G. "Validate additional digest and log files").
	sigHex, ok := df.meta[MetaSignature]
	if !ok {
		s := v.successor(df)
		if s == nil {
			return listUnsigned, "no signature known", nil
		}
		sigHex = *s.d.PreviousDigestSignature
	}
	sig, err := hex.DecodeString(strings.TrimSpace(sigHex))
	if err != nil {
		return failed("signature is not hexadecimal")
	}
	// B, C. The public key whose fingerprint the digest names.
	key, err := v.Keys.PublicKey(ctx, df.name.Region, d.DigestPublicKeyFingerprint, d.End)
	if errors.Is(err, ErrUnknownKey) {
		return failed(err.Error())
	}
	if err != nil {
		return listError, err.Error(), fmt.Errorf("%s: %w", where, err)
	}
	// D, E. Recreate the data signing string and verify.
	sum := sha256.Sum256([]byte(d.SigningString()))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return failed("signature verification failed")
	}
	return listVerified, "", nil
}

// checkPrevious checks the link to the previous digest and returns what is
// wrong with it, or "".
func (v *Validator) checkPrevious(ctx context.Context, df *digestFile) string {
	d := df.d
	pb, pk := *d.PreviousDigestS3Bucket, *d.PreviousDigestS3Object
	prevWhere := "s3://" + pb + "/" + pk
	if alg := d.PreviousDigestHashAlgorithm; alg != nil && *alg != HashAlgorithm {
		return fmt.Sprintf("previousDigestHashAlgorithm %q, not %s", *alg, HashAlgorithm)
	}
	if pb != df.bucket {
		return "the previous digest " + prevWhere + " is in another bucket: not followed"
	}
	if _, ok := ParseDigestKey(pk); !ok {
		return "the previous digest " + prevWhere + " is not a digest file's key"
	}
	prev, err := v.load(ctx, pb, pk)
	if errors.Is(err, ErrNotFound) {
		return "chain broken: the previous digest " + prevWhere + " is not in the bucket"
	}
	if err != nil {
		return "the previous digest " + prevWhere + " was not read: " + err.Error()
	}
	if prev.d == nil {
		return "the previous digest " + prevWhere + " is malformed"
	}
	if !strings.EqualFold(prev.d.Hash, *d.PreviousDigestHashValue) {
		return fmt.Sprintf("chain broken: the previous digest %s hashes to %s, this digest lists %s", prevWhere, prev.d.Hash, *d.PreviousDigestHashValue)
	}
	if s, ok := prev.meta[MetaSignature]; ok && !strings.EqualFold(strings.TrimSpace(s), *d.PreviousDigestSignature) {
		return "chain broken: previousDigestSignature is not the signature of " + prevWhere
	}
	return ""
}
