// Package arns is the one place atrest parses and builds Amazon Resource
// Names and turns KMS key references into key ARNs. Parsing is the SDK's
// (github.com/aws/aws-sdk-go-v2/aws/arn); the partition of a region comes
// from the AWS partitions list, so ARNs built for China, GovCloud, the ISO
// partitions and the European Sovereign Cloud carry the right partition.
//
// ARN format: https://docs.aws.amazon.com/general/latest/gr/aws-arns-and-namespaces.html
package arns

import (
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// ARN is a parsed Amazon Resource Name (the SDK's type).
type ARN = arn.ARN

// Service namespaces of the ARNs atrest builds.
const (
	ServiceKMS         = "kms"
	ServiceEFS         = "elasticfilesystem"
	ServiceCloudTrail  = "cloudtrail"
	ServiceEvents      = "events"
	ServiceLogs        = "logs"
	ServiceIAM         = "iam"
	ServiceSTS         = "sts"
	ServiceSecurityHub = "securityhub"
)

// Resource type prefixes of KMS and EFS ARNs.
const (
	KeyPrefix        = "key/"
	AliasPrefix      = "alias/"
	FileSystemPrefix = "file-system/"
)

// Parse splits s into its parts with the SDK's parser. ok is false when s
// is not an ARN or names no partition or service.
func Parse(s string) (ARN, bool) {
	// arn.Parse's sections ("arn", then five, the last one the rest), cut
	// without the slice strings.SplitN allocates: a finding parses its
	// resource's ARN.
	rest, ok := strings.CutPrefix(s, arnPrefix)
	if !ok {
		return ARN{}, false
	}
	var a ARN
	for _, section := range []*string{&a.Partition, &a.Service, &a.Region, &a.AccountID} {
		if *section, rest, ok = strings.Cut(rest, ":"); !ok {
			return ARN{}, false
		}
	}
	a.Resource = rest
	if a.Partition == "" || a.Service == "" {
		return ARN{}, false
	}
	return a, true
}

// arnPrefix starts every ARN.
const arnPrefix = "arn:"

// IsARN reports whether s is written as an ARN ("arn:" and five sections),
// whatever it names.
func IsARN(s string) bool { return arn.IsARN(s) }

// LooksLikeARN reports whether s is written as an ARN (starts with
// "arn:"), well formed or not: what a caller checks before telling an ARN
// from a bare id or name, so that a malformed ARN is reported as one.
func LooksLikeARN(s string) bool { return strings.HasPrefix(s, arnPrefix) }

// IsARNOf reports whether s is a well-formed ARN of service whose resource
// starts with resourcePrefix (e.g. "kms", "key/").
func IsARNOf(s, service, resourcePrefix string) bool {
	a, ok := Parse(s)
	return ok && a.Service == service && strings.HasPrefix(a.Resource, resourcePrefix)
}

// New builds an ARN in the partition of region.
func New(service, region, account, resource string) string {
	return ARN{Partition: Partition(region), Service: service, Region: region, AccountID: account, Resource: resource}.String()
}

// partition is one AWS partition: the regions it lists by name and the
// pattern its other region codes follow.
type partition struct {
	id      string
	regions []string
	pattern *regexp.Regexp
}

// partitions are the AWS partitions with their regions and region
// patterns, as the SDK's endpoint rules list them
// (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json, the same
// list as botocore's partitions.json). A region a partition names wins over
// any pattern; "aws" is the fallback, as in the SDK.
var partitions = []partition{
	{"aws", []string{"aws-global"}, regexp.MustCompile(`^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`)},
	{"aws-cn", []string{"aws-cn-global", "cn-north-1", "cn-northwest-1"}, regexp.MustCompile(`^cn\-\w+\-\d+$`)},
	{"aws-eusc", []string{"eusc-de-east-1"}, regexp.MustCompile(`^eusc\-(de)\-\w+\-\d+$`)},
	{"aws-iso", []string{"aws-iso-global", "us-iso-east-1", "us-iso-west-1"}, regexp.MustCompile(`^us\-iso\-\w+\-\d+$`)},
	{"aws-iso-b", []string{"aws-iso-b-global", "us-isob-east-1", "us-isob-west-1"}, regexp.MustCompile(`^us\-isob\-\w+\-\d+$`)},
	{"aws-iso-e", []string{"aws-iso-e-global", "eu-isoe-west-1"}, regexp.MustCompile(`^eu\-isoe\-\w+\-\d+$`)},
	{"aws-iso-f", []string{"aws-iso-f-global", "us-isof-east-1", "us-isof-south-1"}, regexp.MustCompile(`^us\-isof\-\w+\-\d+$`)},
	{"aws-us-gov", []string{"aws-us-gov-global", "us-gov-east-1", "us-gov-west-1"}, regexp.MustCompile(`^us\-gov\-\w+\-\d+$`)},
}

// Partition returns the ARN partition of a region: "aws-cn" for cn-*,
// "aws-us-gov" for us-gov-*, "aws-iso" for us-iso-*, "aws-iso-b" for
// us-isob-*, "aws-iso-e" for eu-isoe-*, "aws-iso-f" for us-isof-*,
// "aws-eusc" for eusc-de-*, and "aws" for every other region.
func Partition(region string) string {
	for _, p := range partitions {
		for _, r := range p.regions {
			if r == region {
				return p.id
			}
		}
	}
	for _, p := range partitions {
		if p.pattern.MatchString(region) {
			return p.id
		}
	}
	return "aws"
}

// KeyARN builds the ARN of a KMS key from its id.
func KeyARN(region, account, keyID string) string {
	return New(ServiceKMS, region, account, KeyPrefix+keyID)
}

// AliasARN builds the ARN of a KMS alias from its name ("alias/...").
func AliasARN(region, account, aliasName string) string {
	return New(ServiceKMS, region, account, aliasName)
}

// FileSystemARN builds the ARN of an EFS file system from its id.
func FileSystemARN(region, account, fsID string) string {
	return New(ServiceEFS, region, account, FileSystemPrefix+fsID)
}

// IsKeyARN reports whether s is the ARN of a KMS key (not of an alias).
func IsKeyARN(s string) bool {
	return IsARNOf(s, ServiceKMS, KeyPrefix)
}

// ResourceID returns the id after the resource type in an ARN
// ("key/abc" -> "abc"), or s itself when s is not an ARN.
func ResourceID(s string) string {
	a, ok := Parse(s)
	if !ok {
		return s
	}
	if _, id, found := strings.Cut(a.Resource, "/"); found {
		return id
	}
	return a.Resource
}
