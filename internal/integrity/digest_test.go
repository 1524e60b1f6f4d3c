package integrity_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/integrity"
	"github.com/atrest/atrest/internal/integrity/integritytest"
)

// documentedDigest is the sample digest file of
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-log-file-validation-digest-file-structure.html
// (the bucket name as in the sample; the previous signature shortened).
const documentedDigest = `{
  "awsAccountId": "111122223333",
  "digestStartTime": "2015-08-17T14:01:31Z",
  "digestEndTime": "2015-08-17T15:01:31Z",
  "digestS3Bucket": "S3-bucket-name",
  "digestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
  "digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
  "digestSignatureAlgorithm": "SHA256withRSA",
  "newestEventTime": "2015-08-17T14:52:27Z",
  "oldestEventTime": "2015-08-17T14:42:27Z",
  "previousDigestS3Bucket": "S3-bucket-name",
  "previousDigestS3Object": "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T140131Z.json.gz",
  "previousDigestHashValue": "97fb791cf91ffc440d274f8190dbdd9aa09c34432aba82739df18b6d3c13df2d",
  "previousDigestHashAlgorithm": "SHA-256",
  "previousDigestSignature": "50887ccffad4c002b97caa37cc9dc626e3c680207d41d27fa5835458e066e0d3",
  "logFiles": [
    {
      "s3Bucket": "S3-bucket-name",
      "s3Object": "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz",
      "hashValue": "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6",
      "hashAlgorithm": "SHA-256",
      "newestEventTime": "2015-08-17T14:52:27Z",
      "oldestEventTime": "2015-08-17T14:42:27Z"
    }
  ]
}`

func TestParseDigestDocumented(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain", []byte(documentedDigest)},
		{"gzip, as delivered", integritytest.Gzip(t, []byte(documentedDigest))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := integrity.ParseDigest(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if d.AWSAccountID != "111122223333" || d.DigestPublicKeyFingerprint != "31e8b5433410dfb61a9dc45cc65b22ff" ||
				len(d.LogFiles) != 1 || d.LogFiles[0].HashValue != "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6" ||
				d.Starting() || !d.End.Equal(time.Date(2015, 8, 17, 15, 1, 31, 0, time.UTC)) ||
				d.Hash != integritytest.SHA256Hex([]byte(documentedDigest)) {
				t.Errorf("parsed %+v", d)
			}
			// The documented format: end time, S3 path, hex SHA-256 of the
			// uncompressed digest, previous signature, joined by newlines.
			want := "2015-08-17T15:01:31Z\nS3-bucket-name/AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz\n" +
				integritytest.SHA256Hex([]byte(documentedDigest)) + "\n50887ccffad4c002b97caa37cc9dc626e3c680207d41d27fa5835458e066e0d3"
			if got := d.SigningString(); got != want {
				t.Errorf("SigningString() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestParseDigestStarting(t *testing.T) {
	// "In a starting digest file, the following fields relating to the
	// previous digest file will be null" (same page); the signing string
	// then ends in "null".
	doc := integritytest.Digest(account, bucket, integritytest.DigestKey(account, region, "t", first.Add(time.Hour)), first, first.Add(time.Hour), "ab", nil, nil)
	raw := integritytest.MarshalDigest(t, doc)
	d, err := integrity.ParseDigest(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Starting() || !strings.HasSuffix(d.SigningString(), "\nnull") || len(d.LogFiles) != 0 {
		t.Errorf("starting digest: Starting %v, signing string %q", d.Starting(), d.SigningString())
	}
}

func TestParseDigestMalformed(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{"not JSON", `{"awsAccountId": `, "unexpected EOF"},
		{"an array", `[]`, "cannot unmarshal array"},
		{"missing fingerprint", strings.Replace(documentedDigest, `"digestPublicKeyFingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",`, "", 1), "digestPublicKeyFingerprint is missing"},
		{"end time not a time", strings.Replace(documentedDigest, `"digestEndTime": "2015-08-17T15:01:31Z"`, `"digestEndTime": "yesterday"`, 1), "digestEndTime"},
		{"wrong type", strings.Replace(documentedDigest, `"awsAccountId": "111122223333"`, `"awsAccountId": 111122223333`, 1), "cannot unmarshal number"},
		{"previous fields partly null", strings.Replace(documentedDigest, `"previousDigestSignature": "50887ccffad4c002b97caa37cc9dc626e3c680207d41d27fa5835458e066e0d3"`, `"previousDigestSignature": null`, 1), "partly null"},
		{"log file without hash", strings.Replace(documentedDigest, `"hashValue": "9bb6196fc6b84d6f075a56548feca262bd99ba3c2de41b618e5b6e22c1fc71f6",`, "", 1), "logFiles[0]"},
		{"data after the object", documentedDigest + `{}`, "data after the JSON object"},
		{"gzip header, then garbage", "\x1f\x8b\x08\x00garbage", "gzip"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := integrity.ParseDigest([]byte(tc.data))
			if !errors.Is(err, integrity.ErrMalformed) || !strings.Contains(err.Error(), tc.want) || d != nil {
				t.Errorf("ParseDigest = %v, %v; want ErrMalformed containing %q", d, err, tc.want)
			}
		})
	}
}

func TestParseDigestKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
		want integrity.DigestName
	}{
		{
			name: "documented key",
			key:  "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz",
			ok:   true,
			want: integrity.DigestName{Base: "AWSLogs/111122223333", Account: "111122223333", Region: "us-east-2", Trail: "your-trail-name", HomeRegion: "us-east-2", End: time.Date(2015, 8, 17, 15, 1, 31, 0, time.UTC)},
		},
		{
			name: "organization trail with a prefix, a trail name with underscores, a multi-region trail's other region, backfill",
			key:  "logs/AWSLogs/o-exampleorgid/111122223333/CloudTrail-Digest/eu-west-1/2015/08/17/111122223333_CloudTrail-Digest_eu-west-1_org_trail_us-east-1_20150817T150131Z_backfill.json.gz",
			ok:   true,
			want: integrity.DigestName{Base: "logs/AWSLogs/o-exampleorgid/111122223333", Account: "111122223333", Region: "eu-west-1", Trail: "org_trail", HomeRegion: "us-east-1", End: time.Date(2015, 8, 17, 15, 1, 31, 0, time.UTC), Backfill: true},
		},
		{name: "a log file", key: "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz"},
		{name: "account in the name differs", key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/444455556666_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"},
		{name: "no home region", key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_t_20150817T150131Z.json.gz"},
		{name: "bad date folder", key: "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/13/17/111122223333_CloudTrail-Digest_us-east-2_t_us-east-2_20150817T150131Z.json.gz"},
		{name: "empty", key: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := integrity.ParseDigestKey(tc.key)
			if ok != tc.ok || got != tc.want {
				t.Errorf("ParseDigestKey = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestParseLogKey(t *testing.T) {
	// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-find-log-files.html
	got, ok := integrity.ParseLogKey("AWSLogs/123456789012/CloudTrail/us-west-1/2014/06/20/123456789012_CloudTrail_us-west-1_20140620T1255Z_HdkvFTXOA3Vnhbc.json.gz")
	want := integrity.LogName{Base: "AWSLogs/123456789012", Account: "123456789012", Region: "us-west-1",
		Day: time.Date(2014, 6, 20, 0, 0, 0, 0, time.UTC), Time: time.Date(2014, 6, 20, 12, 55, 0, 0, time.UTC)}
	if !ok || got != want {
		t.Errorf("ParseLogKey = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := integrity.ParseLogKey("AWSLogs/123456789012/CloudTrail/us-west-1/2014/06/20/other.json.gz"); ok {
		t.Error("a file of another name parsed as a log file")
	}
}

func FuzzParseDigest(f *testing.F) {
	f.Add([]byte(documentedDigest))
	f.Add(integritytest.Gzip(f, []byte(documentedDigest)))
	f.Add([]byte(`{"logFiles":[{}]}`))
	f.Add([]byte("\x1f\x8b"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := integrity.ParseDigest(data)
		if err != nil {
			if !errors.Is(err, integrity.ErrMalformed) || d != nil {
				t.Fatalf("ParseDigest error %v without ErrMalformed, or with a digest", err)
			}
			return
		}
		if d.DigestEndTime == "" || d.Hash == "" || !strings.HasPrefix(d.SigningString(), d.DigestEndTime+"\n") {
			t.Fatalf("parsed digest without its required fields: %+v", d)
		}
		_, _ = integrity.ParseDigestKey(d.DigestS3Object)
	})
}

func TestParsePublicKey(t *testing.T) {
	k := integritytest.NewKey(t, "signer")
	pkix, err := x509.MarshalPKIXPublicKey(&k.Private.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKIXPublicKey(&ec.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	// ListPublicKeys documents "DER encoded public key value in PKCS#1
	// format"; one sample on the custom validation page is a
	// SubjectPublicKeyInfo. Both are read.
	tests := []struct {
		name string
		der  []byte
		err  string
	}{
		{"PKCS #1", k.DER, ""},
		{"SubjectPublicKeyInfo", pkix, ""},
		{"an EC key", ecDER, "not an RSA public key"},
		{"garbage", []byte("not DER"), "not a DER RSA public key"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := integrity.ParsePublicKey(tc.der)
			if tc.err == "" {
				if err != nil || !got.Equal(&k.Private.PublicKey) {
					t.Errorf("ParsePublicKey = %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParsePublicKey error %v, want %q", err, tc.err)
			}
		})
	}
}
