package cloudtrail

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"time"
)

// logGen writes deterministic CloudTrail log files: noise records of 1–3 KB
// (sts AssumeRole, kms Decrypt by AWS services, ec2 and s3 reads) and, at a
// given rate, records of interest.
type logGen struct {
	rng      *rand.Rand
	relevant float64 // fraction of records of interest
	t        time.Time
	n        int
}

func newLogGen(seed uint64, relevant float64) *logGen {
	return &logGen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), relevant: relevant,
		t: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}
}

const genAccount = "111122223333"

// id returns a deterministic UUID-shaped string.
func (g *logGen) id() string {
	a, b := g.rng.Uint64(), g.rng.Uint64()
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", a>>32, a>>16&0xffff, a&0xfff, b>>52&0xfff, b&0xffffffffffff)
}

// pad returns a string of n deterministic base64-like characters.
func (g *logGen) pad(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	var sb strings.Builder
	sb.Grow(n)
	for range n {
		sb.WriteByte(alphabet[g.rng.IntN(len(alphabet))])
	}
	return sb.String()
}

// genRecord is a record as CloudTrail writes it, with the fields Record omits.
type genRecord struct {
	Record
	ManagementEvent bool           `json:"managementEvent"`
	SharedEventID   string         `json:"sharedEventID,omitempty"`
	TLSDetails      map[string]any `json:"tlsDetails,omitempty"`
}

// next returns the next record and whether it is one of interest.
func (g *logGen) next() (genRecord, bool) {
	g.n++
	g.t = g.t.Add(time.Duration(g.rng.IntN(200)) * time.Millisecond)
	r := genRecord{Record: Record{
		EventVersion: "1.08", EventTime: g.t, AWSRegion: "us-east-1", EventID: g.id(), RequestID: g.id(),
		EventType: "AwsApiCall", RecipientAccountID: genAccount, EventCategory: "Management",
	}, ManagementEvent: true}
	ro := true
	r.ReadOnly = &ro
	if g.rng.Float64() < g.relevant {
		ro = false
		key := "arn:aws:kms:us-east-1:" + genAccount + ":key/" + g.id()
		r.UserIdentity = UserIdentity{Type: "AssumedRole", PrincipalID: "AROAZ2EXAMPLEID:alice",
			ARN: "arn:aws:sts::" + genAccount + ":assumed-role/PlatformAdmin/alice", AccountID: genAccount}
		r.SourceIPAddress, r.UserAgent = "192.0.2.10", "aws-cli/2.15.40 Python/3.11.8 Linux/6.1"
		switch g.rng.IntN(3) {
		case 0:
			r.EventSource, r.EventName = SourceKMS, EventCreateKey
			r.RequestParameters = json.RawMessage(`{"keyUsage":"ENCRYPT_DECRYPT","keySpec":"SYMMETRIC_DEFAULT","origin":"AWS_KMS","multiRegion":false}`)
			r.ResponseElements = json.RawMessage(`{"keyMetadata":{"aWSAccountId":"` + genAccount + `","arn":"` + key + `","keyState":"Enabled","keyManager":"CUSTOMER"}}`)
		case 1:
			r.EventSource, r.EventName = SourceKMS, EventCreateGrant
			r.RequestParameters = json.RawMessage(`{"keyId":"` + key + `","granteePrincipal":"elasticfilesystem.amazonaws.com","operations":["Decrypt","GenerateDataKey"]}`)
		default:
			r.EventSource, r.EventName = SourceEFS, EventCreateFileSystem
			r.RequestParameters = json.RawMessage(`{"creationToken":"` + g.id() + `","encrypted":true,"kmsKeyId":"` + key + `"}`)
			r.ResponseElements = json.RawMessage(`{"fileSystemId":"fs-0123456789abcdef0","encrypted":true,"kmsKeyId":"` + key + `"}`)
		}
		r.Resources = []Resource{{ARN: key, AccountID: genAccount, Type: "AWS::KMS::Key"}}
		return r, true
	}
	size := 1000 + g.rng.IntN(2000)
	switch g.rng.IntN(4) {
	case 0:
		r.UserIdentity = UserIdentity{Type: "AWSService", InvokedBy: "lambda.amazonaws.com"}
		r.EventSource, r.EventName = "sts.amazonaws.com", "AssumeRole"
		r.SourceIPAddress, r.UserAgent = "lambda.amazonaws.com", "lambda.amazonaws.com"
		r.RequestParameters = json.RawMessage(`{"roleArn":"arn:aws:iam::` + genAccount + `:role/service-role/worker","roleSessionName":"` + g.pad(32) + `"}`)
		r.ResponseElements = json.RawMessage(`{"credentials":{"accessKeyId":"ASIA` + g.pad(16) + `","sessionToken":"` + g.pad(size-700) + `","expiration":"May 1, 2024, 1:00:45 PM"}}`)
		r.SharedEventID = g.id()
	case 1:
		r.UserIdentity = UserIdentity{Type: "AWSService", InvokedBy: "elasticfilesystem.amazonaws.com"}
		r.EventSource, r.EventName = SourceKMS, "Decrypt"
		r.SourceIPAddress, r.UserAgent = "elasticfilesystem.amazonaws.com", "elasticfilesystem.amazonaws.com"
		r.RequestParameters = json.RawMessage(`{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"aws:elasticfilesystem:filesystem:id":"fs-0123456789abcdef0","pad":"` + g.pad(size-800) + `"}}`)
		r.Resources = []Resource{{ARN: "arn:aws:kms:us-east-1:" + genAccount + ":key/" + g.id(), AccountID: genAccount, Type: "AWS::KMS::Key"}}
		r.SharedEventID = g.id()
	case 2:
		r.UserIdentity = UserIdentity{Type: "AssumedRole", PrincipalID: "AROAZ2EXAMPLEID:i-0abc", ARN: "arn:aws:sts::" + genAccount + ":assumed-role/ssm/i-0abc", AccountID: genAccount}
		r.EventSource, r.EventName = "ec2.amazonaws.com", "DescribeInstances"
		r.SourceIPAddress, r.UserAgent = "198.51.100.23", "aws-sdk-go-v2/1.30.0 os/linux lang/go#1.22 md/GOOS#linux api/ec2#1.160"
		r.RequestParameters = json.RawMessage(`{"instancesSet":{"items":[{"instanceId":"i-0abc"}]},"filterSet":{},"pad":"` + g.pad(size-800) + `"}`)
		r.TLSDetails = map[string]any{"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"}
	default:
		r.UserIdentity = UserIdentity{Type: "IAMUser", PrincipalID: "AIDAZ2EXAMPLE", ARN: "arn:aws:iam::" + genAccount + ":user/ci", AccountID: genAccount}
		r.EventSource, r.EventName = "s3.amazonaws.com", "ListBuckets"
		r.SourceIPAddress, r.UserAgent = "203.0.113.5", "[aws-cli/2.15.40 Python/3.11.8 \"quoted\\agent\"]"
		r.RequestParameters = json.RawMessage(`{"Host":"s3.us-east-1.amazonaws.com","pad":"` + g.pad(size-800) + `"}`)
		r.TLSDetails = map[string]any{"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256", "clientProvidedHostHeader": "s3.us-east-1.amazonaws.com"}
	}
	return r, false
}

// writeLog writes a log file of n records to w and returns the eventIDs of
// the records of interest, in order.
func (g *logGen) writeLog(w io.Writer, n int) ([]string, error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	var ids []string
	if _, err := bw.WriteString(`{"Records":[`); err != nil {
		return nil, err
	}
	for i := range n {
		r, relevant := g.next()
		if relevant {
			ids = append(ids, r.EventID)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			bw.WriteByte(',')
		}
		if _, err := bw.Write(b); err != nil {
			return nil, err
		}
	}
	if _, err := bw.WriteString("]}\n"); err != nil {
		return nil, err
	}
	return ids, bw.Flush()
}
