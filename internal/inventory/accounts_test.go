package inventory

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
)

type fakeSTS struct {
	mu        sync.Mutex
	assumed   []sts.AssumeRoleInput
	identity  int
	expiresIn time.Duration
}

func (f *fakeSTS) AssumeRole(ctx context.Context, in *sts.AssumeRoleInput, _ ...func(*sts.Options)) (*sts.AssumeRoleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assumed = append(f.assumed, *in)
	return &sts.AssumeRoleOutput{Credentials: &ststypes.Credentials{
		AccessKeyId:     aws.String("ASIA-" + strings.Split(*in.RoleArn, ":")[4]),
		SecretAccessKey: aws.String("secret"),
		SessionToken:    aws.String("token"),
		Expiration:      aws.Time(time.Now().Add(f.expiresIn)),
	}}, nil
}

func (f *fakeSTS) GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, _ ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.identity++
	return &sts.GetCallerIdentityOutput{Account: aws.String(testAccount)}, nil
}

func TestAccountsAssumeRole(t *testing.T) {
	ctx := context.Background()
	fsts := &fakeSTS{expiresIn: time.Hour}
	var built []aws.Config
	acc := NewAccounts(AccountsOptions{
		Config:     aws.Config{Region: testRegion, Credentials: credentials.NewStaticCredentialsProvider("AKIA-OWN", "s", "")},
		RoleName:   "atrest-reader",
		ExternalID: "org-ext-id",
		STS:        fsts,
		NewClients: func(cfg aws.Config) *Clients { built = append(built, cfg); return &Clients{} },
	})
	own, err := acc.OwnAccount(ctx)
	if err != nil || own != testAccount {
		t.Fatalf("OwnAccount = %q, %v", own, err)
	}
	c1, _ := acc.Clients(ctx, testAccount, testRegion)
	c2, _ := acc.Clients(ctx, testAccount, testRegion)
	if c1 != c2 || len(built) != 1 {
		t.Fatalf("clients for one account and region built %d times, want 1", len(built))
	}
	creds, err := built[0].Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID != "AKIA-OWN" {
		t.Fatalf("own account credentials = %q, %v; want the monitor's own", creds.AccessKeyID, err)
	}
	if _, err := acc.Clients(ctx, "222222222222", "us-east-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Clients(ctx, "222222222222", "eu-west-1"); err != nil {
		t.Fatal(err)
	}
	if len(built) != 3 {
		t.Fatalf("clients built = %d, want 3", len(built))
	}
	for _, cfg := range built[1:] {
		for range 2 {
			creds, err := cfg.Credentials.Retrieve(ctx)
			if err != nil || creds.AccessKeyID != "ASIA-222222222222" {
				t.Fatalf("other account credentials = %q, %v; want the assumed role's", creds.AccessKeyID, err)
			}
		}
	}
	if built[1].Region != "us-east-1" || built[2].Region != "eu-west-1" {
		t.Errorf("regions = %s, %s", built[1].Region, built[2].Region)
	}
	if len(fsts.assumed) != 1 {
		t.Fatalf("AssumeRole calls = %d, want 1 (credentials cached until expiry across regions)", len(fsts.assumed))
	}
	in := fsts.assumed[0]
	if aws.ToString(in.RoleArn) != "arn:aws:iam::222222222222:role/atrest-reader" || aws.ToString(in.ExternalId) != "org-ext-id" {
		t.Errorf("AssumeRole(%s, external id %s)", aws.ToString(in.RoleArn), aws.ToString(in.ExternalId))
	}
	if fsts.identity != 1 {
		t.Errorf("GetCallerIdentity calls = %d, want 1", fsts.identity)
	}
	if built[0].Retryer == nil {
		t.Errorf("no retryer configured")
	} else if r := built[0].Retryer(); r.MaxAttempts() < 3 {
		t.Errorf("retryer max attempts = %d", r.MaxAttempts())
	}
}

// Credentials that expire are renewed with a new AssumeRole, which carries
// the external id when one is configured, every time, and none otherwise.
// The SDK's credentials cache reads the wall clock and takes no fake one,
// so STS here hands out credentials that have already expired: each
// Retrieve must assume the role again, and no test waits for expiry.
func TestAccountsExpiredCredentialsRenewed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		externalID string
	}{
		{name: "no external id", externalID: ""},
		{name: "external id", externalID: "org-ext-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			fsts := &fakeSTS{expiresIn: -time.Minute}
			var built []aws.Config
			acc := NewAccounts(AccountsOptions{
				Config: aws.Config{Region: testRegion}, Account: testAccount, RoleName: "r", ExternalID: tc.externalID, STS: fsts,
				NewClients: func(cfg aws.Config) *Clients { built = append(built, cfg); return &Clients{} },
			})
			acc.Clients(ctx, "333333333333", testRegion)
			for range 2 {
				if _, err := built[0].Credentials.Retrieve(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if len(fsts.assumed) != 2 {
				t.Fatalf("AssumeRole calls = %d, want 2 for expiring credentials", len(fsts.assumed))
			}
			for i, in := range fsts.assumed {
				if got := aws.ToString(in.ExternalId); got != tc.externalID || (tc.externalID == "") != (in.ExternalId == nil) {
					t.Errorf("AssumeRole %d: external id %v, want %q", i, in.ExternalId, tc.externalID)
				}
			}
		})
	}
}

func TestAccountsWithoutRole(t *testing.T) {
	acc := NewAccounts(AccountsOptions{
		Config: aws.Config{Region: testRegion}, Account: testAccount, STS: &fakeSTS{},
		NewClients: func(cfg aws.Config) *Clients { return &Clients{} },
	})
	_, err := acc.Clients(context.Background(), "444444444444", testRegion)
	if !errors.Is(err, ErrAccountNotMonitored) {
		t.Fatalf("error = %v, want ErrAccountNotMonitored", err)
	}
	if want := "account 444444444444 is not the monitor's own (" + testAccount + ") and no cross-account role name is configured"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}
