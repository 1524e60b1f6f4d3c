package lambdafn_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/lambdafn"
)

// A record of an account not in ATREST_MONITORED_ACCOUNTS is refused before
// any read: with the organization role configured, it neither makes the live
// store assume a role in that account nor adds an Account metric dimension.
// A listed account does (the test's control), so the test can fail.
//
// The record is events/01 (CloudTrail's CreateKey record, as the AWS
// documentation gives it:
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html),
// its account replaced by the account under test.
func TestMonitoredAccountsBoundReads(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	const (
		listed   = "444455556666"
		unlisted = "999988887777"
	)
	env := awsEnv(endpoint)
	env[lambdafn.EnvOrganizationRole] = "atrest-reader"
	env[lambdafn.EnvOrganizationExternalID] = "atrest-test-external-id"
	env[lambdafn.EnvMonitoredAccounts] = awstest.Account + "," + listed
	env[lambdafn.EnvTraceAWSCalls] = "true"
	env[lambdafn.EnvFindingsBus] = "" // no bus: only the store's reads are traced
	for k, v := range env {
		t.Setenv(k, v) // the SDK reads its configuration from the process
	}
	s, err := lambdafn.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	sample := readEvent(t, "01-eventbridge-kms-createkey-symmetric.json")

	tests := []struct {
		name        string
		account     string
		wantAssume  bool
		wantRefused bool
	}{
		{name: "unlisted account", account: unlisted, wantAssume: false, wantRefused: true},
		{name: "listed account", account: listed, wantAssume: true, wantRefused: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs, stdout bytes.Buffer
			m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&logs), &stdout)
			if err != nil {
				t.Fatal(err)
			}
			event := bytes.ReplaceAll(sample, []byte("111122223333"), []byte(tc.account))
			if err := m.TrailEvents(context.Background(), json.RawMessage(event)); err != nil {
				t.Fatal(err)
			}
			assumed := strings.Contains(logs.String(), `"action":"sts:AssumeRole"`)
			if assumed != tc.wantAssume {
				t.Errorf("sts:AssumeRole called %v, want %v\n%s", assumed, tc.wantAssume, logs.String())
			}
			if tc.wantRefused {
				if strings.Contains(stdout.String(), `"Account"`) {
					t.Errorf("an Account metric dimension was made:\n%s", stdout.String())
				}
				if strings.Contains(logs.String(), `"msg":"finding"`) {
					t.Errorf("a refused record gave findings:\n%s", logs.String())
				}
				if strings.Contains(logs.String(), `"msg":"aws call"`) {
					t.Errorf("a refused record made AWS calls:\n%s", logs.String())
				}
				// A record the pipeline refuses to apply is bad input, as
				// one that does not decode: the CLI counts it the same way.
				v, ok := emfValue(emfDocs(t, stdout.String()), "DecodeErrors", "Source", "eventbridge")
				if !ok || v != 1.0 {
					t.Errorf("DecodeErrors = %v, want 1 (the refused record)", v)
				}
			}
		})
	}
}

// emfDocs parses EMF lines.
func emfDocs(t *testing.T, out string) []map[string]any {
	t.Helper()
	var docs []map[string]any
	for line := range strings.SplitSeq(out, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("EMF line is not JSON: %s", line)
		}
		docs = append(docs, v)
	}
	return docs
}
