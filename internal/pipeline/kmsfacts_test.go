package pipeline

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

// docRecord reads one of the KMS developer guide's CloudTrail examples kept
// in internal/state/testdata (the pages are cited in
// internal/state/facts_test.go) and applies edits to its JSON form.
func docRecord(t *testing.T, name string, edits ...func(map[string]any)) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "state", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var r map[string]any
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	for _, e := range edits {
		e(r)
	}
	return r
}

const (
	docKeyARN     = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docPrimaryARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
	docFSID       = "fs-0123456789abcdef0"
)

func set(key string, v any) func(map[string]any) { return func(r map[string]any) { r[key] = v } }

// efsGrant turns the documented CreateGrant into the one EFS makes for a
// file system (invokedBy EFS, constrained to the file system's id), with the
// grant id the documented RetireGrant retires.
func efsGrant(r map[string]any) {
	r["userIdentity"].(map[string]any)["invokedBy"] = "elasticfilesystem.amazonaws.com"
	r["awsRegion"] = "us-west-2"
	r["eventTime"] = "2022-09-01T19:00:00Z"
	r["requestParameters"] = map[string]any{
		"keyId":             docKeyARN,
		"granteePrincipal":  "EX_PRINCIPAL_ID",
		"operations":        []any{"Encrypt", "Decrypt", "GenerateDataKeyWithoutPlaintext", "CreateGrant", "RetireGrant", "DescribeKey"},
		"constraints":       map[string]any{"encryptionContextSubset": map[string]any{"aws:elasticfilesystem:filesystem:id": docFSID}},
		"retiringPrincipal": "EX_PRINCIPAL_ID",
	}
	r["responseElements"] = map[string]any{"grantId": "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"}
}

// onPrimary moves a documented us-west-2 rotation record to the primary key
// of the documented ReplicateKey.
func onPrimary(r map[string]any) {
	r["awsRegion"] = "us-east-1"
	r["requestParameters"] = map[string]any{"keyId": docPrimaryARN}
	r["resources"] = []any{map[string]any{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": docPrimaryARN}}
}

// TestWhatRecordsProve judges, in event-only mode, what each documented
// record proves on its own.
func TestWhatRecordsProve(t *testing.T) {
	deleteFS := func(minute string) map[string]any {
		return map[string]any{
			"eventVersion": "1.08", "eventID": "del-" + minute, "eventTime": "2022-09-01T19:" + minute + ":00Z",
			"eventSource": "elasticfilesystem.amazonaws.com", "eventName": "DeleteFileSystem", "awsRegion": "us-west-2",
			"recipientAccountId": "111122223333", "userIdentity": map[string]any{"type": "IAMUser", "accountId": "111122223333"},
			"requestParameters": map[string]any{"fileSystemId": docFSID},
		}
	}
	fsARN := arns.FileSystemARN("us-west-2", "111122223333", docFSID)
	tests := []struct {
		name       string
		maxDays    int
		recs       []map[string]any
		resource   string
		rule       string
		wantStatus finding.Status
		wantReason string // a part of the reason
		wantFS     []string
	}{
		{"DisableKeyRotation alone", 0, []map[string]any{docRecord(t, "kms-disablekeyrotation.json")},
			docKeyARN, "kms_key_rotation_enabled", finding.NonCompliant, "automatic key rotation is disabled", nil},
		{"EnableKeyRotation alone, default period over the maximum", 180, []map[string]any{docRecord(t, "kms-enablekeyrotation.json")},
			docKeyARN, "kms_key_rotation_enabled", finding.NonCompliant, "rotation period is 365 days, more than max_rotation_period_days 180", nil},
		{"EnableKeyRotation alone within the maximum", 365, []map[string]any{docRecord(t, "kms-enablekeyrotation.json")},
			docKeyARN, "kms_key_rotation_enabled", finding.Compliant, "automatic key rotation is enabled every 365 days", nil},
		{"failed DisableKeyRotation", 0, []map[string]any{docRecord(t, "kms-disablekeyrotation.json", set("errorCode", "AccessDeniedException")),
			docRecord(t, "kms-enablekeyrotation.json")},
			docKeyARN, "kms_key_rotation_enabled", finding.Compliant, "automatic key rotation is enabled every 365 days", nil},
		{"EFS grant retired while its file system lives", 0,
			[]map[string]any{docRecord(t, "kms-creategrant.json", efsGrant), docRecord(t, "kms-retiregrant.json")},
			docKeyARN, "efs_kms_key_available", finding.NonCompliant,
			"EFS grant abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a for file system fs-0123456789abcdef0 is retired", []string{fsARN}},
		{"EFS grant revoked while its file system lives", 0,
			[]map[string]any{docRecord(t, "kms-creategrant.json", efsGrant), docRecord(t, "kms-retiregrant.json",
				set("eventName", "RevokeGrant"), set("additionalEventData", nil),
				set("requestParameters", map[string]any{"keyId": docKeyARN, "grantId": "abcde1237f76e4ba7987489ac329fbfba6ad343d6f7075dbd1ef191f0120514a"}))},
			docKeyARN, "efs_kms_key_available", finding.NonCompliant, "is revoked and no active EFS grant remains", []string{fsARN}},
		{"EFS grant retired after its file system's deletion", 0,
			[]map[string]any{docRecord(t, "kms-creategrant.json", efsGrant), deleteFS("30"), docRecord(t, "kms-retiregrant.json")},
			docKeyARN, "efs_kms_key_available", finding.NotApplicable, "protects no live file system", nil},
		{"replica follows its primary: disabled", 0,
			[]map[string]any{docRecord(t, "kms-replicatekey.json"), docRecord(t, "kms-disablekeyrotation.json", onPrimary)},
			docKeyARN, "kms_key_rotation_enabled", finding.NonCompliant,
			"automatic key rotation is disabled on primary key " + docPrimaryARN + ", which this multi-Region replica shares", nil},
		{"replica follows its primary: enabled again", 0,
			[]map[string]any{docRecord(t, "kms-replicatekey.json"), docRecord(t, "kms-disablekeyrotation.json", onPrimary),
				docRecord(t, "kms-enablekeyrotation.json", onPrimary, set("eventTime", "2022-10-01T00:00:00Z"))},
			docKeyARN, "kms_key_rotation_enabled", finding.Compliant,
			"automatic key rotation is enabled every 365 days on primary key " + docPrimaryARN, nil},
		{"replica whose primary's rotation is unknown", 0, []map[string]any{docRecord(t, "kms-replicatekey.json")},
			docKeyARN, "kms_key_rotation_enabled", finding.NotApplicable, "rotation status unknown on primary key " + docPrimaryARN, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := engine()
			if err != nil {
				t.Fatal(err)
			}
			cfg := config.Default()
			cfg.MaxRotationPeriodDays = tc.maxDays
			p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			var got collected
			if _, err := p.ProcessInput(context.Background(), "log.json", strings.NewReader(logFile(t, tc.recs...)), got.emit); err != nil {
				t.Fatal(err)
			}
			var f *finding.Finding
			for i := range got {
				if got[i].Rule == tc.rule && got[i].Resource == tc.resource {
					f = &got[i]
				}
			}
			if f == nil {
				t.Fatalf("no %s finding for %s in %d findings", tc.rule, tc.resource, len(got))
			}
			if f.Status != tc.wantStatus || !strings.Contains(f.Reason, tc.wantReason) {
				t.Errorf("%s = %s %q, want %s with %q", tc.rule, f.Status, f.Reason, tc.wantStatus, tc.wantReason)
			}
			if strings.Join(f.FileSystems, ",") != strings.Join(tc.wantFS, ",") {
				t.Errorf("blast radius %v, want %v", f.FileSystems, tc.wantFS)
			}
		})
	}
}

// TestRetireGrantOnEventBridge: the documented RetireGrant, delivered as an
// EventBridge "AWS API Call via CloudTrail" event
// (https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html),
// ends the EFS grant its additionalEventData names.
func TestRetireGrantOnEventBridge(t *testing.T) {
	p := newPipeline(t, state.NewMemory())
	var got collected
	ctx := context.Background()
	if _, err := p.ProcessInput(ctx, "grant.json", strings.NewReader(logFile(t, docRecord(t, "kms-creategrant.json", efsGrant))), got.emit); err != nil {
		t.Fatal(err)
	}
	event, err := json.Marshal(map[string]any{
		"version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": "AWS API Call via CloudTrail",
		"source": "aws.kms", "account": "111122223333", "time": "2022-09-01T19:39:33Z", "region": "us-west-2",
		"resources": []any{}, "detail": docRecord(t, "kms-retiregrant.json"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.ProcessInput(ctx, "retire.json", strings.NewReader(string(event)), got.emit)
	if err != nil || rep.Processed != 1 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	f := got.last(t, "efs_kms_key_available")
	if f.EventName != "RetireGrant" || f.Status != finding.NonCompliant || !strings.Contains(f.Reason, "is retired and no active EFS grant remains") {
		t.Errorf("availability after %s = %s %q, want NON_COMPLIANT naming the retired grant", f.EventName, f.Status, f.Reason)
	}
}

// TestRetireInTheSecondOfTheDeletion: EFS retires its grant because the file
// system was deleted, and both records often carry the same second. Whatever
// their eventIDs, the deletion is applied first (cloudtrail.RankEndGrant),
// so the retirement is never judged as a live file system losing its key.
func TestRetireInTheSecondOfTheDeletion(t *testing.T) {
	const sec = "2022-09-01T19:30:00Z"
	deleteFS := func(id string) map[string]any {
		return map[string]any{
			"eventVersion": "1.08", "eventID": id, "eventTime": sec,
			"eventSource": "elasticfilesystem.amazonaws.com", "eventName": "DeleteFileSystem", "awsRegion": "us-west-2",
			"recipientAccountId": "111122223333", "userIdentity": map[string]any{"type": "IAMUser", "accountId": "111122223333"},
			"requestParameters": map[string]any{"fileSystemId": docFSID},
		}
	}
	for _, ids := range [][2]string{{"00000000-retire", "ffffffff-delete"}, {"ffffffff-retire", "00000000-delete"}} {
		recs := []map[string]any{
			docRecord(t, "kms-creategrant.json", efsGrant),
			docRecord(t, "kms-retiregrant.json", set("eventTime", sec), set("eventID", ids[0])),
			deleteFS(ids[1]),
		}
		var got collected
		if _, err := newPipeline(t, state.NewMemory()).ProcessInput(context.Background(), "log.json", strings.NewReader(logFile(t, recs...)), got.emit); err != nil {
			t.Fatal(err)
		}
		var seen []string
		for _, f := range got {
			if f.Rule != "efs_kms_key_available" || f.Resource != docKeyARN {
				continue
			}
			seen = append(seen, f.EventName+" "+string(f.Status))
			if f.Status == finding.NonCompliant {
				t.Errorf("eventIDs %v: %s made %s NON_COMPLIANT: %s", ids, f.EventName, f.Rule, f.Reason)
			}
		}
		if want := []string{"CreateGrant NOT_APPLICABLE", "DeleteFileSystem NOT_APPLICABLE", "RetireGrant NOT_APPLICABLE"}; !slices.Equal(seen, want) {
			t.Errorf("eventIDs %v: availability findings %v, want %v", ids, seen, want)
		}
	}
}
