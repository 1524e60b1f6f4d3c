package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/state"
)

// ProtectingKey is a KMS key that protects live EFS file systems.
type ProtectingKey struct {
	// ARN is the key's ARN.
	ARN string
	// FileSystems are the ARNs of the live file systems it protects, sorted.
	FileSystems []string
}

// KeyLister lists the keys that protect live file systems in regions. Reads
// that failed (a region, a key reference) are returned beside the keys
// found; err is non-nil when nothing could be listed.
type KeyLister interface {
	ProtectingKeys(ctx context.Context, regions []string) (keys []ProtectingKey, readErrors []error, err error)
}

// FileSystemKeys is a KeyLister over the monitor's own account: every file
// system of each region (elasticfilesystem:DescribeFileSystems) grouped by
// the key that encrypts it. EFS names the key by ARN; a key id is made an
// ARN in the file system's account and region, and an alias (or an
// encrypted file system that names no key: the AWS managed key) is resolved
// with kms:DescribeKey.
type FileSystemKeys struct {
	Clients ClientSource
}

var _ KeyLister = FileSystemKeys{}

// ProtectingKeys implements KeyLister.
func (l FileSystemKeys) ProtectingKeys(ctx context.Context, regions []string) ([]ProtectingKey, []error, error) {
	account, err := l.Clients.OwnAccount(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("own account: %w", err)
	}
	var (
		readErrs []error
		listed   int
	)
	byKey := map[string][]string{}
	for _, region := range regions {
		c, err := l.Clients.Clients(ctx, account, region)
		if err != nil {
			readErrs = append(readErrs, fmt.Errorf("clients for account %s in %s: %w", account, region, err))
			continue
		}
		descs, err := fileSystems(ctx, c.EFS)
		if err != nil {
			readErrs = append(readErrs, fmt.Errorf("elasticfilesystem:DescribeFileSystems of account %s in %s: %w", account, region, err))
			continue
		}
		listed++
		resolved := map[string]string{} // key reference -> key ARN, per region
		for _, d := range descs {
			if !aws.ToBool(d.Encrypted) || d.LifeCycleState == efstypes.LifeCycleStateDeleting || d.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			fsARN := aws.ToString(d.FileSystemArn)
			if fsARN == "" {
				fsARN = arns.FileSystemARN(region, account, aws.ToString(d.FileSystemId))
			}
			ref := cmp.Or(aws.ToString(d.KmsKeyId), state.EFSDefaultKeyAlias)
			keyARN, ok := resolved[ref]
			if !ok {
				if keyARN, err = keyARNOf(ctx, c.KMS, ref, account, region); err != nil {
					readErrs = append(readErrs, fmt.Errorf("key %s of %s: %w", ref, fsARN, err))
				}
				resolved[ref] = keyARN
			}
			if keyARN != "" {
				byKey[keyARN] = append(byKey[keyARN], fsARN)
			}
		}
		if ctx.Err() != nil {
			return nil, readErrs, ctx.Err()
		}
	}
	if listed == 0 && len(regions) > 0 {
		return nil, readErrs, fmt.Errorf("no region could be listed: %w", errors.Join(readErrs...))
	}
	keys := make([]ProtectingKey, 0, len(byKey))
	for arn, fss := range byKey {
		slices.Sort(fss)
		keys = append(keys, ProtectingKey{ARN: arn, FileSystems: slices.Compact(fss)})
	}
	slices.SortFunc(keys, func(a, b ProtectingKey) int { return strings.Compare(a.ARN, b.ARN) })
	return keys, readErrs, nil
}

func fileSystems(ctx context.Context, c efs.DescribeFileSystemsAPIClient) ([]efstypes.FileSystemDescription, error) {
	var out []efstypes.FileSystemDescription
	// MaxItems: EFS pages at 100 file systems at most (the default).
	// https://docs.aws.amazon.com/efs/latest/ug/API_DescribeFileSystems.html
	p := efs.NewDescribeFileSystemsPaginator(c, &efs.DescribeFileSystemsInput{MaxItems: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		out = append(out, page.FileSystems...)
	}
	return out, nil
}

// keyARNOf turns the key reference a file system names into the key's ARN;
// aliases are looked up with DescribeKey.
func keyARNOf(ctx context.Context, c KeyDescriber, ref, account, region string) (string, error) {
	describe := func(ctx context.Context, _ arns.Alias) (string, error) {
		// The client is the account's and region's: KMS takes the alias
		// as the file system names it.
		out, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(ref)})
		if err != nil {
			return "", fmt.Errorf("kms:DescribeKey: %w", err)
		}
		if out.KeyMetadata == nil || aws.ToString(out.KeyMetadata.Arn) == "" {
			return "", fmt.Errorf("kms:DescribeKey of %s returned no key ARN", ref)
		}
		return aws.ToString(out.KeyMetadata.Arn), nil
	}
	keyARN, err := arns.KeyResolver{Aliases: describe}.Resolve(ctx, ref, account, region)
	if err == nil && keyARN == "" {
		err = fmt.Errorf("%q names no KMS key", ref)
	}
	return keyARN, err
}
