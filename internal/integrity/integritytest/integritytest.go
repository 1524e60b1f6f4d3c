// Package integritytest builds what CloudTrail log file integrity
// validation reads, for tests: RSA signing keys, a trail bucket of log files
// and a chain of signed hourly digest files laid out as CloudTrail delivers
// them, and a local server answering ListPublicKeys in its JSON wire format.
//
// Shapes follow the CloudTrail user guide and API reference:
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-custom-validation.html
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_ListPublicKeys.html
package integritytest

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Key is a signing key with the fingerprint CloudTrail would name it by.
type Key struct {
	Private     *rsa.PrivateKey
	Fingerprint string
	// DER is the public key in PKCS #1 DER, as ListPublicKeys returns it.
	DER []byte
}

var (
	keysMu sync.Mutex
	keys   = map[string]*Key{}
)

// NewKey returns a 2048-bit RSA key, the same one for the same name within a
// test binary (generating one takes a while). The fingerprint is the hex MD5
// of the DER public key: the validator treats it as an opaque name.
func NewKey(t testing.TB, name string) *Key {
	t.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	if k, ok := keys[name]; ok {
		return k
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der := x509.MarshalPKCS1PublicKey(&priv.PublicKey)
	sum := md5.Sum(der)
	k := &Key{Private: priv, Fingerprint: hex.EncodeToString(sum[:]), DER: der}
	keys[name] = k
	return k
}

// Trail describes the layout to write.
type Trail struct {
	Bucket, Account, Region, Name string
	// First is the start of the first digest's hour.
	First time.Time
	// Hours is how many hourly digests to write, each listing one log file
	// stamped 14 minutes into its hour.
	Hours int
	// Logs is the content of the log files (uncompressed), by hour.
	Logs func(hour int) []byte
	Key  *Key
}

// Layout is what Write wrote: keys relative to the bucket.
type Layout struct {
	Root, Bucket string
	Logs         []string // log file keys, by hour
	Digests      []string // digest keys, by hour
	Signatures   []string // hex signatures, by hour
	Raw          [][]byte // uncompressed digest documents, by hour
}

// Path is the file of key under the root.
func (l *Layout) Path(key string) string {
	return filepath.Join(l.Root, l.Bucket, filepath.FromSlash(key))
}

// Write writes tr's log files and digests under root (a copy of the bucket
// as DirSource reads it), the newest digest's S3 metadata beside it.
func Write(t testing.TB, root string, tr Trail) *Layout {
	t.Helper()
	l := &Layout{Root: root, Bucket: tr.Bucket}
	base := "AWSLogs/" + tr.Account
	var prev *prevDigest
	for h := range tr.Hours {
		start := tr.First.Add(time.Duration(h) * time.Hour)
		end := start.Add(time.Hour)
		stamp := start.Add(14 * time.Minute)
		logKey := fmt.Sprintf("%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_Hour%02d.json.gz",
			base, tr.Region, stamp.Format("2006/01/02"), tr.Account, tr.Region, stamp.Format("20060102T1504Z"), h)
		content := tr.Logs(h)
		WriteFile(t, l.Path(logKey), Gzip(t, content))
		l.Logs = append(l.Logs, logKey)

		digestKey := DigestKey(tr.Account, tr.Region, tr.Name, end)
		doc := Digest(tr.Account, tr.Bucket, digestKey, start, end, tr.Key.Fingerprint, prev,
			[]LogEntry{{Bucket: tr.Bucket, Key: logKey, Hash: SHA256Hex(content), Newest: stamp, Oldest: stamp.Add(-5 * time.Minute)}})
		raw := MarshalDigest(t, doc)
		sig := Sign(t, tr.Key, SigningString(doc, raw))
		WriteFile(t, l.Path(digestKey), Gzip(t, raw))
		l.Digests = append(l.Digests, digestKey)
		l.Signatures = append(l.Signatures, sig)
		l.Raw = append(l.Raw, raw)
		prev = &prevDigest{Bucket: tr.Bucket, Key: digestKey, Hash: SHA256Hex(raw), Signature: sig}
	}
	if n := len(l.Digests); n > 0 {
		WriteMetadata(t, l.Path(l.Digests[n-1]), l.Signatures[n-1])
	}
	return l
}

// DigestKey is the key CloudTrail delivers a digest ending at end under.
func DigestKey(account, region, trail string, end time.Time) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		account, region, end.Format("2006/01/02"), account, region, trail, region, end.Format("20060102T150405Z"))
}

type prevDigest struct{ Bucket, Key, Hash, Signature string }

// LogEntry is one logFiles entry.
type LogEntry struct {
	Bucket, Key, Hash string
	Newest, Oldest    time.Time
}

// Digest builds a digest document with the fields, in the order, of the
// documented sample.
func Digest(account, bucket, key string, start, end time.Time, fingerprint string, prev *prevDigest, logs []LogEntry) map[string]any {
	files := []map[string]any{}
	for _, l := range logs {
		files = append(files, map[string]any{
			"s3Bucket": l.Bucket, "s3Object": l.Key, "hashValue": l.Hash, "hashAlgorithm": "SHA-256",
			"newestEventTime": l.Newest.Format(time.RFC3339), "oldestEventTime": l.Oldest.Format(time.RFC3339),
		})
	}
	d := map[string]any{
		"awsAccountId": account, "digestStartTime": start.Format(time.RFC3339), "digestEndTime": end.Format(time.RFC3339),
		"digestS3Bucket": bucket, "digestS3Object": key, "digestPublicKeyFingerprint": fingerprint,
		"digestSignatureAlgorithm": "SHA256withRSA", "newestEventTime": nil, "oldestEventTime": nil,
		"previousDigestS3Bucket": nil, "previousDigestS3Object": nil, "previousDigestHashValue": nil,
		"previousDigestHashAlgorithm": nil, "previousDigestSignature": nil, "logFiles": files,
	}
	if len(logs) > 0 {
		d["newestEventTime"], d["oldestEventTime"] = files[0]["newestEventTime"], files[0]["oldestEventTime"]
	}
	if prev != nil {
		d["previousDigestS3Bucket"], d["previousDigestS3Object"] = prev.Bucket, prev.Key
		d["previousDigestHashValue"], d["previousDigestHashAlgorithm"] = prev.Hash, "SHA-256"
		d["previousDigestSignature"] = prev.Signature
	}
	return d
}

// MarshalDigest is the digest document as bytes.
func MarshalDigest(t testing.TB, d map[string]any) []byte {
	t.Helper()
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// SigningString is the documented data signing string, built here
// independently of the validator's.
func SigningString(d map[string]any, raw []byte) string {
	prev := "null"
	if s, ok := d["previousDigestSignature"].(string); ok {
		prev = s
	}
	return fmt.Sprintf("%s\n%s/%s\n%s\n%s", d["digestEndTime"], d["digestS3Bucket"], d["digestS3Object"], SHA256Hex(raw), prev)
}

// Sign signs s with SHA256withRSA and returns the hex signature.
func Sign(t testing.TB, k *Key, s string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(rand.Reader, k.Private, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(sig)
}

// SHA256Hex is the hex SHA-256 of b.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Gzip compresses b.
func Gzip(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// GunzipFile reads the gzip file name and returns its content.
func GunzipFile(t testing.TB, name string) []byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// WriteFile writes b to name, making its folders.
func WriteFile(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// WriteMetadata writes the head-object output holding a digest's signature
// beside it (DirSource's ".metadata" file).
func WriteMetadata(t testing.TB, digestPath, signature string) {
	t.Helper()
	head := map[string]any{"ContentType": "application/json", "ContentEncoding": "gzip",
		"Metadata": map[string]string{"signature": signature, "signature-algorithm": "SHA256withRSA"}}
	b, err := json.Marshal(head)
	if err != nil {
		t.Fatal(err)
	}
	WriteFile(t, digestPath+".metadata", b)
}

// KeyServer answers CloudTrail ListPublicKeys with keys, in the JSON 1.1
// wire format of the API reference: PublicKeyList of Fingerprint,
// ValidityStartTime and ValidityEndTime (epoch seconds), and Value (base64
// of the DER key). Requests records the X-Amz-Target and body of each call.
type KeyServer struct {
	*httptest.Server
	mu       sync.Mutex
	Requests []string
}

// ServeKeys starts a KeyServer, closed when the test ends. Keys are valid
// from from to to.
func ServeKeys(t testing.TB, from, to time.Time, ks ...*Key) *KeyServer {
	t.Helper()
	s := &KeyServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body bytes.Buffer
		_, _ = body.ReadFrom(r.Body)
		s.mu.Lock()
		s.Requests = append(s.Requests, r.Header.Get("X-Amz-Target")+" "+body.String())
		s.mu.Unlock()
		if r.Header.Get("X-Amz-Target") != "CloudTrail_20131101.ListPublicKeys" {
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"__type":"UnknownOperationException","message":"unexpected target"}`)
			return
		}
		list := []map[string]any{}
		for _, k := range ks {
			list = append(list, map[string]any{
				"Fingerprint": k.Fingerprint, "Value": base64.StdEncoding.EncodeToString(k.DER),
				"ValidityStartTime": float64(from.Unix()), "ValidityEndTime": float64(to.Unix()),
			})
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		_ = json.NewEncoder(w).Encode(map[string]any{"PublicKeyList": list})
	}))
	t.Cleanup(s.Close)
	return s
}

// Calls returns the requests seen so far.
func (s *KeyServer) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.Requests...)
}
