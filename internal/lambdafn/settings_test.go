package lambdafn_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/lambdafn"
)

// The settings the template passes for the security model: the external id,
// the monitored accounts and regions, the stack's account, the remediation
// age limit, the trail bucket and the inflate bound.
func TestSettingsFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		check   func(t *testing.T, s lambdafn.Settings)
		wantErr string // part of the error; "" for none
	}{
		{
			name: "unset: the default age limit, nothing pinned",
			env:  map[string]string{},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.OrganizationExternalID != "" || s.MonitoredAccounts != nil || s.MonitoredRegions != nil ||
					s.StackAccount != "" || s.RemediationMaxAge != lambdafn.DefaultRemediationMaxAge || s.TrailBucket != "" || s.MaxInflatedBytes != 0 {
					t.Errorf("settings %+v, want the zero values", s)
				}
			},
		},
		{
			name: "as the template passes them",
			env: map[string]string{
				lambdafn.EnvOrganizationExternalID: "atrest-4f1d",
				lambdafn.EnvMonitoredAccounts:      "111122223333, 444455556666,",
				lambdafn.EnvMonitoredRegions:       "us-east-1,eu-west-1",
				lambdafn.EnvStackAccount:           "111122223333",
				lambdafn.EnvRemediationMaxAge:      "3600s",
				lambdafn.EnvTrailBucket:            "trail-bucket",
				lambdafn.EnvMaxInflatedBytes:       "268435456",
			},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.OrganizationExternalID != "atrest-4f1d" {
					t.Errorf("OrganizationExternalID %q", s.OrganizationExternalID)
				}
				if !slices.Equal(s.MonitoredAccounts, []string{"111122223333", "444455556666"}) {
					t.Errorf("MonitoredAccounts %q", s.MonitoredAccounts)
				}
				if !slices.Equal(s.MonitoredRegions, []string{"us-east-1", "eu-west-1"}) {
					t.Errorf("MonitoredRegions %q", s.MonitoredRegions)
				}
				if s.StackAccount != "111122223333" {
					t.Errorf("StackAccount %q", s.StackAccount)
				}
				if s.RemediationMaxAge != time.Hour {
					t.Errorf("RemediationMaxAge %v, want 1h", s.RemediationMaxAge)
				}
				if s.TrailBucket != "trail-bucket" {
					t.Errorf("TrailBucket %q", s.TrailBucket)
				}
				if s.MaxInflatedBytes != 256<<20 {
					t.Errorf("MaxInflatedBytes %d, want %d", s.MaxInflatedBytes, 256<<20)
				}
			},
		},
		{
			name: "the ledger table, as the template passes it",
			env:  map[string]string{lambdafn.EnvLedgerTable: " atrest-LedgerTable-1A2B3C4D5E6F "},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.LedgerTable != "atrest-LedgerTable-1A2B3C4D5E6F" {
					t.Errorf("LedgerTable %q", s.LedgerTable)
				}
			},
		},
		{
			name: "the settle queue and window, as the template passes them",
			env: map[string]string{
				lambdafn.EnvSettleQueue:   "https://sqs.us-east-1.amazonaws.com/111122223333/atrest-settle",
				lambdafn.EnvSettleSeconds: "120",
			},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.SettleQueue != "https://sqs.us-east-1.amazonaws.com/111122223333/atrest-settle" || s.SettleSeconds == nil || *s.SettleSeconds != 120 {
					t.Errorf("SettleQueue %q, SettleSeconds %v, want the queue URL and 120", s.SettleQueue, s.SettleSeconds)
				}
			},
		},
		{
			name: "settle window 0: off, not unset",
			env:  map[string]string{lambdafn.EnvSettleSeconds: "0"},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.SettleSeconds == nil || *s.SettleSeconds != 0 || s.SettleQueue != "" {
					t.Errorf("SettleSeconds %v, SettleQueue %q, want 0 and none", s.SettleSeconds, s.SettleQueue)
				}
			},
		},
		{
			name:    "settle window beyond the SQS delay limit",
			env:     map[string]string{lambdafn.EnvSettleSeconds: "901"},
			wantErr: `ATREST_SETTLE_SECONDS="901", want whole seconds from 0 (off) to 900`,
		},
		{
			name:    "settle window negative",
			env:     map[string]string{lambdafn.EnvSettleSeconds: "-1"},
			wantErr: `ATREST_SETTLE_SECONDS="-1"`,
		},
		{
			name:    "settle queue an ARN, not a URL",
			env:     map[string]string{lambdafn.EnvSettleQueue: "arn:aws:sqs:us-east-1:111122223333:atrest-settle"},
			wantErr: `ATREST_SETTLE_QUEUE="arn:aws:sqs:us-east-1:111122223333:atrest-settle" is not a queue URL`,
		},
		{
			name: "no ledger table: the ledger stays in memory",
			env:  map[string]string{lambdafn.EnvLedgerTable: ""},
			check: func(t *testing.T, s lambdafn.Settings) {
				if s.LedgerTable != "" {
					t.Errorf("LedgerTable %q", s.LedgerTable)
				}
			},
		},
		{
			name:    "ledger table an ARN, not a name",
			env:     map[string]string{lambdafn.EnvLedgerTable: "arn:aws:dynamodb:us-east-1:111122223333:table/atrest-ledger"},
			wantErr: `ATREST_LEDGER_TABLE="arn:aws:dynamodb:us-east-1:111122223333:table/atrest-ledger" is not a DynamoDB table name`,
		},
		{
			name:    "ledger table name too short",
			env:     map[string]string{lambdafn.EnvLedgerTable: "ab"},
			wantErr: `ATREST_LEDGER_TABLE="ab" is not a DynamoDB table name`,
		},
		{
			name:    "stack account not an account id",
			env:     map[string]string{lambdafn.EnvStackAccount: "11112222333"},
			wantErr: `ATREST_STACK_ACCOUNT="11112222333" is not an account id`,
		},
		{
			name:    "remediation age neither seconds nor a duration",
			env:     map[string]string{lambdafn.EnvRemediationMaxAge: "3600 s"},
			wantErr: `ATREST_REMEDIATION_MAX_AGE="3600 s"`,
		},
		{
			name:    "remediation age negative",
			env:     map[string]string{lambdafn.EnvRemediationMaxAge: "-1s"},
			wantErr: `ATREST_REMEDIATION_MAX_AGE="-1s"`,
		},
		{
			name:    "inflate bound zero",
			env:     map[string]string{lambdafn.EnvMaxInflatedBytes: "0"},
			wantErr: `ATREST_MAX_INFLATED_BYTES="0", want a number of bytes above 0`,
		},
		{
			name:    "inflate bound not a number",
			env:     map[string]string{lambdafn.EnvMaxInflatedBytes: "256MiB"},
			wantErr: `ATREST_MAX_INFLATED_BYTES="256MiB"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := lambdafn.FromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if !errors.Is(err, lambdafn.ErrSettings) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want ErrSettings naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s)
		})
	}
}

// The monitored accounts and regions join the rule config, which checks
// them: a bad entry stops the function at its cold start, naming it.
func TestMonitoredScopeIsValidated(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // "" for none
	}{
		{name: "valid", env: map[string]string{lambdafn.EnvMonitoredAccounts: "111122223333", lambdafn.EnvMonitoredRegions: "us-east-1"}},
		{name: "account not 12 digits", env: map[string]string{lambdafn.EnvMonitoredAccounts: "111122223333,12345"}, wantErr: `monitored_accounts[1] "12345" is not a 12-digit account id`},
		{name: "region not a region", env: map[string]string{lambdafn.EnvMonitoredRegions: "US East"}, wantErr: `monitored_regions[0] "US East" is not a region name`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := localEnv()
			maps.Copy(env, tc.env)
			s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			_, err = lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&output{}), &output{})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("NewMonitor: %v", err)
				}
				return
			}
			if !errors.Is(err, lambdafn.ErrSettings) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewMonitor: %v, want ErrSettings naming %s", err, tc.wantErr)
			}
		})
	}
}
