// Package trailgen writes realistic CloudTrail log files for benchmarks and
// load tests: a seeded mix of the noise an account produces (STS AssumeRole,
// KMS Decrypt by AWS services, EC2/S3/EFS Describe calls) with a configurable
// share of the EFS and KMS events atrest evaluates, records of 1–3 KB, and
// gzip as CloudTrail delivers it.
package trailgen

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// Options shape a generated log.
type Options struct {
	Records  int     // how many records
	Relevant float64 // share of records of interest, 0..1 (default 0.01)
	Seed     uint64  // same seed, same file
	Gzip     bool    // gzip the output
	Start    time.Time
	Account  string
	Region   string
}

// Stats describe what was written.
type Stats struct {
	Records  int
	Relevant int
	Bytes    int64 // uncompressed JSON bytes
}

type gen struct {
	o   Options
	rng *rand.Rand
	n   int
}

// Write writes one CloudTrail log file {"Records":[...]} to w.
func Write(w io.Writer, o Options) (Stats, error) {
	if o.Relevant == 0 {
		o.Relevant = 0.01
	}
	if o.Account == "" {
		o.Account = "111122223333"
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	}
	var (
		out   io.Writer = w
		gz    *gzip.Writer
		stats Stats
	)
	if o.Gzip {
		gz, _ = gzip.NewWriterLevel(w, gzip.DefaultCompression)
		out = gz
	}
	cw := &countWriter{w: bufio.NewWriterSize(out, 256<<10)}
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	if _, err := io.WriteString(cw, `{"Records":[`); err != nil {
		return stats, err
	}
	for i := 0; i < o.Records; i++ {
		if i > 0 {
			cw.Write([]byte{','})
		}
		relevant := g.rng.Float64() < o.Relevant
		rec := g.record(i, relevant)
		b, err := json.Marshal(rec)
		if err != nil {
			return stats, err
		}
		if _, err := cw.Write(b); err != nil {
			return stats, err
		}
		stats.Records++
		if relevant {
			stats.Relevant++
		}
	}
	if _, err := io.WriteString(cw, "]}\n"); err != nil {
		return stats, err
	}
	if err := cw.w.Flush(); err != nil {
		return stats, err
	}
	stats.Bytes = cw.n
	if gz != nil {
		return stats, gz.Close()
	}
	return stats, nil
}

type countWriter struct {
	w *bufio.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (g *gen) uuid() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", a>>32, (a>>16)&0xffff, a&0xffff, b>>48, b&0xffffffffffff)
}

func (g *gen) hex(n int) string {
	const digits = "0123456789abcdef"
	var sb strings.Builder
	sb.Grow(n)
	for range n {
		sb.WriteByte(digits[g.rng.IntN(16)])
	}
	return sb.String()
}

func (g *gen) identity(service string) map[string]any {
	if service != "" {
		return map[string]any{"type": "AWSService", "invokedBy": service}
	}
	role := []string{"app", "deploy", "data-pipeline", "ops"}[g.rng.IntN(4)]
	return map[string]any{
		"type": "AssumedRole", "principalId": "AROA" + strings.ToUpper(g.hex(17)) + ":session-" + g.hex(8),
		"arn":       "arn:aws:sts::" + g.o.Account + ":assumed-role/" + role + "/session-" + g.hex(8),
		"accountId": g.o.Account, "accessKeyId": "ASIA" + strings.ToUpper(g.hex(16)),
		"sessionContext": map[string]any{
			"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA" + strings.ToUpper(g.hex(17)),
				"arn": "arn:aws:iam::" + g.o.Account + ":role/" + role, "accountId": g.o.Account, "userName": role},
			"attributes": map[string]any{"creationDate": g.o.Start.Format(time.RFC3339), "mfaAuthenticated": "false"},
		},
	}
}

func (g *gen) base(i int, source, name string, ident map[string]any) map[string]any {
	t := g.o.Start.Add(time.Duration(i)*37*time.Millisecond - time.Duration(g.rng.IntN(5000))*time.Millisecond)
	return map[string]any{
		"eventVersion": "1.09", "userIdentity": ident, "eventTime": t.Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": g.o.Region,
		"sourceIPAddress": fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256)),
		"userAgent":       "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux api/" + strings.SplitN(source, ".", 2)[0],
		"requestID":       g.uuid(), "eventID": g.uuid(), "readOnly": true, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": g.o.Account, "eventCategory": "Management",
		"tlsDetails": map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
			"clientProvidedHostHeader": strings.SplitN(source, ".", 2)[0] + "." + g.o.Region + ".amazonaws.com"},
	}
}

func (g *gen) record(i int, relevant bool) map[string]any {
	if relevant {
		return g.relevant(i)
	}
	switch g.rng.IntN(5) {
	case 0:
		r := g.base(i, "sts.amazonaws.com", "AssumeRole", g.identity(""))
		r["requestParameters"] = map[string]any{"roleArn": "arn:aws:iam::" + g.o.Account + ":role/app", "roleSessionName": "session-" + g.hex(12), "durationSeconds": 3600}
		r["responseElements"] = map[string]any{"credentials": map[string]any{"accessKeyId": "ASIA" + strings.ToUpper(g.hex(16)), "sessionToken": g.hex(300 + g.rng.IntN(900)), "expiration": "Nov 20, 2026, 1:00:00 AM"}}
		r["resources"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::IAM::Role", "ARN": "arn:aws:iam::" + g.o.Account + ":role/app"}}
		return r
	case 1:
		svc := []string{"elasticfilesystem.amazonaws.com", "s3.amazonaws.com", "secretsmanager.amazonaws.com"}[g.rng.IntN(3)]
		r := g.base(i, "kms.amazonaws.com", "Decrypt", g.identity(svc))
		r["requestParameters"] = map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT",
			"encryptionContext": map[string]any{"aws:elasticfilesystem:filesystem:id": "fs-" + g.hex(17), "aws:s3:arn": "arn:aws:s3:::bucket-" + g.hex(8) + "/" + g.hex(200+g.rng.IntN(800))}}
		r["resources"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::KMS::Key", "ARN": "arn:aws:kms:" + g.o.Region + ":" + g.o.Account + ":key/" + g.uuid()}}
		return r
	case 2:
		r := g.base(i, "ec2.amazonaws.com", "DescribeInstances", g.identity(""))
		r["requestParameters"] = map[string]any{"instancesSet": map[string]any{"items": []any{map[string]any{"instanceId": "i-" + g.hex(17)}}}, "filterSet": map[string]any{"items": []any{map[string]any{"name": "tag:Name", "valueSet": map[string]any{"items": []any{map[string]any{"value": g.hex(400 + g.rng.IntN(1200))}}}}}}}
		return r
	case 3:
		r := g.base(i, "s3.amazonaws.com", "GetBucketEncryption", g.identity(""))
		r["requestParameters"] = map[string]any{"bucketName": "bucket-" + g.hex(8), "Host": "bucket.s3.amazonaws.com", "encryption": ""}
		r["additionalEventData"] = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0, "AuthenticationMethod": "AuthHeader", "x-amz-id-2": g.hex(300 + g.rng.IntN(900)), "bytesTransferredOut": 512}
		return r
	default:
		r := g.base(i, "elasticfilesystem.amazonaws.com", "DescribeFileSystems", g.identity(""))
		r["requestParameters"] = map[string]any{"fileSystemId": "fs-" + g.hex(17), "maxItems": 100, "marker": g.hex(200 + g.rng.IntN(1000))}
		return r
	}
}

func (g *gen) relevant(i int) map[string]any {
	keyID := g.uuid()
	keyARN := "arn:aws:kms:" + g.o.Region + ":" + g.o.Account + ":key/" + keyID
	keyRes := []any{map[string]any{"accountId": g.o.Account, "type": "AWS::KMS::Key", "ARN": keyARN}}
	switch g.rng.IntN(6) {
	case 0:
		fsID := "fs-" + g.hex(17)
		r := g.base(i, "elasticfilesystem.amazonaws.com", "CreateFileSystem", g.identity(""))
		enc := g.rng.IntN(4) != 0
		req := map[string]any{"creationToken": g.hex(16), "performanceMode": "generalPurpose", "encrypted": enc, "throughputMode": "elastic"}
		resp := map[string]any{"ownerId": g.o.Account, "fileSystemId": fsID, "encrypted": enc,
			"fileSystemArn": "arn:aws:elasticfilesystem:" + g.o.Region + ":" + g.o.Account + ":file-system/" + fsID, "lifeCycleState": "creating"}
		if enc {
			req["kmsKeyId"] = keyID
			resp["kmsKeyId"] = keyARN
		}
		r["requestParameters"], r["responseElements"], r["readOnly"] = req, resp, false
		return r
	case 1:
		r := g.base(i, "kms.amazonaws.com", "CreateKey", g.identity(""))
		r["requestParameters"] = map[string]any{"keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS", "description": g.hex(40)}
		r["responseElements"] = map[string]any{"keyMetadata": map[string]any{"aWSAccountId": g.o.Account, "keyId": keyID, "arn": keyARN,
			"keyUsage": "ENCRYPT_DECRYPT", "keyState": "Enabled", "origin": "AWS_KMS", "keyManager": "CUSTOMER", "keySpec": "SYMMETRIC_DEFAULT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}}
		r["readOnly"] = false
		return r
	default:
		name := []string{"DisableKey", "EnableKeyRotation", "ScheduleKeyDeletion", "EnableKey"}[g.rng.IntN(4)]
		r := g.base(i, "kms.amazonaws.com", name, g.identity(""))
		r["requestParameters"] = map[string]any{"keyId": keyID}
		r["resources"], r["readOnly"] = keyRes, false
		return r
	}
}
