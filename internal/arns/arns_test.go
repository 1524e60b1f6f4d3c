package arns

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws/arn"
)

// The partitions and their regions are those of the AWS partitions list
// (aws-sdk-go-v2 internal/endpoints/awsrulesfn/partitions.json); ARN format:
// https://docs.aws.amazon.com/general/latest/gr/aws-arns-and-namespaces.html
func TestPartition(t *testing.T) {
	tests := []struct {
		name   string
		region string
		want   string
	}{
		{"commercial us", "us-east-1", "aws"},
		{"commercial eu", "eu-central-2", "aws"},
		{"commercial mexico", "mx-central-1", "aws"},
		{"commercial region not yet listed", "ap-southeast-9", "aws"},
		{"china", "cn-north-1", "aws-cn"},
		{"china northwest", "cn-northwest-1", "aws-cn"},
		{"govcloud west", "us-gov-west-1", "aws-us-gov"},
		{"govcloud east", "us-gov-east-1", "aws-us-gov"},
		{"iso", "us-iso-east-1", "aws-iso"},
		{"iso west", "us-iso-west-1", "aws-iso"},
		{"iso-b", "us-isob-east-1", "aws-iso-b"},
		{"iso-e", "eu-isoe-west-1", "aws-iso-e"},
		{"iso-f", "us-isof-south-1", "aws-iso-f"},
		{"iso-f by pattern", "us-isof-north-2", "aws-iso-f"},
		{"european sovereign cloud", "eusc-de-east-1", "aws-eusc"},
		{"european sovereign cloud by pattern", "eusc-de-west-2", "aws-eusc"},
		{"china global", "aws-cn-global", "aws-cn"},
		{"empty falls back to aws", "", "aws"},
		{"unknown falls back to aws", "moon-base-1", "aws"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Partition(tt.region); got != tt.want {
				t.Errorf("Partition(%q) = %q, want %q", tt.region, got, tt.want)
			}
		})
	}
}

func TestBuilders(t *testing.T) {
	tests := []struct {
		name string
		got  string
		want string
	}{
		{"key aws", KeyARN("us-east-1", "111122223333", "1234abcd-12ab-34cd-56ef-1234567890ab"),
			"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
		{"key china", KeyARN("cn-north-1", "111122223333", "k"), "arn:aws-cn:kms:cn-north-1:111122223333:key/k"},
		{"key govcloud", KeyARN("us-gov-west-1", "111122223333", "k"), "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/k"},
		{"key iso", KeyARN("us-iso-east-1", "111122223333", "k"), "arn:aws-iso:kms:us-iso-east-1:111122223333:key/k"},
		{"key iso-b", KeyARN("us-isob-east-1", "111122223333", "k"), "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/k"},
		{"key iso-e", KeyARN("eu-isoe-west-1", "111122223333", "k"), "arn:aws-iso-e:kms:eu-isoe-west-1:111122223333:key/k"},
		{"key iso-f", KeyARN("us-isof-east-1", "111122223333", "k"), "arn:aws-iso-f:kms:us-isof-east-1:111122223333:key/k"},
		{"key eusc", KeyARN("eusc-de-east-1", "111122223333", "k"), "arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/k"},
		{"alias", AliasARN("us-gov-east-1", "111122223333", "alias/app"), "arn:aws-us-gov:kms:us-gov-east-1:111122223333:alias/app"},
		{"file system", FileSystemARN("eusc-de-east-1", "111122223333", "fs-0123"),
			"arn:aws-eusc:elasticfilesystem:eusc-de-east-1:111122223333:file-system/fs-0123"},
		{"new", New(ServiceCloudTrail, "cn-northwest-1", "111122223333", "trail/t"), "arn:aws-cn:cloudtrail:cn-northwest-1:111122223333:trail/t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
		want ARN
	}{
		{"key", "arn:aws-iso-b:kms:us-isob-east-1:111122223333:key/k", true,
			ARN{Partition: "aws-iso-b", Service: "kms", Region: "us-isob-east-1", AccountID: "111122223333", Resource: "key/k"}},
		{"resource with colons", "arn:aws:logs:us-east-1:111122223333:log-group:g:subscription-filter:f", true,
			ARN{Partition: "aws", Service: "logs", Region: "us-east-1", AccountID: "111122223333", Resource: "log-group:g:subscription-filter:f"}},
		{"global service", "arn:aws-cn:iam::111122223333:role/r", true,
			ARN{Partition: "aws-cn", Service: "iam", AccountID: "111122223333", Resource: "role/r"}},
		{"bare id", "1234abcd-12ab-34cd-56ef-1234567890ab", false, ARN{}},
		{"too few sections", "arn:aws:kms:us-east-1:key/k", false, ARN{}},
		{"no partition", "arn::kms:us-east-1:111122223333:key/k", false, ARN{}},
		{"no service", "arn:aws::us-east-1:111122223333:key/k", false, ARN{}},
		{"empty", "", false, ARN{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("Parse(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
			if ok && got.String() != tt.in {
				t.Errorf("String() = %q, want %q", got.String(), tt.in)
			}
		})
	}
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		looks      bool
		isKey      bool
		resourceID string
	}{
		{"key ARN", "arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/k", true, true, "k"},
		{"alias ARN", "arn:aws:kms:us-east-1:111122223333:alias/app", true, false, "app"},
		{"file system ARN", "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1", true, false, "fs-1"},
		{"key resource of another service", "arn:aws:s3:::key/k", true, false, "k"},
		{"malformed ARN", "arn:aws:kms", true, false, "arn:aws:kms"},
		{"bare id", "k", false, false, "k"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeARN(tt.in); got != tt.looks {
				t.Errorf("LooksLikeARN = %v, want %v", got, tt.looks)
			}
			if got := IsKeyARN(tt.in); got != tt.isKey {
				t.Errorf("IsKeyARN = %v, want %v", got, tt.isKey)
			}
			if got := ResourceID(tt.in); got != tt.resourceID {
				t.Errorf("ResourceID = %q, want %q", got, tt.resourceID)
			}
		})
	}
}

// Key reference forms: https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id
func TestKeyResolver(t *testing.T) {
	const account, region = "111122223333", "us-gov-west-1"
	target := "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	other := "arn:aws-cn:kms:cn-north-1:444455556666:key/0987dcba-09fe-87dc-65ba-ab0987654321"
	table := map[string]string{
		"arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/app": target,
		"arn:aws-cn:kms:cn-north-1:444455556666:alias/other":      other,
	}
	var seen []Alias
	lookup := func(_ context.Context, a Alias) (string, error) {
		seen = append(seen, a)
		if a.Name == "alias/broken" {
			return "", errors.New("kms:ListAliases: throttled")
		}
		return table[a.ARN], nil
	}
	tests := []struct {
		name      string
		ref       string
		account   string
		region    string
		aliases   AliasLookup
		kind      KeyRefKind
		want      string
		wantErr   string
		wantAlias *Alias
	}{
		{name: "key id", ref: "1234abcd-12ab-34cd-56ef-1234567890ab", account: account, region: region, aliases: lookup,
			kind: KeyID, want: target},
		{name: "key id in eusc", ref: "k", account: account, region: "eusc-de-east-1", aliases: lookup,
			kind: KeyID, want: "arn:aws-eusc:kms:eusc-de-east-1:111122223333:key/k"},
		{name: "key id without account", ref: "k", region: region, aliases: lookup, kind: KeyID, want: ""},
		{name: "key id without region", ref: "k", account: account, aliases: lookup, kind: KeyID, want: ""},
		{name: "key ARN kept as written", ref: other, account: account, region: region, aliases: lookup,
			kind: KeyARNRef, want: other},
		{name: "alias name in account and region", ref: "alias/app", account: account, region: region, aliases: lookup,
			kind: AliasName, want: target,
			wantAlias: &Alias{Name: "alias/app", Account: account, Region: region, ARN: "arn:aws-us-gov:kms:us-gov-west-1:111122223333:alias/app"}},
		{name: "alias ARN in its own account and region", ref: "arn:aws-cn:kms:cn-north-1:444455556666:alias/other",
			account: account, region: region, aliases: lookup, kind: AliasARNRef, want: other,
			wantAlias: &Alias{Name: "alias/other", Account: "444455556666", Region: "cn-north-1", ARN: "arn:aws-cn:kms:cn-north-1:444455556666:alias/other"}},
		{name: "unknown alias", ref: "alias/none", account: account, region: region, aliases: lookup, kind: AliasName, want: ""},
		{name: "alias without lookup", ref: "alias/app", account: account, region: region, kind: AliasName, want: ""},
		{name: "lookup error", ref: "alias/broken", account: account, region: region, aliases: lookup, kind: AliasName,
			wantErr: "kms:ListAliases: throttled"},
		{name: "ARN of another resource", ref: "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-1",
			account: account, region: region, aliases: lookup, kind: NotKeyRef, want: ""},
		{name: "malformed ARN", ref: "arn:aws:kms:key/k", account: account, region: region, aliases: lookup, kind: NotKeyRef, want: ""},
		{name: "empty", ref: "", account: account, region: region, aliases: lookup, kind: NotKeyRef, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seen = nil
			if got := KindOf(tt.ref); got != tt.kind {
				t.Errorf("KindOf(%q) = %v, want %v", tt.ref, got, tt.kind)
			}
			got, err := KeyResolver{Aliases: tt.aliases}.Resolve(context.Background(), tt.ref, tt.account, tt.region)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Resolve(%q) = %q, %v; want %q", tt.ref, got, err, tt.want)
			}
			if tt.wantAlias != nil && (len(seen) != 1 || seen[0] != *tt.wantAlias) {
				t.Errorf("lookup saw %+v, want one %+v", seen, *tt.wantAlias)
			}
			if tt.kind != AliasName && tt.kind != AliasARNRef && len(seen) != 0 {
				t.Errorf("lookup called for a %v reference: %+v", tt.kind, seen)
			}
			if s := StaticKeyARN(tt.ref, tt.account, tt.region); (tt.kind == KeyID || tt.kind == KeyARNRef) && s != tt.want ||
				tt.kind != KeyID && tt.kind != KeyARNRef && s != "" {
				t.Errorf("StaticKeyARN(%q) = %q", tt.ref, s)
			}
		})
	}
}

// TestParseAsTheSDKDoes: Parse cuts an ARN into the sections the SDK's
// arn.Parse gives, and refuses what it refuses (and an ARN without a
// partition or service).
func TestParseAsTheSDKDoes(t *testing.T) {
	for _, s := range []string{
		"arn:aws:kms:us-east-1:111122223333:key/k", "arn:aws:kms:us-east-1:111122223333:", "arn:aws:kms:us-east-1::key/k",
		"arn:aws:kms:::", "arn:aws:kms::", "arn:aws:kms", "arn:", "arn", "ARN:aws:kms:us-east-1:1:key/k", "xarn:aws:kms:r:1:k",
		"arn:aws:logs:us-east-1:1:log-group:g:*", "arn:aws:s3:::bucket/a:b:c", "arn::::::", "arn:a:b:c:d:e:f:g", ":arn:aws:kms:r:1:k",
	} {
		got, ok := Parse(s)
		want, err := arn.Parse(s)
		wantOK := err == nil && want.Partition != "" && want.Service != ""
		if !wantOK {
			want = ARN{}
		}
		if ok != wantOK || got != want {
			t.Errorf("Parse(%q) = %+v, %v; the SDK's sections %+v, %v", s, got, ok, want, wantOK)
		}
	}
}
