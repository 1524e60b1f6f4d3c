package lambdafn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/envelope"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/inventory"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/state"
)

// SourceVerify is the Source of the verify function's findings and metrics.
const SourceVerify = "verify"

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
	Clients inventory.ClientSource
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
func keyARNOf(ctx context.Context, c inventory.KeyDescriber, ref, account, region string) (string, error) {
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

// ErrNoVerifier is returned by Verify when the monitor has no key verifier
// or no key lister (ATREST_VERIFY_KEYS is not true, or the store is not the
// live one).
var ErrNoVerifier = errors.New("verify needs ATREST_VERIFY_KEYS=true and the live store (ATREST_STORE=live)")

// Verify handles the scheduled key verification: it lists the keys that
// protect live file systems, proves each works with a fresh envelope round
// trip (a cached result is dropped first: the schedule is the interval) and
// emits one efs_kms_key_verified finding a key: COMPLIANT, NON_COMPLIANT
// with the reason, or ERROR when the attempt itself failed (throttled, a
// network error). Every verification is counted in KeyVerifications and
// KeyVerificationLatency by Outcome. A region or key reference that could
// not be read is logged and counted as an evaluation error; the error is
// non-nil only when nothing could be listed, so the scheduled invocation is
// retried and then sent to the dead-letter queue.
func (m *Monitor) Verify(ctx context.Context, event events.CloudWatchEvent) error {
	if m.KeyVerifier == nil || m.Keys == nil {
		m.Log.ErrorContext(ctx, "verification not possible", "error", ErrNoVerifier.Error())
		return ErrNoVerifier
	}
	inv := m.start(SourceVerify)
	m.Log.InfoContext(ctx, "verification started", "event_id", event.ID, "regions", m.Regions)
	// The work stops a margin before Lambda's deadline; ctx is left for
	// delivering what was found.
	hctx, cancel := handlerContext(ctx)
	defer cancel()
	keys, readErrs, err := m.Keys.ProtectingKeys(hctx, m.Regions)
	for _, e := range readErrs {
		m.Log.WarnContext(ctx, "verification read failed", "error", e.Error())
	}
	if err != nil {
		m.Log.ErrorContext(ctx, "verification failed", "error", err.Error())
		inv.metrics.Count(metrics.EvaluationErrors, SourceVerify, max(len(readErrs), 1))
		inv.finish(ctx)
		return fmt.Errorf("verify: %w", err)
	}
	var failed, evalErrors int
	for _, k := range keys {
		if hctx.Err() != nil {
			break
		}
		m.KeyVerifier.Invalidate(k.ARN)
		r := m.KeyVerifier.Verify(hctx, k.ARN, k.FileSystems)
		m.verified(r)
		f, err := envelope.Finding(r, m.Engine, SourceVerify)
		if err != nil {
			inv.finish(ctx)
			return fmt.Errorf("verify: %w", err)
		}
		inv.emit(ctx, f)
		switch f.Status {
		case finding.NonCompliant:
			failed++
		case finding.Error:
			evalErrors++
		}
	}
	inv.metrics.Count(metrics.EventsProcessed, SourceVerify, len(keys))
	inv.metrics.Count(metrics.EvaluationErrors, SourceVerify, evalErrors+len(readErrs))
	m.Log.InfoContext(ctx, "verification done", "keys", len(keys), "failed", failed,
		"evaluation_errors", evalErrors, "read_errors", len(readErrs))
	inv.finish(ctx)
	return contextError(hctx, hctx.Err())
}
