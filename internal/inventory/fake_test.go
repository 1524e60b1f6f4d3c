package inventory

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/atrest/atrest/internal/arns"
)

const (
	testAccount = "111111111111"
	testRegion  = "eu-west-1"
)

// counts counts calls by operation name.
type counts struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counts) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[op]++
}

func (c *counts) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// deny makes the named operations fail as IAM would.
type deny map[string]bool

func (d deny) check(op string) error {
	if d[op] {
		return &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "User is not authorized to perform " + op}
	}
	return nil
}

type fakeKey struct {
	md       kmstypes.KeyMetadata
	rotation *kms.GetKeyRotationStatusOutput // nil: UnsupportedOperationException
	policy   string
	grants   []kmstypes.GrantListEntry
}

type fakeKMS struct {
	counts
	deny    deny
	keys    map[string]*fakeKey // by key ARN
	aliases []kmstypes.AliasListEntry
	// block, when set, holds DescribeKey until it is closed.
	block chan struct{}
	// entered, when set, receives once a DescribeKey has been called,
	// before block holds it.
	entered chan struct{}
}

func (f *fakeKMS) key(id *string) (*fakeKey, error) {
	arn := aws.ToString(id)
	if k := f.keys[arn]; k != nil {
		return k, nil
	}
	return nil, &kmstypes.NotFoundException{Message: aws.String("no key " + arn)}
}

func (f *fakeKMS) DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, _ ...func(*kms.Options)) (*kms.DescribeKeyOutput, error) {
	f.add("DescribeKey")
	if f.entered != nil {
		f.entered <- struct{}{}
	}
	if f.block != nil {
		<-f.block
	}
	if err := f.deny.check("DescribeKey"); err != nil {
		return nil, err
	}
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	md := k.md
	return &kms.DescribeKeyOutput{KeyMetadata: &md}, nil
}

func (f *fakeKMS) GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, _ ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error) {
	f.add("GetKeyRotationStatus")
	if err := f.deny.check("GetKeyRotationStatus"); err != nil {
		return nil, err
	}
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	if k.rotation == nil {
		return nil, &kmstypes.UnsupportedOperationException{Message: aws.String("not supported")}
	}
	out := *k.rotation
	return &out, nil
}

func (f *fakeKMS) GetKeyPolicy(ctx context.Context, in *kms.GetKeyPolicyInput, _ ...func(*kms.Options)) (*kms.GetKeyPolicyOutput, error) {
	f.add("GetKeyPolicy")
	if err := f.deny.check("GetKeyPolicy"); err != nil {
		return nil, err
	}
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	return &kms.GetKeyPolicyOutput{Policy: aws.String(k.policy), PolicyName: in.PolicyName}, nil
}

func (f *fakeKMS) ListGrants(ctx context.Context, in *kms.ListGrantsInput, _ ...func(*kms.Options)) (*kms.ListGrantsOutput, error) {
	f.add("ListGrants")
	if err := f.deny.check("ListGrants"); err != nil {
		return nil, err
	}
	// Every caller asks for the largest page the API allows.
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListGrants.html
	if aws.ToInt32(in.Limit) != 100 {
		return nil, fmt.Errorf("ListGrants Limit %d, not the largest page (100)", aws.ToInt32(in.Limit))
	}
	k, err := f.key(in.KeyId)
	if err != nil {
		return nil, err
	}
	return &kms.ListGrantsOutput{Grants: k.grants}, nil
}

func (f *fakeKMS) ListAliases(ctx context.Context, in *kms.ListAliasesInput, _ ...func(*kms.Options)) (*kms.ListAliasesOutput, error) {
	f.add("ListAliases")
	if err := f.deny.check("ListAliases"); err != nil {
		return nil, err
	}
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListAliases.html
	if aws.ToInt32(in.Limit) != 100 {
		return nil, fmt.Errorf("ListAliases Limit %d, not the largest page (100)", aws.ToInt32(in.Limit))
	}
	return &kms.ListAliasesOutput{Aliases: f.aliases}, nil
}

func (f *fakeKMS) ListKeys(ctx context.Context, in *kms.ListKeysInput, _ ...func(*kms.Options)) (*kms.ListKeysOutput, error) {
	f.add("ListKeys")
	// https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html
	if aws.ToInt32(in.Limit) != 1000 {
		return nil, fmt.Errorf("ListKeys Limit %d, not the largest page (1000)", aws.ToInt32(in.Limit))
	}
	out := &kms.ListKeysOutput{}
	for arn := range f.keys {
		out.Keys = append(out.Keys, kmstypes.KeyListEntry{KeyArn: aws.String(arn), KeyId: aws.String(arns.ResourceID(arn))})
	}
	return out, nil
}

type fakeEFS struct {
	counts
	deny     deny
	fs       []efstypes.FileSystemDescription
	policies map[string]string // by file-system id
}

func (f *fakeEFS) DescribeFileSystems(ctx context.Context, in *efs.DescribeFileSystemsInput, _ ...func(*efs.Options)) (*efs.DescribeFileSystemsOutput, error) {
	f.add("DescribeFileSystems")
	if err := f.deny.check("DescribeFileSystems"); err != nil {
		return nil, err
	}
	if in.FileSystemId == nil {
		// A list asks for EFS's largest page (100).
		// https://docs.aws.amazon.com/efs/latest/ug/API_DescribeFileSystems.html
		if aws.ToInt32(in.MaxItems) != 100 {
			return nil, fmt.Errorf("DescribeFileSystems MaxItems %d, not the largest page (100)", aws.ToInt32(in.MaxItems))
		}
		return &efs.DescribeFileSystemsOutput{FileSystems: f.fs}, nil
	}
	for _, d := range f.fs {
		if aws.ToString(d.FileSystemId) == *in.FileSystemId {
			return &efs.DescribeFileSystemsOutput{FileSystems: []efstypes.FileSystemDescription{d}}, nil
		}
	}
	return nil, &efstypes.FileSystemNotFound{Message: aws.String("no file system " + *in.FileSystemId)}
}

func (f *fakeEFS) DescribeFileSystemPolicy(ctx context.Context, in *efs.DescribeFileSystemPolicyInput, _ ...func(*efs.Options)) (*efs.DescribeFileSystemPolicyOutput, error) {
	f.add("DescribeFileSystemPolicy")
	if err := f.deny.check("DescribeFileSystemPolicy"); err != nil {
		return nil, err
	}
	p, ok := f.policies[aws.ToString(in.FileSystemId)]
	if !ok {
		return nil, &efstypes.PolicyNotFound{Message: aws.String("no policy")}
	}
	return &efs.DescribeFileSystemPolicyOutput{FileSystemId: in.FileSystemId, Policy: aws.String(p)}, nil
}

// fakeSource serves one set of clients for the own account in any region.
type fakeSource struct {
	own     string
	clients *Clients
}

func (s *fakeSource) OwnAccount(context.Context) (string, error) { return s.own, nil }

func (s *fakeSource) Clients(_ context.Context, account, region string) (*Clients, error) {
	if account != s.own {
		return nil, ErrAccountNotMonitored
	}
	return s.clients, nil
}

// fakeClock is a settable clock; Sleep advances it at once.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	if d > 0 {
		c.t = c.t.Add(d)
	}
	return ctx.Err()
}
