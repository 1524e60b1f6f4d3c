package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

const (
	acct   = "111122223333"
	region = "us-east-1"
	keyID  = "1234abcd-12ab-34cd-56ef-1234567890ab"
	fsID   = "fs-0123456789abcdef0"
)

var (
	keyARN = arns.KeyARN(region, acct, keyID)
	fsARN  = arns.FileSystemARN(region, acct, fsID)
	t0     = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
)

var engine = sync.OnceValues(func() (*policy.Engine, error) { return policy.New(context.Background()) })

func newPipeline(t *testing.T, store state.Store) *Pipeline {
	t.Helper()
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Store: store, Engine: e, Config: config.Default()})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// record returns the JSON of one CloudTrail record at t0+minutes.
func record(id string, minutes int, source, name, req, resp string) map[string]any {
	r := map[string]any{
		"eventVersion": "1.08", "eventID": id, "eventTime": t0.Add(time.Duration(minutes) * time.Minute).Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": region, "recipientAccountId": acct,
		"userIdentity": map[string]any{"type": "IAMUser", "accountId": acct},
	}
	if req != "" {
		r["requestParameters"] = json.RawMessage(req)
	}
	if resp != "" {
		r["responseElements"] = json.RawMessage(resp)
	}
	return r
}

func keyEvent(id string, minutes int, name string) map[string]any {
	r := record(id, minutes, cloudtrail.SourceKMS, name, fmt.Sprintf(`{"keyId":%q}`, keyID), "")
	r["resources"] = []any{map[string]any{"ARN": keyARN, "accountId": acct, "type": "AWS::KMS::Key"}}
	return r
}

var (
	createKey = record("ck", 0, cloudtrail.SourceKMS, "CreateKey", `{"keySpec":"SYMMETRIC_DEFAULT"}`,
		fmt.Sprintf(`{"keyMetadata":{"keyId":%q,"arn":%q,"keyUsage":"ENCRYPT_DECRYPT","keyState":"Enabled","origin":"AWS_KMS","keyManager":"CUSTOMER","keySpec":"SYMMETRIC_DEFAULT"}}`, keyID, keyARN))
	createFS = record("cf", 1, cloudtrail.SourceEFS, "CreateFileSystem", fmt.Sprintf(`{"encrypted":true,"kmsKeyId":%q}`, keyID),
		fmt.Sprintf(`{"fileSystemId":%q,"fileSystemArn":%q,"encrypted":true,"kmsKeyId":%q}`, fsID, fsARN, keyARN))
)

func logFile(t *testing.T, recs ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type collected []finding.Finding

func (c *collected) emit(f finding.Finding) error { *c = append(*c, f); return nil }

// last returns the last finding of a rule, or fails.
func (c collected) last(t *testing.T, rule string) finding.Finding {
	t.Helper()
	for i := len(c) - 1; i >= 0; i-- {
		if c[i].Rule == rule {
			return c[i]
		}
	}
	t.Fatalf("no %s finding in %d findings", rule, len(c))
	return finding.Finding{}
}

func TestRecordsJudgedInEventTimeOrder(t *testing.T) {
	// The file lists DisableKey (minute 10) before EnableKey (minute 5):
	// judged by eventTime, the key ends disabled.
	in := logFile(t, createKey, createFS, keyEvent("d", 10, "DisableKey"), keyEvent("e", 5, "EnableKey"))
	var got collected
	rep, err := newPipeline(t, state.NewMemory()).ProcessInput(context.Background(), "log.json", strings.NewReader(in), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	f := got.last(t, "efs_kms_key_available")
	if f.Status != finding.NonCompliant || f.EventName != "DisableKey" {
		t.Errorf("last availability finding = %s after %s, want NON_COMPLIANT after DisableKey", f.Status, f.EventName)
	}
	if len(f.FileSystems) != 1 || f.FileSystems[0] != fsARN {
		t.Errorf("blast radius = %v, want [%s]", f.FileSystems, fsARN)
	}
	if rep.Processed != 4 || rep.Findings != len(got) {
		t.Errorf("report = %+v", rep)
	}
}

func TestDuplicatesAndFailedCalls(t *testing.T) {
	failed := keyEvent("f", 3, "DisableKey")
	failed["errorCode"] = "AccessDeniedException"
	unrelated := record("u", 4, "sts.amazonaws.com", "AssumeRole", `{}`, "")
	p := newPipeline(t, state.NewMemory())
	var got collected
	rep, err := p.ProcessInput(context.Background(), "a.json", strings.NewReader(logFile(t, createKey, createKey, failed, unrelated)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	// A second input delivering the same record again is also a duplicate.
	rep2, err := p.ProcessInput(context.Background(), "b.json", strings.NewReader(logFile(t, createKey)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Processed != 2 || rep.Duplicates != 1 || rep.Failed != 1 || rep.Decode.Skipped != 1 || rep2.Duplicates != 1 || rep2.Processed != 0 {
		t.Errorf("reports = %+v / %+v", rep, rep2)
	}
	// CreateKey is judged once: five key rules, one finding each.
	if len(got) != 5 {
		t.Errorf("got %d findings, want 5: %+v", len(got), got)
	}
	if f := got.last(t, "kms_key_rotation_enabled"); f.Status != finding.NonCompliant || f.EventID != "ck" {
		t.Errorf("rotation finding = %+v", f)
	}
}

func TestBadRecordKeepsTheRest(t *testing.T) {
	bad := record("bad", 2, cloudtrail.SourceEFS, "CreateFileSystem", `{"encrypted":"false"}`, `{"fileSystemId":"fs-1"}`)
	var got collected
	rep, err := newPipeline(t, state.NewMemory()).ProcessInput(context.Background(), "x.json",
		strings.NewReader(logFile(t, bad, createKey)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ApplyErrors) != 1 || !errors.Is(rep.ApplyErrors[0], state.ErrBadRecord) ||
		!strings.Contains(rep.ApplyErrors[0].Error(), "bad") || !strings.Contains(rep.ApplyErrors[0].Error(), "encrypted") {
		t.Errorf("apply errors = %v", rep.ApplyErrors)
	}
	if len(got) != 5 || got[0].EventID != "ck" {
		t.Errorf("the valid CreateKey must still be judged: %+v", got)
	}
}

// failingStore answers reads of keys with an error, as a denied AWS read does.
type failingStore struct{ *state.Memory }

func (f failingStore) Key(context.Context, string) (*state.Key, error) {
	return nil, errors.New("AccessDeniedException: kms:DescribeKey")
}

func TestStoreErrorsBecomeErrorFindings(t *testing.T) {
	var got collected
	rep, err := newPipeline(t, failingStore{state.NewMemory()}).ProcessInput(context.Background(), "x.json",
		strings.NewReader(logFile(t, createKey)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 || rep.EvalErrors != 5 {
		t.Fatalf("got %d findings (%d errors), want 5 ERROR findings", len(got), rep.EvalErrors)
	}
	for _, f := range got {
		if f.Status != finding.Error || !strings.Contains(f.Reason, "kms:DescribeKey") || f.Title == "" {
			t.Errorf("finding = %+v, want ERROR naming the denied permission", f)
		}
	}
}

func TestEvaluateResourceForSweep(t *testing.T) {
	m := state.NewMemory()
	m.Put([]state.FileSystem{{ARN: fsARN, ID: fsID, Account: acct, Region: region, Known: true}}, nil)
	fs, err := newPipeline(t, m).EvaluateResource(context.Background(), state.ResourceRef{Type: state.TypeFileSystem, ARN: fsARN}, "sweep")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]finding.Status{}
	for _, f := range fs {
		got[f.Rule] = f.Status
		if f.EventID != "" || f.Source != "sweep" || f.ID != finding.StableID(f.Rule, fsARN, "") {
			t.Errorf("sweep finding = %+v", f)
		}
	}
	want := map[string]finding.Status{"efs_encrypted_at_rest": finding.NonCompliant, "efs_encryption_in_transit_enforced": finding.NonCompliant}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
}

// A policy put on a file system whose creation was never seen says nothing
// of its encryption: NOT_APPLICABLE, never a false NON_COMPLIANT.
func TestUnseenFileSystemIsNotJudgedUnencrypted(t *testing.T) {
	put := record("p", 5, cloudtrail.SourceEFS, "PutFileSystemPolicy",
		fmt.Sprintf(`{"fileSystemId":%q,"policy":"{\"Statement\":[{\"Effect\":\"Deny\",\"Principal\":{\"AWS\":\"*\"},\"Action\":\"*\",\"Condition\":{\"Bool\":{\"aws:SecureTransport\":\"false\"}}}]}"}`, fsID), "")
	var got collected
	if _, err := newPipeline(t, state.NewMemory()).ProcessInput(context.Background(), "p.json",
		strings.NewReader(logFile(t, put)), got.emit); err != nil {
		t.Fatal(err)
	}
	want := map[string]finding.Status{"efs_encrypted_at_rest": finding.NotApplicable, "efs_encryption_in_transit_enforced": finding.Compliant}
	if len(got) != 2 || got.last(t, "efs_encrypted_at_rest").Status != want["efs_encrypted_at_rest"] ||
		got.last(t, "efs_encryption_in_transit_enforced").Status != want["efs_encryption_in_transit_enforced"] {
		t.Errorf("findings = %+v, want %v", got, want)
	}
}

// A record from an account or region outside the configured scope is bad
// input: reported, no state change, no finding; the others are judged.
func TestRecordsOutsideMonitoredScope(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.MonitoredAccounts = []string{acct}
	cfg.MonitoredRegions = []string{region}
	p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	otherAccount := keyEvent("x1", 2, "DisableKey")
	otherAccount["recipientAccountId"] = "999988887777"
	otherRegion := keyEvent("x2", 3, "DisableKey")
	otherRegion["awsRegion"] = "ap-south-2"
	var got collected
	rep, err := p.ProcessInput(context.Background(), "scope.json", strings.NewReader(logFile(t, createKey, otherAccount, otherRegion)), got.emit)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.ApplyErrors) != 2 || !errors.Is(rep.ApplyErrors[0], ErrNotMonitored) || !errors.Is(rep.ApplyErrors[1], ErrNotMonitored) ||
		!strings.Contains(rep.ApplyErrors[0].Error(), `"999988887777"`) || !strings.Contains(rep.ApplyErrors[1].Error(), `"ap-south-2"`) {
		t.Errorf("errors = %v", rep.ApplyErrors)
	}
	if len(got) != 5 || got[0].EventID != "ck" || got.last(t, "kms_key_rotation_enabled").EventID != "ck" {
		t.Errorf("only CreateKey may be judged: %+v", got)
	}
}

// The key policy rule evaluates the calls EFS makes to the key as the
// principal that created the file system. CreateKey follows the KMS guide's
// example entry (https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html);
// CreateFileSystem has no documented entry and follows the API reference
// (https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html), its
// userIdentity the CloudTrail guide's IAM user and assumed-role shapes
// (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html).
func TestKeyPolicyJudgedForTheFileSystemCreator(t *testing.T) {
	keyPolicy := `{"Version":"2012-10-17","Statement":[` +
		`{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:Describe*","kms:List*","kms:Get*","kms:Put*"],"Resource":"*"},` +
		`{"Sid":"AllowEFS","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/StorageAdmin"},"Action":["kms:Decrypt","kms:GenerateDataKey*","kms:CreateGrant","kms:DescribeKey"],"Resource":"*",` +
		`"Condition":{"StringEquals":{"kms:ViaService":"elasticfilesystem.us-east-1.amazonaws.com"}}}]}`
	createKeyWithPolicy := record("ck", 0, cloudtrail.SourceKMS, "CreateKey",
		fmt.Sprintf(`{"keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT","origin":"AWS_KMS","bypassPolicyLockoutSafetyCheck":false,"policy":%q}`, keyPolicy),
		string(createKey["responseElements"].(json.RawMessage)))
	byRole := map[string]any{"type": "AssumedRole", "principalId": "AROAIDPPEZS35WEXAMPLE:deploy",
		"arn": "arn:aws:sts::111122223333:assumed-role/StorageAdmin/deploy", "accountId": acct,
		"sessionContext": map[string]any{"sessionIssuer": map[string]any{"type": "Role", "arn": "arn:aws:iam::111122223333:role/StorageAdmin", "accountId": acct, "userName": "StorageAdmin"}}}
	byUser := map[string]any{"type": "IAMUser", "principalId": "AIDAJ45Q7YFFAREXAMPLE", "arn": "arn:aws:iam::111122223333:user/Alice", "accountId": acct, "userName": "Alice"}
	tests := []struct {
		name     string
		identity map[string]any
		want     finding.Status
		reason   string
	}{
		{"created by a session of the allowed role", byRole, finding.Compliant,
			"for " + fsID + " (created by arn:aws:sts::111122223333:assumed-role/StorageAdmin/deploy): statement AllowEFS allows EFS kms:CreateGrant, kms:Decrypt, kms:DescribeKey, kms:GenerateDataKeyWithoutPlaintext"},
		{"created by a user the key policy leaves out", byUser, finding.NonCompliant,
			"key policy blocks EFS: for " + fsID + " (created by arn:aws:iam::111122223333:user/Alice): no statement allows kms:CreateGrant, kms:Decrypt, kms:GenerateDataKeyWithoutPlaintext"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			create := record("cf", 1, cloudtrail.SourceEFS, "CreateFileSystem", fmt.Sprintf(`{"creationToken":"tok","encrypted":true,"kmsKeyId":%q}`, keyID),
				fmt.Sprintf(`{"ownerId":%q,"fileSystemId":%q,"fileSystemArn":%q,"lifeCycleState":"creating","encrypted":true,"kmsKeyId":%q}`, acct, fsID, fsARN, keyARN))
			create["userIdentity"] = tc.identity
			store := state.NewMemory()
			var got collected
			if _, err := newPipeline(t, store).ProcessInput(context.Background(), "k.json",
				strings.NewReader(logFile(t, createKeyWithPolicy, create)), got.emit); err != nil {
				t.Fatal(err)
			}
			f := got.last(t, "efs_kms_key_policy_grants_efs")
			if f.Status != tc.want || f.Reason != tc.reason {
				t.Errorf("finding = %s %q\nwant %s %q", f.Status, f.Reason, tc.want, tc.reason)
			}
			in, _, err := BuildInput(context.Background(), store, state.ResourceRef{Type: state.TypeKey, ARN: keyARN}, nil, config.Default())
			if err != nil {
				t.Fatal(err)
			}
			wantRef := policy.FileSystemRef{ARN: fsARN, ID: fsID, Account: acct, Region: region, Creator: tc.identity["arn"].(string)}
			if len(in.FileSystems) != 1 || in.FileSystems[0] != wantRef {
				t.Errorf("file_systems = %+v, want [%+v]", in.FileSystems, wantRef)
			}
		})
	}
}

// TestEvaluateResourcesJudgesTheNamedRules: each check gives, in order,
// what EvaluateResource gives of the rules it names: every rule of its type
// without names, none for a rule of another type or no rule. Only the named
// rules are evaluated, and a check by some rules does not mark the resource
// judged: the next record touching it has every rule judge it, as on a
// pipeline that never checked it.
func TestEvaluateResourcesJudgesTheNamedRules(t *testing.T) {
	ctx := context.Background()
	key := state.ResourceRef{Type: state.TypeKey, ARN: keyARN}
	fs := state.ResourceRef{Type: state.TypeFileSystem, ARN: fsARN}
	setUp := func() *Pipeline {
		p := newPipeline(t, state.NewMemory())
		if _, err := p.ProcessInput(ctx, "x.json", strings.NewReader(logFile(t, createKey, createFS)), discard); err != nil {
			t.Fatal(err)
		}
		return p
	}
	summary := func(fs []finding.Finding, err error, only ...string) string {
		var out []string
		for _, f := range fs {
			if len(only) == 0 || slices.Contains(only, f.Rule) {
				out = append(out, f.Rule+" "+f.Resource+" "+string(f.Status)+" "+f.Reason)
			}
		}
		return fmt.Sprintf("%q %v", out, err)
	}

	p := setUp()
	wantFS := summary(p.EvaluateResource(ctx, fs, "sweep"))
	keyFS, keyErr := p.EvaluateResource(ctx, key, "sweep")
	wantRotation := summary(keyFS, keyErr, "kms_key_rotation_enabled")
	if len(keyFS) < 2 || strings.Count(wantRotation, "kms_key_rotation_enabled") != 1 {
		t.Fatalf("the key's findings %s: want the rotation rule among several", summary(keyFS, keyErr))
	}

	p = setUp()
	before := p.RuleCache()
	got := p.EvaluateResources(ctx, []Check{
		{Ref: fs},
		{Ref: key, Rules: []string{"kms_key_rotation_enabled"}},
		{Ref: key, Rules: []string{"efs_encrypted_at_rest"}}, // a file-system rule
		{Ref: fs, Rules: []string{"no_such_rule"}},
	}, "sweep")
	want := []string{wantFS, wantRotation, summary(nil, nil), summary(nil, nil)}
	if len(got) != len(want) {
		t.Fatalf("%d results for %d checks", len(got), len(want))
	}
	for i, c := range got {
		if s := summary(c.Findings, c.Err); s != want[i] {
			t.Errorf("check %d: %s, want %s", i, s, want[i])
		}
	}
	after := p.RuleCache()
	if judged := after.Hits + after.Misses - before.Hits - before.Misses; judged != 3 {
		t.Errorf("%d rules judged, want 3: the file system's two and the rotation rule", judged)
	}

	// The record after a check, on a pipeline that has judged nothing yet
	// (over a store that holds the key and its file system): every rule
	// of the key judges it.
	rotate := keyEvent("r1", 5, cloudtrail.EventEnableKeyRotation)
	after0 := func(checked bool) string {
		store := state.NewMemory()
		if _, err := newPipeline(t, store).ProcessInput(ctx, "x.json", strings.NewReader(logFile(t, createKey, createFS)), discard); err != nil {
			t.Fatal(err)
		}
		p := newPipeline(t, store)
		if checked {
			p.EvaluateResources(ctx, []Check{{Ref: key, Rules: []string{"kms_key_rotation_enabled"}}}, "sweep")
		}
		var got collected
		if _, err := p.ProcessInput(ctx, "r.json", strings.NewReader(logFile(t, rotate)), got.emit); err != nil {
			t.Fatal(err)
		}
		return summary(got, nil)
	}
	checked, unchecked := after0(true), after0(false)
	if checked != unchecked {
		t.Errorf("after a check by one rule: %s, want %s", checked, unchecked)
	}
	if n := strings.Count(unchecked, keyARN); n < 2 {
		t.Errorf("after no check: %s, want every rule of the key", unchecked)
	}
}
