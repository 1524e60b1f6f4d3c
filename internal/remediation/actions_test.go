package remediation

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/findingsbus"
)

func TestMergeSecureTransport(t *testing.T) {
	deny := `{"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":{"AWS":"*"},"Sid":"AtrestDenyInsecureTransport"}`
	tests := []struct {
		name    string
		in      string
		want    string
		changed bool
	}{
		{
			name:    "no policy: default access plus deny",
			in:      "",
			want:    `{"Statement":[{"Action":["elasticfilesystem:ClientRootAccess","elasticfilesystem:ClientWrite","elasticfilesystem:ClientMount"],"Condition":{"Bool":{"elasticfilesystem:AccessedViaMountTarget":"true"}},"Effect":"Allow","Principal":{"AWS":"*"},"Sid":"AtrestDefaultClientAccess"}],"Version":"2012-10-17"}`,
			changed: true,
		},
		{
			name:    "existing statements and members kept",
			in:      `{"Version":"2012-10-17","Id":"mine","Statement":[{"Sid":"ro","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},"Action":"elasticfilesystem:ClientMount"}]}`,
			want:    `{"Id":"mine","Statement":[{"Action":"elasticfilesystem:ClientMount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},"Sid":"ro"},` + deny + `],"Version":"2012-10-17"}`,
			changed: true,
		},
		{
			name:    "single statement object becomes a list",
			in:      `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"elasticfilesystem:ClientMount"}}`,
			want:    `{"Statement":[{"Action":"elasticfilesystem:ClientMount","Effect":"Allow","Principal":"*"},` + deny + `],"Version":"2012-10-17"}`,
			changed: true,
		},
		{
			name:    "console's equivalent statement",
			in:      `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":{"AWS":"*"},"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			changed: false,
		},
		{
			name:    "client actions listed, boolean false",
			in:      `{"Statement":[{"Effect":"Deny","Principal":"*","Action":["elasticfilesystem:ClientMount","elasticfilesystem:ClientWrite","elasticfilesystem:ClientRootAccess"],"Condition":{"Bool":{"aws:SecureTransport":false}}}]}`,
			changed: false,
		},
		{
			name:    "a deny narrowed to one principal is not equivalent",
			in:      `{"Statement":[{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			want:    `{"Statement":[{"Action":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:root"}},` + deny + `]}`,
			changed: true,
		},
		{
			name:    "a deny of ClientWrite only is not equivalent",
			in:      `{"Statement":[{"Effect":"Deny","Principal":"*","Action":"elasticfilesystem:ClientWrite","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}`,
			want:    `{"Statement":[{"Action":"elasticfilesystem:ClientWrite","Condition":{"Bool":{"aws:SecureTransport":"false"}},"Effect":"Deny","Principal":"*"},` + deny + `]}`,
			changed: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, changed, err := MergeSecureTransport(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if tt.in == "" {
				// the deny follows the default access statement
				want = want[:len(`{"Statement":[`)] + want[len(`{"Statement":[`):len(want)-len(`],"Version":"2012-10-17"}`)] + "," + deny + `],"Version":"2012-10-17"}`
			}
			if !tt.changed {
				want = tt.in
			}
			if changed != tt.changed || got != want {
				t.Fatalf("changed %v\n got %s\nwant %s", changed, got, want)
			}
			if changed {
				again, changedAgain, err := MergeSecureTransport(got)
				if err != nil || changedAgain || again != got {
					t.Fatalf("second merge changed %v err %v", changedAgain, err)
				}
			}
		})
	}
	if _, _, err := MergeSecureTransport("{not json"); err == nil {
		t.Fatal("want an error for a malformed policy")
	}
}

type recordingPublisher struct{ outs []findingsbus.Outcome }

func (r *recordingPublisher) PublishOutcomes(_ context.Context, outs ...findingsbus.Outcome) error {
	r.outs = append(r.outs, outs...)
	return nil
}

type motoWorld struct {
	kms *kms.Client
	efs *efs.Client
	pub *recordingPublisher
	// calls counts every call the clients make, the test's own included.
	calls *awstest.Calls
}

func newWorld(t *testing.T) motoWorld {
	t.Helper()
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	cfg := awstest.Config(t, url)
	calls := &awstest.Calls{}
	calls.Install(&cfg)
	return motoWorld{kms: kms.NewFromConfig(cfg), efs: efs.NewFromConfig(cfg), pub: &recordingPublisher{}, calls: calls}
}

// mutatingCalls are the API calls that change a resource.
var mutatingCalls = []string{"EnableKeyRotation", "CancelKeyDeletion", "EnableKey", "PutFileSystemPolicy", "TagResource"}

// mutations counts the changing calls made since the counter was reset.
func (w motoWorld) mutations() map[string]int {
	m := map[string]int{}
	for _, op := range mutatingCalls {
		if n := w.calls.Get(op); n > 0 {
			m[op] = n
		}
	}
	return m
}

func (w motoWorld) actions(opts ActionOptions) *Actions {
	if opts.Accounts == nil {
		opts.Accounts = []string{awstest.Account}
	}
	if opts.Regions == nil {
		opts.Regions = []string{awstest.Region}
	}
	return &Actions{KMS: w.kms, EFS: w.efs, Publisher: w.pub, Options: opts, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
}

func (w motoWorld) key(t *testing.T) string {
	t.Helper()
	out, err := w.kms.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}

func (w motoWorld) fileSystem(t *testing.T, token string, encrypted bool, keyARN string) string {
	t.Helper()
	in := &efs.CreateFileSystemInput{CreationToken: aws.String(token), Encrypted: aws.Bool(encrypted)}
	if keyARN != "" {
		in.KmsKeyId = aws.String(keyARN)
	}
	out, err := w.efs.CreateFileSystem(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return arns.FileSystemARN(awstest.Region, awstest.Account, aws.ToString(out.FileSystemId))
}

func detail(t *testing.T, rule, resource string) json.RawMessage {
	t.Helper()
	f := finding.Finding{ID: finding.StableID(rule, resource, "ev"), Rule: rule, Status: finding.NonCompliant, Resource: resource, Account: awstest.Account, Region: awstest.Region}
	b, err := json.Marshal(findingsbus.FindingDetail{Finding: f, Remediation: findingsbus.Suggestion{Action: DefaultRuleActions()[rule]}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// step runs one action and checks its result.
func step(t *testing.T, a *Actions, d json.RawMessage, wantResult string) findingsbus.Outcome {
	t.Helper()
	var fd findingsbus.FindingDetail
	if err := json.Unmarshal(d, &fd); err != nil {
		t.Fatal(err)
	}
	out, err := a.Handle(context.Background(), fd)
	if err != nil {
		t.Fatalf("handle: %v (outcome %+v)", err, out)
	}
	if out.Result != wantResult {
		t.Fatalf("result %s (%s), want %s", out.Result, out.Reason, wantResult)
	}
	return out
}

func TestMotoEnableKeyRotation(t *testing.T) {
	w := newWorld(t)
	key := w.key(t)
	d := detail(t, "kms_key_rotation_enabled", key)
	rotation := func() bool {
		out, err := w.kms.GetKeyRotationStatus(context.Background(), &kms.GetKeyRotationStatusInput{KeyId: aws.String(arns.ResourceID(key))})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyRotationEnabled
	}
	out := step(t, w.actions(ActionOptions{}), d, ResultDryRun)
	if rotation() || !reflect.DeepEqual(out.Calls, []string{"kms:EnableKeyRotation"}) {
		t.Fatalf("dry run changed the key or calls %v", out.Calls)
	}
	step(t, w.actions(ActionOptions{EnableKeyRotation: true, Accounts: []string{"999999999999"}}), d, ResultRefused)
	step(t, w.actions(ActionOptions{EnableKeyRotation: true, Regions: []string{"eu-west-1"}}), d, ResultRefused)
	if rotation() {
		t.Fatal("refused action changed the key")
	}
	on := w.actions(ActionOptions{EnableKeyRotation: true, RotationPeriodDays: 180})
	out = step(t, on, d, ResultApplied)
	if !rotation() || !reflect.DeepEqual(out.Calls, []string{"kms:EnableKeyRotation RotationPeriodInDays=180"}) {
		t.Fatalf("rotation not enabled, calls %v", out.Calls)
	}
	out = step(t, on, d, ResultAlreadyCompliant)
	if len(out.Calls) != 0 {
		t.Fatalf("second run calls %v", out.Calls)
	}
	if len(w.pub.outs) != 5 || w.pub.outs[3].Result != ResultApplied || w.pub.outs[3].FindingID != finding.StableID("kms_key_rotation_enabled", key, "ev") {
		t.Fatalf("published outcomes %+v", w.pub.outs)
	}
}

func (w motoWorld) keyState(t *testing.T, key string) kmstypes.KeyState {
	t.Helper()
	out, err := w.kms.DescribeKey(context.Background(), &kms.DescribeKeyInput{KeyId: aws.String(arns.ResourceID(key))})
	if err != nil {
		t.Fatal(err)
	}
	return out.KeyMetadata.KeyState
}

// TestMotoCancelKeyDeletion runs the cancel_key_deletion path for each
// order in which a key can come to be pending deletion. A key disabled on
// purpose (tagged atrest:intended-disable) keeps its scheduled deletion,
// whichever came first; a key whose deletion is cancelled stays Disabled
// unless enable_key is opted in as well.
func TestMotoCancelKeyDeletion(t *testing.T) {
	ctx := context.Background()
	tag := func(t *testing.T, w motoWorld, key string) {
		t.Helper()
		if _, err := w.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(arns.ResourceID(key)),
			Tags: []kmstypes.Tag{{TagKey: aws.String(DefaultIntendedDisableTagKey), TagValue: aws.String("INC-7")}}}); err != nil {
			t.Fatal(err)
		}
	}
	disable := func(t *testing.T, w motoWorld, key string) {
		t.Helper()
		if _, err := w.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arns.ResourceID(key))}); err != nil {
			t.Fatal(err)
		}
	}
	schedule := func(t *testing.T, w motoWorld, key string) {
		t.Helper()
		if _, err := w.kms.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(arns.ResourceID(key)), PendingWindowInDays: aws.Int32(7)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name       string
		setup      func(t *testing.T, w motoWorld, key string)
		opts       ActionOptions
		result     string
		reason     string
		calls      []string
		mutations  map[string]int
		finalState kmstypes.KeyState
	}{
		{
			name: "disabled, tagged, then scheduled: refused",
			setup: func(t *testing.T, w motoWorld, key string) {
				disable(t, w, key)
				tag(t, w, key)
				schedule(t, w, key)
			},
			opts:       ActionOptions{CancelKeyDeletion: true, EnableKey: true},
			result:     ResultRefused,
			reason:     "key is tagged atrest:intended-disable: disabled on purpose, its deletion is left scheduled",
			mutations:  map[string]int{},
			finalState: kmstypes.KeyStatePendingDeletion,
		},
		{
			name:       "scheduled, no tag, enable_key off: cancelled and left Disabled",
			setup:      schedule,
			opts:       ActionOptions{CancelKeyDeletion: true},
			result:     ResultApplied,
			reason:     "deletion cancelled; key left Disabled (enable_key is not opted in); it protects ",
			calls:      []string{"kms:CancelKeyDeletion"},
			mutations:  map[string]int{"CancelKeyDeletion": 1},
			finalState: kmstypes.KeyStateDisabled,
		},
		{
			name:       "scheduled, no tag, enable_key on: cancelled and enabled",
			setup:      schedule,
			opts:       ActionOptions{CancelKeyDeletion: true, EnableKey: true},
			result:     ResultApplied,
			reason:     "deletion cancelled and key enabled; it protects ",
			calls:      []string{"kms:CancelKeyDeletion", "kms:EnableKey"},
			mutations:  map[string]int{"CancelKeyDeletion": 1, "EnableKey": 1},
			finalState: kmstypes.KeyStateEnabled,
		},
		{
			name: "scheduled, then tagged: refused",
			setup: func(t *testing.T, w motoWorld, key string) {
				schedule(t, w, key)
				tag(t, w, key)
			},
			opts:       ActionOptions{CancelKeyDeletion: true, EnableKey: true},
			result:     ResultRefused,
			reason:     "key is tagged atrest:intended-disable: disabled on purpose, its deletion is left scheduled",
			mutations:  map[string]int{},
			finalState: kmstypes.KeyStatePendingDeletion,
		},
		{
			name:       "scheduled, not opted in: dry run of the cancel alone",
			setup:      schedule,
			opts:       ActionOptions{},
			result:     ResultDryRun,
			reason:     "action not opted in",
			calls:      []string{"kms:CancelKeyDeletion"},
			mutations:  map[string]int{},
			finalState: kmstypes.KeyStatePendingDeletion,
		},
		{
			name:       "scheduled, enable_key alone opted in: dry run names both calls",
			setup:      schedule,
			opts:       ActionOptions{EnableKey: true},
			result:     ResultDryRun,
			reason:     "action not opted in",
			calls:      []string{"kms:CancelKeyDeletion", "kms:EnableKey"},
			mutations:  map[string]int{},
			finalState: kmstypes.KeyStatePendingDeletion,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			key := w.key(t)
			fs := w.fileSystem(t, "live", true, key)
			tt.setup(t, w, key)
			w.calls.Reset()
			out := step(t, w.actions(tt.opts), detail(t, "efs_kms_key_available", key), tt.result)
			reason := tt.reason
			if strings.HasSuffix(reason, "it protects ") {
				reason += arns.ResourceID(fs)
			}
			if out.Reason != reason || !reflect.DeepEqual(out.Calls, tt.calls) {
				t.Errorf("outcome reason %q calls %v\nwant reason %q calls %v", out.Reason, out.Calls, reason, tt.calls)
			}
			if got := w.mutations(); !reflect.DeepEqual(got, tt.mutations) {
				t.Errorf("mutating calls %v, want %v", got, tt.mutations)
			}
			if s := w.keyState(t, key); s != tt.finalState {
				t.Errorf("key state %s, want %s", s, tt.finalState)
			}
		})
	}

	t.Run("enabled key and key no file system uses", func(t *testing.T) {
		w := newWorld(t)
		key := w.key(t)
		orphan := w.key(t)
		w.fileSystem(t, "live", true, key)
		schedule(t, w, orphan)
		on := w.actions(ActionOptions{CancelKeyDeletion: true, EnableKey: true})
		step(t, on, detail(t, "efs_kms_key_available", key), ResultAlreadyCompliant)
		out := step(t, on, detail(t, "efs_kms_key_available", orphan), ResultSkipped)
		if s := w.keyState(t, orphan); s != kmstypes.KeyStatePendingDeletion || out.Reason != "no live file system uses the key" {
			t.Fatalf("orphan key state %s reason %q", s, out.Reason)
		}
	})
}

func TestMotoEnableKey(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	key := w.key(t)
	intended := w.key(t)
	w.fileSystem(t, "a", true, key)
	w.fileSystem(t, "b", true, intended)
	for _, k := range []string{key, intended} {
		if _, err := w.kms.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(arns.ResourceID(k))}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.kms.TagResource(ctx, &kms.TagResourceInput{KeyId: aws.String(arns.ResourceID(intended)),
		Tags: []kmstypes.Tag{{TagKey: aws.String("ops:disabled-on-purpose"), TagValue: aws.String("INC-42")}}}); err != nil {
		t.Fatal(err)
	}
	d := detail(t, "efs_kms_key_available", key)
	step(t, w.actions(ActionOptions{}), d, ResultDryRun)
	if s := w.keyState(t, key); s != kmstypes.KeyStateDisabled {
		t.Fatalf("dry run: state %s", s)
	}
	on := w.actions(ActionOptions{EnableKey: true, IntendedDisableTagKey: "ops:disabled-on-purpose"})
	step(t, on, d, ResultApplied)
	if s := w.keyState(t, key); s != kmstypes.KeyStateEnabled {
		t.Fatalf("state %s, want Enabled", s)
	}
	step(t, on, d, ResultAlreadyCompliant)
	out := step(t, on, detail(t, "efs_kms_key_available", intended), ResultSkipped)
	if s := w.keyState(t, intended); s != kmstypes.KeyStateDisabled || out.Reason != "key is tagged ops:disabled-on-purpose: disabled on purpose" {
		t.Fatalf("intended disable: state %s reason %q", s, out.Reason)
	}
}

func (w motoWorld) policy(t *testing.T, fsARN string) string {
	t.Helper()
	out, err := w.efs.DescribeFileSystemPolicy(context.Background(), &efs.DescribeFileSystemPolicyInput{FileSystemId: aws.String(arns.ResourceID(fsARN))})
	if err != nil {
		var nf *efstypes.PolicyNotFound
		if errorsAs(err, &nf) {
			return ""
		}
		t.Fatal(err)
	}
	return aws.ToString(out.Policy)
}

func TestMotoRequireSecureTransport(t *testing.T) {
	w := newWorld(t)
	bare := w.fileSystem(t, "bare", true, "")
	withPolicy := w.fileSystem(t, "with-policy", true, "")
	existing := `{"Version":"2012-10-17","Id":"mine","Statement":[{"Sid":"app","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/app"},"Action":"elasticfilesystem:ClientMount"}]}`
	if _, err := w.efs.PutFileSystemPolicy(context.Background(), &efs.PutFileSystemPolicyInput{FileSystemId: aws.String(arns.ResourceID(withPolicy)), Policy: aws.String(existing)}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		fs   string
		prev string
	}{{"no policy", bare, ""}, {"existing policy", withPolicy, existing}} {
		t.Run(tt.name, func(t *testing.T) {
			d := detail(t, "efs_encryption_in_transit_enforced", tt.fs)
			step(t, w.actions(ActionOptions{}), d, ResultDryRun)
			if got := w.policy(t, tt.fs); got != tt.prev {
				t.Fatalf("dry run changed the policy to %s", got)
			}
			on := w.actions(ActionOptions{RequireSecureTransport: true})
			step(t, on, d, ResultApplied)
			want, _, _ := MergeSecureTransport(tt.prev)
			got := w.policy(t, tt.fs)
			if got != want {
				t.Fatalf("policy\n got %s\nwant %s", got, want)
			}
			step(t, on, d, ResultAlreadyCompliant)
			if again := w.policy(t, tt.fs); again != got {
				t.Fatalf("second run changed the policy")
			}
		})
	}
}

func TestMotoTagUnencrypted(t *testing.T) {
	w := newWorld(t)
	plain := w.fileSystem(t, "plain", false, "")
	encrypted := w.fileSystem(t, "enc", true, "")
	tags := func(fs string) []string {
		out, err := w.efs.DescribeFileSystems(context.Background(), &efs.DescribeFileSystemsInput{FileSystemId: aws.String(arns.ResourceID(fs))})
		if err != nil {
			t.Fatal(err)
		}
		var ts []string
		for _, tg := range out.FileSystems[0].Tags {
			ts = append(ts, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		return ts
	}
	d := detail(t, "efs_encrypted_at_rest", plain)
	step(t, w.actions(ActionOptions{}), d, ResultDryRun)
	if got := tags(plain); len(got) != 0 {
		t.Fatalf("dry run tagged: %v", got)
	}
	on := w.actions(ActionOptions{TagUnencrypted: true})
	step(t, on, d, ResultApplied)
	if got := tags(plain); !reflect.DeepEqual(got, []string{"atrest:noncompliant=efs_encrypted_at_rest"}) {
		t.Fatalf("tags %v", got)
	}
	step(t, on, d, ResultAlreadyCompliant)
	step(t, on, detail(t, "efs_encrypted_at_rest", encrypted), ResultSkipped)
	if got := tags(encrypted); len(got) != 0 {
		t.Fatalf("encrypted file system tagged: %v", got)
	}
	// A file system deleted since the finding is skipped.
	gone := arns.FileSystemARN(awstest.Region, awstest.Account, "fs-00000000000000000")
	step(t, on, detail(t, "efs_encrypted_at_rest", gone), ResultSkipped)
}

func TestHandleRefusesWhatItDoesNotAct(t *testing.T) {
	a := &Actions{Options: ActionOptions{Accounts: []string{awstest.Account}, Regions: []string{awstest.Region}, EnableKeyRotation: true}, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	key := arns.KeyARN(awstest.Region, awstest.Account, "k1")
	compliant := findingsbus.FindingDetail{Finding: finding.Finding{Rule: "kms_key_rotation_enabled", Status: finding.Compliant, Resource: key}}
	unknown := findingsbus.FindingDetail{Finding: finding.Finding{Rule: "some_rule", Status: finding.NonCompliant, Resource: key}}
	for _, tt := range []struct {
		name   string
		d      findingsbus.FindingDetail
		result string
		reason string
	}{
		{"compliant", compliant, ResultSkipped, "finding is COMPLIANT"},
		{"no action", unknown, ResultSkipped, "no automated action for rule some_rule"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := a.Handle(context.Background(), tt.d)
			if err != nil || out.Result != tt.result || out.Reason != tt.reason {
				t.Fatalf("outcome %+v err %v", out, err)
			}
		})
	}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

// TestMotoForgedFindingEventsAreRefused delivers finding events anyone
// allowed to put events on the bus could forge: each is refused with its
// reason and no call reaches KMS or EFS.
func TestMotoForgedFindingEventsAreRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	key := w.key(t)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	guard := &Guard{Account: awstest.Account, MaxAge: time.Hour, Now: func() time.Time { return now }}
	a := w.actions(ActionOptions{EnableKeyRotation: true, CancelKeyDeletion: true, EnableKey: true, RequireSecureTransport: true, TagUnencrypted: true})
	a.Guard = guard
	rotation := func() bool {
		t.Helper()
		out, err := w.kms.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(arns.ResourceID(key))})
		if err != nil {
			t.Fatal(err)
		}
		return out.KeyRotationEnabled
	}
	var rotationOff findingsbus.FindingDetail
	if err := json.Unmarshal(detail(t, "kms_key_rotation_enabled", key), &rotationOff); err != nil {
		t.Fatal(err)
	}
	mismatch := rotationOff
	mismatch.Remediation.Action = ActionCancelKeyDeletion

	// A genuine event is acted on once.
	genuine := Delivery{ID: "ev-genuine", Account: awstest.Account, Time: now.Add(-time.Minute)}
	if out, err := a.HandleDelivery(ctx, genuine, rotationOff); err != nil || out.Result != ResultApplied || !rotation() {
		t.Fatalf("genuine event: outcome %+v err %v", out, err)
	}
	if _, err := w.kms.DisableKeyRotation(ctx, &kms.DisableKeyRotationInput{KeyId: aws.String(arns.ResourceID(key))}); err != nil {
		t.Fatal(err)
	}

	reads := []string{"DescribeKey", "GetKeyRotationStatus", "ListResourceTags", "DescribeFileSystems", "DescribeFileSystemPolicy"}
	tests := []struct {
		name   string
		guard  *Guard
		del    Delivery
		d      findingsbus.FindingDetail
		reason string
	}{
		{
			name:   "wrong account",
			guard:  guard,
			del:    Delivery{ID: "ev-1", Account: "999999999999", Time: now},
			d:      rotationOff,
			reason: `event put in account "999999999999", not the stack's account 123456789012`,
		},
		{
			name:   "rule and action mismatch",
			guard:  guard,
			del:    Delivery{ID: "ev-2", Account: awstest.Account, Time: now},
			d:      mismatch,
			reason: `event names action "cancel_key_deletion", but rule "kms_key_rotation_enabled" is remediated by "enable_key_rotation"`,
		},
		{
			name:   "stale",
			guard:  guard,
			del:    Delivery{ID: "ev-3", Account: awstest.Account, Time: now.Add(-61 * time.Minute)},
			d:      rotationOff,
			reason: "event time 2026-12-02T08:59:00Z is older than the 1h0m0s allowed",
		},
		{
			name:   "in the future",
			guard:  guard,
			del:    Delivery{ID: "ev-4", Account: awstest.Account, Time: now.Add(time.Hour)},
			d:      rotationOff,
			reason: "event time 2026-12-02T11:00:00Z is in the future",
		},
		{
			name:   "replayed",
			guard:  guard,
			del:    genuine,
			d:      rotationOff,
			reason: "event ev-genuine was handled already (a replay)",
		},
		{
			name:   "no guard",
			guard:  nil,
			del:    Delivery{ID: "ev-5", Account: awstest.Account, Time: now},
			d:      rotationOff,
			reason: "no guard is configured: no event is trusted",
		},
		{
			name:   "stack account not configured",
			guard:  &Guard{MaxAge: time.Hour, Now: guard.Now},
			del:    Delivery{ID: "ev-6", Account: "", Time: now},
			d:      rotationOff,
			reason: "the stack's account is not configured: no event is trusted",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w.calls.Reset()
			a.Guard = tt.guard
			out, err := a.HandleDelivery(ctx, tt.del, tt.d)
			if err != nil || out.Result != ResultRefused || out.Reason != tt.reason {
				t.Fatalf("outcome %s %q err %v\nwant refused %q", out.Result, out.Reason, err, tt.reason)
			}
			if out.Action != ActionEnableKeyRotation || len(out.Calls) != 0 {
				t.Errorf("outcome action %q calls %v", out.Action, out.Calls)
			}
			if got := w.mutations(); len(got) != 0 {
				t.Errorf("mutating calls %v", got)
			}
			for _, op := range reads {
				if n := w.calls.Get(op); n != 0 {
					t.Errorf("%d %s calls", n, op)
				}
			}
			if last := w.pub.outs[len(w.pub.outs)-1]; last.Result != ResultRefused || last.Reason != tt.reason {
				t.Errorf("published outcome %+v", last)
			}
		})
	}
	if rotation() {
		t.Fatal("a refused event turned rotation on")
	}

	// An admitted event whose finding the live resource no longer bears
	// out changes nothing: the action re-checks the rule's condition.
	if _, err := w.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(arns.ResourceID(key))}); err != nil {
		t.Fatal(err)
	}
	w.calls.Reset()
	a.Guard = guard
	out, err := a.HandleDelivery(ctx, Delivery{ID: "ev-stale-claim", Account: awstest.Account, Time: now}, rotationOff)
	if err != nil || out.Result != ResultAlreadyCompliant || out.Reason != "rotation is enabled" || len(w.mutations()) != 0 {
		t.Fatalf("outcome %+v err %v mutations %v", out, err, w.mutations())
	}
}

func TestGuardForgetsFailedEvents(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	g := &Guard{Account: awstest.Account, MaxAge: time.Hour, Now: func() time.Time { return now }}
	d := Delivery{ID: "ev", Account: awstest.Account, Time: now}
	if r := g.Admit(d); r != "" {
		t.Fatalf("first delivery refused: %s", r)
	}
	if r := g.Admit(d); r != "event ev was handled already (a replay)" {
		t.Fatalf("second delivery: %q", r)
	}
	g.Forget("ev")
	if r := g.Admit(d); r != "" {
		t.Fatalf("delivery after Forget refused: %s", r)
	}
	// An id is remembered only as long as its event is young enough.
	now = now.Add(2 * time.Hour)
	if r := g.Admit(Delivery{ID: "other", Account: awstest.Account, Time: now}); r != "" || len(g.handled) != 1 {
		t.Fatalf("refused %q, %d ids remembered", r, len(g.handled))
	}
}
