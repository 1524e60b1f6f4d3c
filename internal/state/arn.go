package state

import (
	"strings"
)

// ARN is a parsed Amazon Resource Name.
type ARN struct {
	Partition string
	Service   string
	Region    string
	Account   string
	Resource  string // e.g. "key/1234abcd-..." or "file-system/fs-0123"
}

// ParseARN splits an ARN into its parts. ok is false when s is not an ARN.
func ParseARN(s string) (ARN, bool) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] == "" {
		return ARN{}, false
	}
	return ARN{Partition: parts[1], Service: parts[2], Region: parts[3], Account: parts[4], Resource: parts[5]}, true
}

func (a ARN) String() string {
	return "arn:" + a.Partition + ":" + a.Service + ":" + a.Region + ":" + a.Account + ":" + a.Resource
}

// Partition returns the ARN partition of a region.
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	}
	return "aws"
}

// KeyARN builds the ARN of a KMS key from its id.
func KeyARN(region, account, keyID string) string {
	return ARN{Partition: Partition(region), Service: "kms", Region: region, Account: account, Resource: "key/" + keyID}.String()
}

// IsKeyARN reports whether s is the ARN of a KMS key (not of an alias).
func IsKeyARN(s string) bool {
	a, ok := ParseARN(s)
	return ok && a.Service == "kms" && strings.HasPrefix(a.Resource, "key/")
}

// AliasARN builds the ARN of a KMS alias from its name ("alias/...").
func AliasARN(region, account, aliasName string) string {
	return ARN{Partition: Partition(region), Service: "kms", Region: region, Account: account, Resource: aliasName}.String()
}

// FileSystemARN builds the ARN of an EFS file system from its id.
func FileSystemARN(region, account, fsID string) string {
	return ARN{Partition: Partition(region), Service: "elasticfilesystem", Region: region, Account: account, Resource: "file-system/" + fsID}.String()
}

// ResourceID returns the id after the resource type in an ARN
// ("key/abc" -> "abc"), or s itself when s is not an ARN.
func ResourceID(s string) string {
	a, ok := ParseARN(s)
	if !ok {
		return s
	}
	if i := strings.IndexByte(a.Resource, '/'); i >= 0 {
		return a.Resource[i+1:]
	}
	return a.Resource
}
