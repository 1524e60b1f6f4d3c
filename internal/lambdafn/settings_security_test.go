package lambdafn

import (
	"errors"
	"testing"
	"time"
)

func TestSecuritySettings(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		stackAccount string
		maxAge       time.Duration
		bucket       string
		err          string
	}{
		{name: "defaults", env: map[string]string{EnvAccount: "123456789012"}, stackAccount: "123456789012", maxAge: time.Hour},
		{name: "set", env: map[string]string{EnvAccount: "123456789012", EnvStackAccount: "210987654321", EnvRemediationMaxAge: "90", EnvTrailBucket: " trail "},
			stackAccount: "210987654321", maxAge: 90 * time.Second, bucket: "trail"},
		{name: "age as a duration", env: map[string]string{EnvAccount: "123456789012", EnvRemediationMaxAge: "1h30m"},
			stackAccount: "123456789012", maxAge: 90 * time.Minute},
		{name: "age neither seconds nor a duration", env: map[string]string{EnvRemediationMaxAge: "an hour"},
			err: `bad setting: ATREST_REMEDIATION_MAX_AGE="an hour", want a positive number of seconds or a duration such as "1h"`},
		{name: "age zero", env: map[string]string{EnvRemediationMaxAge: "0"},
			err: `bad setting: ATREST_REMEDIATION_MAX_AGE="0", want a positive number of seconds`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.err != "" {
				if err == nil || err.Error() != tt.err || !errors.Is(err, ErrSettings) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || s.StackAccount != tt.stackAccount || s.RemediationMaxAge != tt.maxAge || s.TrailBucket != tt.bucket {
				t.Fatalf("settings %q %v %q err %v", s.StackAccount, s.RemediationMaxAge, s.TrailBucket, err)
			}
		})
	}
}
