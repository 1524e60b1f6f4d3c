package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/state"
)

// docRecord is a CloudTrail record in the shape the KMS developer guide and
// the EFS user guide print (https://docs.aws.amazon.com/kms/latest/developerguide/understanding-kms-entries.html):
// an API call by an IAM user, or (service) an AWS service event KMS records
// itself, with userIdentity invokedBy "AWS Internal". key names the key in
// resources ("" for none).
func serviceRecord(id string, minutes int, source, name string, service bool, key, req, resp string) map[string]any {
	r := record(id, minutes, source, name, req, resp)
	r["userIdentity"] = map[string]any{"type": "IAMUser", "principalId": "EX_PRINCIPAL_ID", "arn": "arn:aws:iam::" + acct + ":user/Alice", "accountId": acct, "userName": "Alice"}
	r["eventType"], r["sourceIPAddress"], r["userAgent"] = "AwsApiCall", "192.0.2.0", "AWS Internal"
	if service {
		r["userIdentity"] = map[string]any{"accountId": acct, "invokedBy": "AWS Internal"}
		r["eventType"], r["sourceIPAddress"] = "AwsServiceEvent", "AWS Internal"
	}
	if req == "" {
		r["requestParameters"] = nil
	}
	if resp == "" {
		r["responseElements"] = nil
	}
	if key != "" {
		r["resources"] = []any{map[string]any{"accountId": acct, "type": "AWS::KMS::Key", "ARN": key}}
	}
	r["readOnly"], r["managementEvent"], r["eventCategory"] = false, true, "Management"
	return r
}

// eventBridge wraps a record as EventBridge delivers it, with detailType
// "AWS API Call via CloudTrail" or "AWS Service Event via CloudTrail".
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
func eventBridge(t *testing.T, detailType string, rec map[string]any) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": detailType, "source": "aws.kms",
		"account": acct, "time": rec["eventTime"], "region": region, "resources": []string{}, "detail": rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestKeyEventsMakeFileSystemsUnreadable judges, in the delivery shapes AWS
// uses for them, the events that make a key unusable for the file systems it
// protects. Record shapes: the KMS developer guide's pages
// ct-createkey (origin EXTERNAL), ct-importkeymaterial,
// ct-deleteexpiredkeymaterial, ct-deleteimportedkeymaterial,
// ct-schedule-key-deletion, ct-delete-key, ct-disconnect-keystore and
// ct-connect-keystore under https://docs.aws.amazon.com/kms/latest/developerguide/.
func TestKeyEventsMakeFileSystemsUnreadable(t *testing.T) {
	const store = "cks-1234567890abcdef0"
	createExternal := serviceRecord("ck", 0, "kms.amazonaws.com", "CreateKey", false, keyARN,
		`{"description":"","origin":"EXTERNAL","keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}`,
		fmt.Sprintf(`{"keyMetadata":{"aWSAccountId":%q,"keyId":%q,"arn":%q,"enabled":false,"keyUsage":"ENCRYPT_DECRYPT","keyState":"PendingImport","origin":"EXTERNAL","keyManager":"CUSTOMER","keySpec":"SYMMETRIC_DEFAULT"}}`, acct, keyID, keyARN))
	createInStore := serviceRecord("ck", 0, "kms.amazonaws.com", "CreateKey", false, keyARN,
		fmt.Sprintf(`{"description":"","origin":"AWS_CLOUDHSM","customKeyStoreId":%q,"keySpec":"SYMMETRIC_DEFAULT","keyUsage":"ENCRYPT_DECRYPT"}`, store),
		fmt.Sprintf(`{"keyMetadata":{"aWSAccountId":%q,"keyId":%q,"arn":%q,"enabled":true,"keyUsage":"ENCRYPT_DECRYPT","keyState":"Enabled","origin":"AWS_CLOUDHSM","customKeyStoreId":%q,"keyManager":"CUSTOMER","keySpec":"SYMMETRIC_DEFAULT"}}`, acct, keyID, keyARN, store))
	importMaterial := serviceRecord("imp", 1, "kms.amazonaws.com", "ImportKeyMaterial", false, keyARN,
		fmt.Sprintf(`{"keyId":%q,"validTo":"May 21, 2027, 5:47:45 AM","expirationModel":"KEY_MATERIAL_EXPIRES","importType":"NEW_KEY_MATERIAL"}`, keyID),
		fmt.Sprintf(`{"keyId":%q,"keyMaterialId":"123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0"}`, keyARN))
	createFS := maps.Clone(createFS)
	createFS["eventTime"] = t0.Add(2 * time.Minute).Format(time.RFC3339)
	schedule := serviceRecord("sch", 3, "kms.amazonaws.com", "ScheduleKeyDeletion", false, keyARN,
		fmt.Sprintf(`{"keyId":%q,"pendingWindowInDays":7}`, keyID),
		fmt.Sprintf(`{"keyId":%q,"deletionDate":"Nov 27, 2026, 9:03:00 AM","keyState":"PendingDeletion","pendingWindowInDays":7}`, keyARN))
	tests := []struct {
		name   string
		inputs func(t *testing.T) []string
		event  string // the event of the last availability finding
		reason string
	}{
		{"expired key material, delivered by EventBridge as an AWS service event", func(t *testing.T) []string {
			return []string{logFile(t, createExternal, importMaterial, createFS),
				eventBridge(t, "AWS Service Event via CloudTrail", serviceRecord("exp", 5, "kms.amazonaws.com", "DeleteExpiredKeyMaterial", true, keyARN, "", ""))}
		}, "DeleteExpiredKeyMaterial", "key state is PendingImport (no key material imported)"},
		{"expired key material in a log file", func(t *testing.T) []string {
			return []string{logFile(t, createExternal, importMaterial, createFS,
				serviceRecord("exp", 5, "kms.amazonaws.com", "DeleteExpiredKeyMaterial", true, keyARN, "", ""))}
		}, "DeleteExpiredKeyMaterial", "key state is PendingImport (no key material imported)"},
		{"imported key material deleted", func(t *testing.T) []string {
			return []string{logFile(t, createExternal, importMaterial, createFS),
				eventBridge(t, "AWS API Call via CloudTrail", serviceRecord("del", 5, "kms.amazonaws.com", "DeleteImportedKeyMaterial", false, keyARN,
					fmt.Sprintf(`{"keyId":%q}`, keyID), fmt.Sprintf(`{"keyId":%q}`, keyARN)))}
		}, "DeleteImportedKeyMaterial", "key state is PendingImport (no key material imported)"},
		{"the key's scheduled deletion completed, delivered by EventBridge", func(t *testing.T) []string {
			return []string{logFile(t, createKey, createFS, schedule),
				eventBridge(t, "AWS Service Event via CloudTrail", serviceRecord("dk", 60, "kms.amazonaws.com", "DeleteKey", true, keyARN, "", ""))}
		}, "DeleteKey", "key was deleted (its scheduled deletion completed)"},
		{"the custom key store disconnected", func(t *testing.T) []string {
			return []string{logFile(t, createInStore, createFS),
				eventBridge(t, "AWS API Call via CloudTrail", serviceRecord("dis", 5, "kms.amazonaws.com", "DisconnectCustomKeyStore", false, "",
					fmt.Sprintf(`{"customKeyStoreId":%q}`, store), ""))}
		}, "DisconnectCustomKeyStore", "key state is Unavailable (custom key store disconnected)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := newPipeline(t, state.NewMemory())
			var got collected
			for i, in := range tc.inputs(t) {
				rep, err := p.ProcessInput(context.Background(), fmt.Sprintf("input-%d", i), strings.NewReader(in), got.emit)
				if err != nil || rep.Bad() || rep.EvalErrors != 0 {
					t.Fatalf("input %d: report %+v, err %v", i, rep, err)
				}
			}
			f := got.last(t, "efs_kms_key_available")
			if f.Status != finding.NonCompliant || f.EventName != tc.event || f.Reason != tc.reason {
				t.Errorf("finding %s after %s: %q, want NON_COMPLIANT after %s: %q", f.Status, f.EventName, f.Reason, tc.event, tc.reason)
			}
			if len(f.FileSystems) != 1 || f.FileSystems[0] != fsARN {
				t.Errorf("blast radius %v, want [%s]", f.FileSystems, fsARN)
			}
		})
	}
}

// TestReplicaJoinsTheKeysBlastRadius: the destination of a replication
// configuration is an encrypted file system protected by the key the request
// names. The EFS user guide prints no CloudTrail entry for the call; the
// record takes the API reference's members, camelCased as CloudTrail writes
// them: https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html
// and https://docs.aws.amazon.com/efs/latest/ug/API_Destination.html.
func TestReplicaJoinsTheKeysBlastRadius(t *testing.T) {
	const replica = "fs-0abcdef1234567890"
	replicaARN := arns.FileSystemARN(region, acct, replica)
	createRepl := serviceRecord("cr", 5, "elasticfilesystem.amazonaws.com", "CreateReplicationConfiguration", false, "",
		fmt.Sprintf(`{"sourceFileSystemId":"fs-0fedcba9876543210","destinations":[{"region":%q,"kmsKeyId":%q}]}`, region, keyARN),
		fmt.Sprintf(`{"sourceFileSystemId":"fs-0fedcba9876543210","sourceFileSystemRegion":%q,"sourceFileSystemArn":%q,"originalSourceFileSystemArn":%q,"creationTime":"Nov 20, 2026, 9:05:00 AM","destinations":[{"status":"ENABLING","fileSystemId":%q,"region":%q}]}`,
			region, arns.FileSystemARN(region, acct, "fs-0fedcba9876543210"), arns.FileSystemARN(region, acct, "fs-0fedcba9876543210"), replica, region))
	deleteRepl := serviceRecord("dr", 9, "elasticfilesystem.amazonaws.com", "DeleteReplicationConfiguration", false, "",
		`{"sourceFileSystemId":"fs-0fedcba9876543210"}`, "")
	p := newPipeline(t, state.NewMemory())
	var got collected
	rep, err := p.ProcessInput(context.Background(), "log.json", strings.NewReader(logFile(t, createKey, createFS, createRepl, keyEvent("d", 7, "DisableKey"), deleteRepl)), got.emit)
	if err != nil || rep.Bad() || rep.EvalErrors != 0 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	var atRest *finding.Finding
	for i := range got {
		if got[i].Rule == "efs_encrypted_at_rest" && got[i].Resource == replicaARN && got[i].EventName == "CreateReplicationConfiguration" {
			atRest = &got[i]
		}
	}
	if atRest == nil || atRest.Status != finding.Compliant {
		t.Fatalf("replica's efs_encrypted_at_rest finding = %+v", atRest)
	}
	f := got.last(t, "efs_kms_key_available")
	want := []string{fsARN, replicaARN}
	if f.Status != finding.NonCompliant || f.EventName != "DisableKey" || len(f.FileSystems) != 2 || f.FileSystems[0] != want[0] || f.FileSystems[1] != want[1] {
		t.Errorf("availability after DisableKey: %s, blast radius %v, want NON_COMPLIANT over %v", f.Status, f.FileSystems, want)
	}
	// Ending the link leaves the replica encrypted with the key.
	judged := 0
	for _, g := range got {
		if g.EventName == "DeleteReplicationConfiguration" && g.Resource == replicaARN {
			judged++
		}
		if g.EventName == "DeleteReplicationConfiguration" && g.Rule == "efs_encrypted_at_rest" && g.Resource == replicaARN && g.Status != finding.Compliant {
			t.Errorf("after DeleteReplicationConfiguration: %+v", g)
		}
	}
	if judged == 0 {
		t.Error("DeleteReplicationConfiguration did not judge the replica")
	}
}

// TestKeyServiceEventsVerifyAgain: the events that can break a key the
// offline state cannot see into (expired material, a deleted key, a custom
// key store disconnected or reconnected) drop the cached round trip and
// verify again; ct-deleteexpiredkeymaterial and ct-disconnect-keystore of
// the KMS developer guide give the shapes.
func TestKeyServiceEventsVerifyAgain(t *testing.T) {
	e, err := engine()
	if err != nil {
		t.Fatal(err)
	}
	for _, rec := range []map[string]any{
		serviceRecord("exp", 5, "kms.amazonaws.com", "DeleteExpiredKeyMaterial", true, keyARN, "", ""),
		serviceRecord("dk", 5, "kms.amazonaws.com", "DeleteKey", true, keyARN, "", ""),
		serviceRecord("dup", 5, "kms.amazonaws.com", "DescribeKey", false, keyARN, fmt.Sprintf(`{"keyId":%q}`, keyID), ""),
	} {
		t.Run(rec["eventName"].(string), func(t *testing.T) {
			v := &fakeVerifier{result: keyverify.Result{Performed: true, OK: true}}
			p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default(), Verifier: v})
			if err != nil {
				t.Fatal(err)
			}
			var got collected
			if _, err := p.ProcessInput(context.Background(), "x.json", strings.NewReader(logFile(t, createKey, createFS, rec)), got.emit); err != nil {
				t.Fatal(err)
			}
			var want []string
			if rec["eventName"] != "DescribeKey" { // of no interest: nothing to verify
				want = []string{"invalidate " + keyARN, "verify " + keyARN + " " + fsARN}
			}
			if !slices.Equal(v.calls, want) {
				t.Errorf("verifier calls = %q, want %q", v.calls, want)
			}
		})
	}
}
