package inventory

import (
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/atrest/atrest/internal/arns"
)

// CallerIdentity reads the monitor's own account (sts:GetCallerIdentity).
type CallerIdentity interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// AccountsOptions configure Accounts.
type AccountsOptions struct {
	// Config is the monitor's own SDK configuration (credentials, default
	// region, endpoint overrides). Its retryer is replaced by the SDK's
	// adaptive retryer so throttled reads back off and are retried.
	Config aws.Config
	// Account is the monitor's own account id; "" asks STS once.
	Account string
	// RoleName is the role assumed in another account of the organization
	// to read it ("" reads the monitor's own account only).
	RoleName string
	// ExternalID is passed to sts:AssumeRole when set.
	ExternalID string
	// STS makes AssumeRole and GetCallerIdentity calls; nil builds one from
	// Config.
	STS interface {
		stscreds.AssumeRoleAPIClient
		CallerIdentity
	}
	// NewClients builds the clients from a configuration whose region and
	// credentials are those of one account and region; nil builds SDK
	// clients.
	NewClients func(cfg aws.Config) *Clients
}

// Accounts is a ClientSource for an AWS organization: the monitor's own
// account is read with its own credentials, another account through a role
// assumed in it. Clients are built lazily per account and region and kept;
// assumed-role credentials are cached until they expire.
type Accounts struct {
	opts AccountsOptions

	mu      sync.Mutex
	account string
	clients map[string]*Clients              // account + "/" + region
	creds   map[string]*aws.CredentialsCache // by account
}

var _ ClientSource = (*Accounts)(nil)

// NewAccounts returns an Accounts.
func NewAccounts(opts AccountsOptions) *Accounts {
	cfg := opts.Config.Copy()
	cfg.Retryer = func() aws.Retryer { return retry.NewAdaptiveMode() }
	opts.Config = cfg
	if opts.STS == nil {
		opts.STS = sts.NewFromConfig(cfg)
	}
	if opts.NewClients == nil {
		opts.NewClients = SDKClients
	}
	return &Accounts{
		opts:    opts,
		account: opts.Account,
		clients: map[string]*Clients{},
		creds:   map[string]*aws.CredentialsCache{},
	}
}

// OwnAccount returns the monitor's own account id, asking STS once.
func (a *Accounts) OwnAccount(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.account != "" {
		return a.account, nil
	}
	out, err := a.opts.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", callError("sts:GetCallerIdentity", "the monitor's credentials", err)
	}
	a.account = aws.ToString(out.Account)
	return a.account, nil
}

// RoleARN is the ARN of the role assumed to read account.
func (a *Accounts) RoleARN(account, region string) string {
	return arns.ARN{Partition: arns.Partition(region), Service: arns.ServiceIAM, AccountID: account, Resource: "role/" + a.opts.RoleName}.String()
}

// Clients returns the clients for account in region (region "" is the
// configuration's region; account "" the monitor's own).
func (a *Accounts) Clients(ctx context.Context, account, region string) (*Clients, error) {
	own, err := a.OwnAccount(ctx)
	if err != nil {
		return nil, err
	}
	if account == "" {
		account = own
	}
	if region == "" {
		region = a.opts.Config.Region
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if c := a.clients[account+"/"+region]; c != nil {
		return c, nil
	}
	cfg := a.opts.Config.Copy()
	cfg.Region = region
	if account != own {
		if a.opts.RoleName == "" {
			return nil, fmt.Errorf("%w: account %s is not the monitor's own (%s) and no cross-account role name is configured", ErrAccountNotMonitored, account, own)
		}
		creds := a.creds[account]
		if creds == nil {
			roleARN := a.RoleARN(account, region)
			provider := stscreds.NewAssumeRoleProvider(a.opts.STS, roleARN, func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "atrest-inventory"
				if a.opts.ExternalID != "" {
					o.ExternalID = aws.String(a.opts.ExternalID)
				}
			})
			creds = aws.NewCredentialsCache(provider)
			a.creds[account] = creds
		}
		cfg.Credentials = creds
	}
	c := a.opts.NewClients(cfg)
	a.clients[account+"/"+region] = c
	return c, nil
}
