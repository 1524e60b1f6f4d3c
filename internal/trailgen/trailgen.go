// Package trailgen writes realistic CloudTrail log files for benchmarks and
// load tests: a seeded mix of the noise an account produces (STS AssumeRole,
// KMS Decrypt and GenerateDataKey by AWS services, EC2/S3/EFS reads) with a
// configurable share of the EFS and KMS events atrest evaluates, records of
// 1–3 KB, and gzip as CloudTrail delivers it. The calls come from a few
// principals on a few resources, as an account's do, so the logs compress
// as real ones do (8:1 and better): a log of random-looking fields would
// measure gunzip, not a reader of CloudTrail.
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

// gen holds the account the log is written for: the principals that make
// calls, the addresses and user agents they come from, and the buckets,
// instances, file systems and keys they touch. Real trails repeat these few
// identities and resources over and over, which is why real CloudTrail logs
// compress 8:1 and better; only the ids each call gets (eventID, requestID,
// credentials, S3's request id) are random.
type gen struct {
	o          Options
	rng        *rand.Rand
	principals []principal
	buckets    []string
	prefixes   []string
	instances  []string
	names      []string
	fss        []string // file systems of the account
	keys       []*key   // customer managed keys still in use
	roles      []string
}

// principal is one caller: a role session or an IAM user, with the address
// and SDK it calls from.
type principal struct {
	identity  map[string]any
	ip, agent string
}

// key is a customer managed key and what its events have left it: its state
// decides which call on it succeeds (a disabled key is enabled again, a key
// scheduled for deletion gets no more calls).
type key struct {
	id       string
	disabled bool
}

func newGen(o Options) *gen {
	g := &gen{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))}
	g.roles = []string{"app", "deploy", "data-pipeline", "ops", "ci-runner", "analytics"}
	agents := []string{
		"aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux",
		"Boto3/1.34.84 md/Botocore#1.34.84 ua/2.0 os/linux#5.10.219 md/arch#x86_64 lang/python#3.11.9",
		"aws-cli/2.15.40 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/installer#exe cfg/retry-mode#standard md/command#describe",
		"APN/1.0 HashiCorp/1.0 Terraform/1.8.2 (+https://www.terraform.io) terraform-provider-aws/5.46.0 aws-sdk-go-v2/1.26.1",
		"console.amazonaws.com",
	}
	for i := range 16 {
		role := g.roles[i%len(g.roles)]
		session := "session-" + g.hex(8)
		g.principals = append(g.principals, principal{
			identity: map[string]any{
				"type": "AssumedRole", "principalId": "AROA" + strings.ToUpper(g.hex(17)) + ":" + session,
				"arn":       "arn:aws:sts::" + o.Account + ":assumed-role/" + role + "/" + session,
				"accountId": o.Account, "accessKeyId": "ASIA" + strings.ToUpper(g.hex(16)),
				"sessionContext": map[string]any{
					"sessionIssuer": map[string]any{"type": "Role", "principalId": "AROA" + strings.ToUpper(g.hex(17)),
						"arn": "arn:aws:iam::" + o.Account + ":role/" + role, "accountId": o.Account, "userName": role},
					"attributes": map[string]any{"creationDate": o.Start.Format(time.RFC3339), "mfaAuthenticated": "false"},
				},
			},
			ip:    fmt.Sprintf("10.%d.%d.%d", g.rng.IntN(256), g.rng.IntN(256), g.rng.IntN(256)),
			agent: agents[g.rng.IntN(len(agents))],
		})
	}
	for range 12 {
		g.buckets = append(g.buckets, "bucket-"+g.hex(8))
	}
	for range 8 {
		g.prefixes = append(g.prefixes, "data/"+g.hex(6)+"/year=2026/month=11/")
	}
	for range 40 {
		g.instances = append(g.instances, "i-"+g.hex(17))
	}
	for range 10 {
		g.names = append(g.names, "web-"+g.hex(4))
	}
	for range 24 {
		g.fss = append(g.fss, "fs-"+g.hex(17))
	}
	for range 32 {
		g.keys = append(g.keys, &key{id: g.uuid()})
	}
	return g
}

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

func (g *gen) keyARN(id string) string {
	return "arn:aws:kms:" + g.o.Region + ":" + g.o.Account + ":key/" + id
}

// token is a random base64 string of n characters: the credentials and
// request ids no two calls share.
func (g *gen) token(n int) string {
	return g.chars("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", n)
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
	g := newGen(o)
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

func (g *gen) hex(n int) string { return g.chars("0123456789abcdef", n) }

// chars is n characters drawn from digits.
func (g *gen) chars(digits string, n int) string {
	var sb strings.Builder
	sb.Grow(n)
	for range n {
		sb.WriteByte(digits[g.rng.IntN(len(digits))])
	}
	return sb.String()
}

// base is what every record carries. The caller is one of the account's
// principals, or an AWS service calling on its behalf (invokedBy).
func (g *gen) base(i int, source, name string, service string) map[string]any {
	t := g.o.Start.Add(time.Duration(i)*37*time.Millisecond - time.Duration(g.rng.IntN(5000))*time.Millisecond)
	p := g.principals[g.pick(len(g.principals))]
	ident, ip, agent := p.identity, p.ip, p.agent
	if service != "" {
		ident, ip, agent = map[string]any{"type": "AWSService", "invokedBy": service}, service, service
	}
	host := strings.SplitN(source, ".", 2)[0] + "." + g.o.Region + ".amazonaws.com"
	return map[string]any{
		"eventVersion": "1.09", "userIdentity": ident, "eventTime": t.Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": g.o.Region,
		"sourceIPAddress": ip, "userAgent": agent,
		"requestID": g.uuid(), "eventID": g.uuid(), "readOnly": true, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": g.o.Account, "eventCategory": "Management",
		"tlsDetails": map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
			"clientProvidedHostHeader": host},
	}
}

func (g *gen) record(i int, relevant bool) map[string]any {
	if relevant {
		return g.relevant(i)
	}
	switch n := g.pick(100); {
	case n < 5:
		r := g.base(i, "sts.amazonaws.com", "AssumeRole", "")
		role := g.roles[g.pick(len(g.roles))]
		roleARN := "arn:aws:iam::" + g.o.Account + ":role/" + role
		session := "session-" + g.hex(8)
		r["requestParameters"] = map[string]any{"roleArn": roleARN, "roleSessionName": session, "durationSeconds": 3600}
		r["responseElements"] = map[string]any{
			"credentials": map[string]any{"accessKeyId": "ASIA" + strings.ToUpper(g.hex(16)), "sessionToken": g.token(356 + g.pick(200)), "expiration": "Nov 20, 2026, 1:00:00 AM"},
			"assumedRoleUser": map[string]any{"assumedRoleId": "AROA" + strings.ToUpper(g.hex(17)) + ":" + session,
				"arn": "arn:aws:sts::" + g.o.Account + ":assumed-role/" + role + "/" + session},
		}
		r["resources"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::IAM::Role", "ARN": roleARN}}
		return r
	case n < 40:
		// AWS services decrypting data keys: the most frequent calls of an
		// account that encrypts at rest.
		name := []string{"Decrypt", "GenerateDataKey"}[g.pick(2)]
		var svc string
		var ec map[string]any
		k := g.keys[g.pick(len(g.keys))].id
		switch g.pick(3) {
		case 0:
			svc, ec = "elasticfilesystem.amazonaws.com", map[string]any{"aws:elasticfilesystem:filesystem:id": g.fss[g.pick(len(g.fss))]}
		case 1:
			svc, ec = "s3.amazonaws.com", map[string]any{"aws:s3:arn": "arn:aws:s3:::" + g.buckets[g.pick(len(g.buckets))] + "/" +
				g.prefixes[g.pick(len(g.prefixes))] + fmt.Sprintf("part-%05d.parquet", g.pick(400))}
		default:
			svc, ec = "secretsmanager.amazonaws.com", map[string]any{"SecretARN": "arn:aws:secretsmanager:" + g.o.Region + ":" + g.o.Account +
				":secret:" + g.names[g.pick(len(g.names))] + "-db-AbCdEf", "SecretVersionId": g.keys[g.pick(len(g.keys))].id}
		}
		r := g.base(i, "kms.amazonaws.com", name, svc)
		req := map[string]any{"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "encryptionContext": ec}
		if name == "GenerateDataKey" {
			req = map[string]any{"keyId": g.keyARN(k), "keySpec": "AES_256", "encryptionContext": ec}
		}
		r["requestParameters"] = req
		r["resources"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::KMS::Key", "ARN": g.keyARN(k)}}
		return r
	case n < 65:
		r := g.base(i, "ec2.amazonaws.com", "DescribeInstances", "")
		var items []any
		for range 1 + g.pick(3) {
			items = append(items, map[string]any{"instanceId": g.instances[g.pick(len(g.instances))]})
		}
		r["requestParameters"] = map[string]any{"instancesSet": map[string]any{"items": items},
			"filterSet": map[string]any{"items": []any{map[string]any{"name": "tag:Name",
				"valueSet": map[string]any{"items": []any{map[string]any{"value": g.names[g.pick(len(g.names))]}}}}}}}
		return r
	case n < 82:
		name := []string{"GetBucketEncryption", "GetBucketAcl", "GetBucketPolicy", "GetBucketVersioning"}[g.pick(4)]
		bucket := g.buckets[g.pick(len(g.buckets))]
		r := g.base(i, "s3.amazonaws.com", name, "")
		r["requestParameters"] = map[string]any{"bucketName": bucket, "Host": bucket + ".s3." + g.o.Region + ".amazonaws.com", strings.ToLower(strings.TrimPrefix(name, "GetBucket")): ""}
		r["additionalEventData"] = map[string]any{"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256", "bytesTransferredIn": 0,
			"AuthenticationMethod": "AuthHeader", "x-amz-id-2": g.token(76), "bytesTransferredOut": 512}
		r["resources"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::" + bucket}}
		return r
	default:
		name := []string{"DescribeFileSystems", "DescribeMountTargets", "DescribeAccessPoints"}[g.pick(3)]
		r := g.base(i, "elasticfilesystem.amazonaws.com", name, "")
		r["requestParameters"] = map[string]any{"fileSystemId": g.fss[g.pick(len(g.fss))], "maxItems": 100}
		return r
	}
}

// relevant writes one of the EFS and KMS events atrest judges, on the
// account's keys and file systems: a new key or file system now and then,
// and calls on the keys in use that their state allows.
func (g *gen) relevant(i int) map[string]any {
	switch n := g.pick(10); {
	case n == 0:
		return g.createFileSystem(i)
	case n == 1 || len(g.keys) == 0:
		return g.createKey(i)
	}
	idx := g.pick(len(g.keys))
	k := g.keys[idx]
	var name string
	switch n := g.pick(20); {
	case n == 0:
		name = "ScheduleKeyDeletion"
		g.keys = append(g.keys[:idx], g.keys[idx+1:]...)
	case k.disabled:
		name, k.disabled = "EnableKey", false
	case n < 6:
		name, k.disabled = "DisableKey", true
	case n < 9:
		name = "EnableKey" // a deployment applied again: nothing changes
	default:
		name = "EnableKeyRotation"
	}
	r := g.base(i, "kms.amazonaws.com", name, "")
	r["requestParameters"] = map[string]any{"keyId": k.id}
	r["resources"], r["readOnly"] = []any{map[string]any{"accountId": g.o.Account, "type": "AWS::KMS::Key", "ARN": g.keyARN(k.id)}}, false
	return r
}

func (g *gen) createFileSystem(i int) map[string]any {
	fsID := "fs-" + g.hex(17)
	g.fss = append(g.fss, fsID)
	r := g.base(i, "elasticfilesystem.amazonaws.com", "CreateFileSystem", "")
	enc := g.pick(4) != 0 && len(g.keys) > 0
	req := map[string]any{"creationToken": g.hex(16), "performanceMode": "generalPurpose", "encrypted": enc, "throughputMode": "elastic"}
	resp := map[string]any{"ownerId": g.o.Account, "fileSystemId": fsID, "encrypted": enc,
		"fileSystemArn": "arn:aws:elasticfilesystem:" + g.o.Region + ":" + g.o.Account + ":file-system/" + fsID, "lifeCycleState": "creating"}
	if enc {
		k := g.keys[g.pick(len(g.keys))].id
		req["kmsKeyId"] = k
		resp["kmsKeyId"] = g.keyARN(k)
	}
	r["requestParameters"], r["responseElements"], r["readOnly"] = req, resp, false
	return r
}

func (g *gen) createKey(i int) map[string]any {
	id := g.uuid()
	g.keys = append(g.keys, &key{id: id})
	r := g.base(i, "kms.amazonaws.com", "CreateKey", "")
	r["requestParameters"] = map[string]any{"keyUsage": "ENCRYPT_DECRYPT", "keySpec": "SYMMETRIC_DEFAULT", "origin": "AWS_KMS", "description": "data key for " + g.names[g.pick(len(g.names))]}
	r["responseElements"] = map[string]any{"keyMetadata": map[string]any{"aWSAccountId": g.o.Account, "keyId": id, "arn": g.keyARN(id),
		"keyUsage": "ENCRYPT_DECRYPT", "keyState": "Enabled", "origin": "AWS_KMS", "keyManager": "CUSTOMER", "keySpec": "SYMMETRIC_DEFAULT", "customerMasterKeySpec": "SYMMETRIC_DEFAULT"}}
	r["readOnly"] = false
	return r
}
