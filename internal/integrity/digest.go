// Package integrity validates CloudTrail log files against the digest files
// CloudTrail signs every hour, following the documented algorithm: the
// digest's RSA signature (SHA256withRSA) against the public key named by its
// fingerprint (ListPublicKeys), the chain of previous digests, and the
// SHA-256 hash of each log file the digest lists. A log file whose hash does
// not match (altered), that a valid digest lists but the bucket no longer
// holds (missing), or that lies in the time a valid digest chain covers
// without being listed (unlisted) is an integrity failure of the trail.
//
// The documentation followed:
//
//   - digest file structure, location, metadata and chaining:
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
//   - custom validation (the data signing string, the steps):
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
//   - ListPublicKeys and the PublicKey type:
//     https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html
//     https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_PublicKey.html
//   - log file names and folders:
//     https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html
package integrity

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// SignatureAlgorithm is the one algorithm CloudTrail signs digests with.
const SignatureAlgorithm = "SHA256withRSA"

// HashAlgorithm is the one algorithm CloudTrail hashes log and digest files
// with.
const HashAlgorithm = "SHA-256"

// Metadata keys of a digest object (x-amz-meta-signature and
// x-amz-meta-signature-algorithm, as the S3 API returns user metadata).
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
)

// MaxDigestBytes bounds an uncompressed digest file. An hour's digest lists
// each log file in a few hundred bytes; 64 MiB is far beyond any real one.
const MaxDigestBytes = 64 << 20

// ErrMalformed reports a digest file that cannot be read as one.
var ErrMalformed = errors.New("malformed digest file")

// Digest is a CloudTrail digest file. Time fields keep the text the file
// holds, because the signature covers digestEndTime as written.
type Digest struct {
	AWSAccountID               string  `json:"awsAccountId"`
	DigestStartTime            string  `json:"digestStartTime"`
	DigestEndTime              string  `json:"digestEndTime"`
	DigestS3Bucket             string  `json:"digestS3Bucket"`
	DigestS3Object             string  `json:"digestS3Object"`
	DigestPublicKeyFingerprint string  `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm   string  `json:"digestSignatureAlgorithm"`
	NewestEventTime            *string `json:"newestEventTime"`
	OldestEventTime            *string `json:"oldestEventTime"`
	// The previous digest; all null in a starting digest.
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []LogFile `json:"logFiles"`

	// Start and End are DigestStartTime and DigestEndTime parsed.
	Start, End time.Time `json:"-"`
	// Hash is the hex SHA-256 of the uncompressed digest file.
	Hash string `json:"-"`
}

// LogFile is one log file a digest lists.
type LogFile struct {
	S3Bucket        string  `json:"s3Bucket"`
	S3Object        string  `json:"s3Object"`
	HashValue       string  `json:"hashValue"`
	HashAlgorithm   string  `json:"hashAlgorithm"`
	NewestEventTime *string `json:"newestEventTime"`
	OldestEventTime *string `json:"oldestEventTime"`
}

// Starting reports whether d is a starting digest: no previous digest.
func (d *Digest) Starting() bool {
	return d.PreviousDigestS3Object == nil && d.PreviousDigestS3Bucket == nil &&
		d.PreviousDigestSignature == nil && d.PreviousDigestHashValue == nil
}

// Location is s3://bucket/key of the digest as it names itself.
func (d *Digest) Location() string { return "s3://" + d.DigestS3Bucket + "/" + d.DigestS3Object }

// ParseDigest reads a digest file, gzip or plain, and checks that every field
// the validation needs is present and well formed.
func ParseDigest(data []byte) (*Digest, error) {
	raw, err := inflate(data, MaxDigestBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	var d Digest
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	for _, f := range []struct{ name, value string }{
		{"awsAccountId", d.AWSAccountID},
		{"digestStartTime", d.DigestStartTime},
		{"digestEndTime", d.DigestEndTime},
		{"digestS3Bucket", d.DigestS3Bucket},
		{"digestS3Object", d.DigestS3Object},
		{"digestPublicKeyFingerprint", d.DigestPublicKeyFingerprint},
		{"digestSignatureAlgorithm", d.DigestSignatureAlgorithm},
	} {
		if f.value == "" {
			return nil, fmt.Errorf("%w: %s is missing", ErrMalformed, f.name)
		}
	}
	if d.Start, err = time.Parse(time.RFC3339, d.DigestStartTime); err != nil {
		return nil, fmt.Errorf("%w: digestStartTime: %w", ErrMalformed, err)
	}
	if d.End, err = time.Parse(time.RFC3339, d.DigestEndTime); err != nil {
		return nil, fmt.Errorf("%w: digestEndTime: %w", ErrMalformed, err)
	}
	if !d.Starting() && (d.PreviousDigestS3Bucket == nil || d.PreviousDigestS3Object == nil ||
		d.PreviousDigestSignature == nil || d.PreviousDigestHashValue == nil) {
		return nil, fmt.Errorf("%w: previous digest fields are partly null", ErrMalformed)
	}
	for i, lf := range d.LogFiles {
		if lf.S3Bucket == "" || lf.S3Object == "" || lf.HashValue == "" {
			return nil, fmt.Errorf("%w: logFiles[%d]: s3Bucket, s3Object and hashValue are required", ErrMalformed, i)
		}
	}
	sum := sha256.Sum256(raw)
	d.Hash = hex.EncodeToString(sum[:])
	return &d, nil
}

// SigningString is the data signing string of the documented algorithm:
//
//	digestEndTime \n digestS3Bucket/digestS3Object \n Hex(SHA256(digest)) \n previousDigestSignature
//
// A starting digest has no previous signature; its place holds "null", the
// text of the JSON null the Java sample formats.
func (d *Digest) SigningString() string {
	prev := "null"
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + d.Hash + "\n" + prev
}

// inflate returns data uncompressed when it is gzip, as it is otherwise, and
// fails past limit bytes.
func inflate(data []byte, limit int64) ([]byte, error) {
	if !isGzip(data) {
		if int64(len(data)) > limit {
			return nil, fmt.Errorf("over %d bytes", limit)
		}
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("inflates past %d bytes", limit)
	}
	return out, nil
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// DigestName is what a digest object's key says: the account, the region it
// was delivered from, the trail and its home region, and the digest's end.
//
//	[prefix/]AWSLogs/[o-id/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/
//	    ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHmmssZ[_backfill].json.gz
type DigestName struct {
	Base       string // [prefix/]AWSLogs/[o-id/]ACCOUNT
	Account    string
	Region     string
	Trail      string
	HomeRegion string
	End        time.Time
	Backfill   bool
}

// ParseDigestKey reads a digest object's key. ok is false when key is not
// one.
func ParseDigestKey(key string) (DigestName, bool) {
	segs := strings.Split(key, "/")
	n := len(segs)
	if n < 8 || segs[n-6] != "CloudTrail-Digest" {
		return DigestName{}, false
	}
	acct, region, file := segs[n-7], segs[n-5], segs[n-1]
	if !isAccount(acct) || !isRegion(region) || !isDate(segs[n-4], segs[n-3], segs[n-2]) {
		return DigestName{}, false
	}
	rest, ok := strings.CutSuffix(file, ".json.gz")
	if !ok {
		return DigestName{}, false
	}
	rest, backfill := strings.CutSuffix(rest, "_backfill")
	rest, ok = strings.CutPrefix(rest, acct+"_CloudTrail-Digest_"+region+"_")
	if !ok {
		return DigestName{}, false
	}
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return DigestName{}, false
	}
	end, err := time.Parse("20060102T150405Z", rest[i+1:])
	if err != nil {
		return DigestName{}, false
	}
	rest = rest[:i]
	// Trail names may hold underscores; region names never do.
	j := strings.LastIndexByte(rest, '_')
	if j <= 0 || !isRegion(rest[j+1:]) {
		return DigestName{}, false
	}
	return DigestName{
		Base: strings.Join(segs[:n-6], "/"), Account: acct, Region: region,
		Trail: rest[:j], HomeRegion: rest[j+1:], End: end, Backfill: backfill,
	}, true
}

// LogName is what a log file object's key says.
//
//	[prefix/]AWSLogs/[o-id/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz
type LogName struct {
	Base    string // [prefix/]AWSLogs/[o-id/]ACCOUNT
	Account string
	Region  string
	Day     time.Time // the folder's date: when the file was published
	Time    time.Time // the file name's time stamp
}

// ParseLogKey reads a log file object's key. ok is false when key is not a
// CloudTrail log file's.
func ParseLogKey(key string) (LogName, bool) {
	segs := strings.Split(key, "/")
	n := len(segs)
	if n < 8 || segs[n-6] != "CloudTrail" {
		return LogName{}, false
	}
	acct, region, file := segs[n-7], segs[n-5], segs[n-1]
	if !isAccount(acct) || !isRegion(region) || !isDate(segs[n-4], segs[n-3], segs[n-2]) {
		return LogName{}, false
	}
	day, _ := time.Parse("2006/01/02", segs[n-4]+"/"+segs[n-3]+"/"+segs[n-2])
	rest, ok := strings.CutPrefix(file, acct+"_CloudTrail_"+region+"_")
	if !ok || !strings.HasSuffix(rest, ".json.gz") {
		return LogName{}, false
	}
	stamp, _, ok := strings.Cut(rest, "_")
	if !ok {
		return LogName{}, false
	}
	t, err := time.Parse("20060102T1504Z", stamp)
	if err != nil {
		return LogName{}, false
	}
	return LogName{Base: strings.Join(segs[:n-6], "/"), Account: acct, Region: region, Day: day, Time: t}, true
}

// digestFolder is the digest folder of base, region and day.
func digestFolder(base, region string, day time.Time) string {
	return base + "/CloudTrail-Digest/" + region + "/" + day.Format("2006/01/02") + "/"
}

// logFolder is the log folder of base, region and day.
func logFolder(base, region string, day time.Time) string {
	return base + "/CloudTrail/" + region + "/" + day.Format("2006/01/02") + "/"
}

func isAccount(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func isRegion(s string) bool {
	if len(s) < 4 || len(s) > 32 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return strings.Contains(s, "-")
}

func isDate(y, m, d string) bool {
	_, err := time.Parse("2006/01/02", y+"/"+m+"/"+d)
	return err == nil
}
