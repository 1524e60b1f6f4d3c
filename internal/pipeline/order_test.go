package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

// Records in the shapes AWS documents, with this test's account, region,
// ids and times. Each function names the page its shape comes from.

// userAlice is the userIdentity of the documented KMS examples.
var userAlice = map[string]any{
	"type": "IAMUser", "principalId": "EX_PRINCIPAL_ID", "arn": "arn:aws:iam::" + acct + ":user/Alice",
	"accountId": acct, "accessKeyId": "EXAMPLE_KEY_ID", "userName": "Alice",
}

func apiRecord(id string, at time.Time, source, name string, req, resp any) map[string]any {
	return map[string]any{
		"eventVersion": "1.08", "userIdentity": userAlice, "eventTime": at.UTC().Format(time.RFC3339),
		"eventSource": source, "eventName": name, "awsRegion": region, "sourceIPAddress": "192.0.2.0",
		"userAgent": "AWS Internal", "requestParameters": req, "responseElements": resp,
		"requestID": "req-" + id, "eventID": id, "readOnly": false, "eventType": "AwsApiCall",
		"managementEvent": true, "recipientAccountId": acct, "eventCategory": "Management",
	}
}

func withKeyResource(r map[string]any) map[string]any {
	r["resources"] = []any{map[string]any{"accountId": acct, "type": "AWS::KMS::Key", "ARN": keyARN}}
	return r
}

// docCreateKey follows the symmetric encryption key example of
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html
// (origin AWS_KMS instead of the example's EXTERNAL, so the key is Enabled).
func docCreateKey(id string, at time.Time) map[string]any {
	return withKeyResource(apiRecord(id, at, cloudtrail.SourceKMS, "CreateKey",
		map[string]any{"description": "", "origin": "AWS_KMS", "bypassPolicyLockoutSafetyCheck": false,
			"customerMasterKeySpec": "SYMMETRIC_DEFAULT", "keySpec": "SYMMETRIC_DEFAULT", "keyUsage": "ENCRYPT_DECRYPT"},
		map[string]any{"keyMetadata": map[string]any{
			"AWSAccountId": acct, "keyId": keyID, "arn": keyARN, "creationDate": "Nov 20, 2026, 9:00:00 AM",
			"enabled": true, "description": "", "keyUsage": "ENCRYPT_DECRYPT", "keyState": "Enabled",
			"origin": "AWS_KMS", "keyManager": "CUSTOMER", "customerMasterKeySpec": "SYMMETRIC_DEFAULT",
			"keySpec": "SYMMETRIC_DEFAULT", "encryptionAlgorithms": []string{"SYMMETRIC_DEFAULT"}, "multiRegion": false,
		}}))
}

// docEnableKeyRotation follows
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html
func docEnableKeyRotation(id string, at time.Time) map[string]any {
	return withKeyResource(apiRecord(id, at, cloudtrail.SourceKMS, "EnableKeyRotation",
		map[string]any{"keyId": keyID, "rotationPeriodInDays": 180}, map[string]any{"keyId": keyARN}))
}

// docScheduleKeyDeletion follows
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html
func docScheduleKeyDeletion(id string, at time.Time) map[string]any {
	return withKeyResource(apiRecord(id, at, cloudtrail.SourceKMS, "ScheduleKeyDeletion",
		map[string]any{"keyId": keyID, "pendingWindowInDays": 30},
		map[string]any{"keyId": keyARN, "deletionDate": "Dec 20, 2026, 12:00:00 AM", "keyState": "PendingDeletion", "pendingWindowInDays": 30}))
}

const trailName = "atrest-trail" // trailARN's (monitoring_test.go)

// docCreateTrail: the CloudTrail guide documents no CreateTrail log entry;
// the parameters and response are those of
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_CreateTrail.html
// in the camelCase CloudTrail records use.
func docCreateTrail(id string, at time.Time) map[string]any {
	r := apiRecord(id, at, cloudtrail.SourceCloudTrail, "CreateTrail",
		map[string]any{"name": trailName, "s3BucketName": "aws-cloudtrail-logs-" + acct, "isMultiRegionTrail": true,
			"includeGlobalServiceEvents": true, "enableLogFileValidation": true},
		map[string]any{"name": trailName, "s3BucketName": "aws-cloudtrail-logs-" + acct, "includeGlobalServiceEvents": true,
			"isMultiRegionTrail": true, "trailARN": trailARN, "logFileValidationEnabled": true, "isOrganizationTrail": false})
	r["userAgent"] = "aws-cli/2.17.0"
	return r
}

// docStartLogging: no documented log entry either; the request is that of
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StartLogging.html
// (the response is empty: null in the record).
func docStartLogging(id string, at time.Time) map[string]any {
	r := apiRecord(id, at, cloudtrail.SourceCloudTrail, "StartLogging", map[string]any{"name": trailARN}, nil)
	r["userAgent"] = "aws-cli/2.17.0"
	return r
}

// docDeleteTrail: the request of
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DeleteTrail.html
func docDeleteTrail(id string, at time.Time) map[string]any {
	return apiRecord(id, at, cloudtrail.SourceCloudTrail, "DeleteTrail", map[string]any{"name": trailARN}, nil)
}

// docCreateFileSystem: the EFS guide's CloudTrail page
// (https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html)
// shows the record's envelope; the parameters and response are those of
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html
func docCreateFileSystem(id string, at time.Time) map[string]any {
	return apiRecord(id, at, cloudtrail.SourceEFS, "CreateFileSystem",
		map[string]any{"creationToken": "app-data", "performanceMode": "generalPurpose", "encrypted": true, "kmsKeyId": keyARN},
		map[string]any{"ownerId": acct, "creationToken": "app-data", "fileSystemId": fsID, "fileSystemArn": fsARN,
			"creationTime": "Nov 20, 2026, 9:01:00 AM", "lifeCycleState": "creating", "numberOfMountTargets": 0,
			"performanceMode": "generalPurpose", "encrypted": true, "kmsKeyId": keyARN, "throughputMode": "bursting"})
}

// docDeleteFileSystem: the request of
// https://docs.aws.amazon.com/efs/latest/ug/API_DeleteFileSystem.html
// (no response body: null in the record).
func docDeleteFileSystem(id string, at time.Time) map[string]any {
	return apiRecord(id, at, cloudtrail.SourceEFS, "DeleteFileSystem", map[string]any{"fileSystemId": fsID}, nil)
}

// eventBridge wraps a record as the "AWS API Call via CloudTrail" event of
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
func eventBridgeAPICall(t *testing.T, rec map[string]any) string {
	t.Helper()
	source := "aws." + strings.TrimSuffix(rec["eventSource"].(string), ".amazonaws.com")
	b, err := json.Marshal(map[string]any{
		"version": "0", "id": "eb-" + rec["eventID"].(string), "detail-type": "AWS API Call via CloudTrail",
		"source": source, "account": acct, "time": rec["eventTime"], "region": region, "resources": []string{}, "detail": rec,
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// cloudWatchLogs wraps records as the Lambda event of a CloudWatch Logs
// subscription, one log event each: base64 of a gzip payload.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
func cloudWatchLogs(t *testing.T, recs ...map[string]any) string {
	t.Helper()
	var events []any
	for i, r := range recs {
		msg, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, map[string]any{"id": fmt.Sprintf("le-%d", i), "timestamp": 1795683600000, "message": string(msg)})
	}
	payload, err := json.Marshal(map[string]any{"messageType": "DATA_MESSAGE", "owner": acct, "logGroup": "aws-cloudtrail-logs",
		"logStream": acct + "_CloudTrail_" + region, "subscriptionFilters": []string{"atrest"}, "logEvents": events})
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(payload); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return `{"awslogs":{"data":"` + base64.StdEncoding.EncodeToString(z.Bytes()) + `"}}`
}

// finalStatus returns the last status of each rule for a resource.
func finalStatus(got collected, resource string) map[string]finding.Status {
	out := map[string]finding.Status{}
	for _, f := range got {
		if f.Resource == resource {
			out[f.Rule] = f.Status
		}
	}
	return out
}

// lastFor returns the last finding of a rule for a resource.
func lastFor(got collected, resource, rule string) finding.Finding {
	var out finding.Finding
	for _, f := range got {
		if f.Resource == resource && f.Rule == rule {
			out = f
		}
	}
	return out
}

// run runs inputs through one pipeline over a memory store and returns
// every finding and the reports.
func run(t *testing.T, store state.Store, inputs ...string) (collected, Report) {
	t.Helper()
	p := newPipeline(t, store)
	var got collected
	var total Report
	for i, in := range inputs {
		rep, err := p.ProcessInput(context.Background(), fmt.Sprintf("input-%d.json", i), strings.NewReader(in), got.emit)
		if err != nil {
			t.Fatal(err)
		}
		total.Add(rep)
	}
	return got, total
}

// Infrastructure as code makes CreateKey + EnableKeyRotation and CreateTrail
// + StartLogging within one second. Whatever the order of the file, and
// whether the two arrive in one input or two, the key ends with rotation on
// and the trail logging.
func TestSameSecondRecordsInCausalOrder(t *testing.T) {
	sec := t0.Add(time.Hour)
	createKey, enable := docCreateKey("a-create-key", sec), docEnableKeyRotation("0-enable-rotation", sec)
	createTrail, start := docCreateTrail("b-create-trail", sec), docStartLogging("1-start-logging", sec)
	tests := []struct {
		name   string
		inputs func(t *testing.T) []string
	}{
		{"one log file, creation first", func(t *testing.T) []string { return []string{logFile(t, createKey, enable, createTrail, start)} }},
		{"one log file, creation last", func(t *testing.T) []string { return []string{logFile(t, start, enable, createTrail, createKey)} }},
		{"two EventBridge events, creation first", func(t *testing.T) []string {
			return []string{eventBridgeAPICall(t, createKey), eventBridgeAPICall(t, enable), eventBridgeAPICall(t, createTrail), eventBridgeAPICall(t, start)}
		}},
		{"two EventBridge events, creation delivered last", func(t *testing.T) []string {
			return []string{eventBridgeAPICall(t, enable), eventBridgeAPICall(t, start), eventBridgeAPICall(t, createKey), eventBridgeAPICall(t, createTrail)}
		}},
		{"one CloudWatch Logs payload, creation last", func(t *testing.T) []string {
			return []string{cloudWatchLogs(t, start, enable, createTrail, createKey)}
		}},
		{"modification by CloudWatch Logs, creation by EventBridge later", func(t *testing.T) []string {
			return []string{cloudWatchLogs(t, enable, start), eventBridgeAPICall(t, createKey), eventBridgeAPICall(t, createTrail)}
		}},
		{"modification by EventBridge, creation in the log file later", func(t *testing.T) []string {
			return []string{eventBridgeAPICall(t, enable), eventBridgeAPICall(t, start), logFile(t, createTrail, createKey)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := state.NewMemory()
			got, rep := run(t, store, tt.inputs(t)...)
			if rep.Bad() || rep.Processed != 4 {
				t.Fatalf("report %+v", rep)
			}
			if s := finalStatus(got, keyARN)["kms_key_rotation_enabled"]; s != finding.Compliant {
				t.Errorf("final rotation verdict %s, want COMPLIANT", s)
			}
			k, _ := store.Key(context.Background(), keyARN)
			if k == nil || k.RotationEnabled == nil || !*k.RotationEnabled || k.RotationPeriodDays != 180 {
				t.Errorf("key %+v: want rotation on every 180 days", k)
			}
			tr, _ := store.Trail(context.Background(), trailARN)
			if tr == nil || tr.Logging != state.LoggingOn {
				t.Errorf("trail %+v: want logging on", tr)
			}
			if f := lastFor(got, trailARN, "cloudtrail_monitoring_intact"); f.Status != finding.Compliant || !strings.Contains(f.Reason, "is logging") {
				t.Errorf("final monitoring finding %s %q, want COMPLIANT: the trail is logging", f.Status, f.Reason)
			}
		})
	}
}

// Deletion is final: a creation older than a deletion already applied (the
// S3 copy of the log file arriving after the EventBridge event) never brings
// the resource back, nor the file system into its key's blast radius.
func TestDeletionIsFinalAcrossInputs(t *testing.T) {
	createKey := docCreateKey("ck", t0)
	createFS := docCreateFileSystem("cf", t0.Add(time.Minute))
	deleteFS := docDeleteFileSystem("df", t0.Add(5*time.Minute))
	schedule := docScheduleKeyDeletion("sk", t0.Add(6*time.Minute))
	createTrail := docCreateTrail("ct", t0.Add(time.Minute))
	deleteTrail := docDeleteTrail("dt", t0.Add(5*time.Minute))
	tests := []struct {
		name   string
		inputs func(t *testing.T) []string
	}{
		{"deletions by EventBridge first, the log file with the creations later", func(t *testing.T) []string {
			return []string{eventBridgeAPICall(t, deleteFS), eventBridgeAPICall(t, schedule), eventBridgeAPICall(t, deleteTrail),
				logFile(t, createKey, createFS, deleteFS, schedule, createTrail, deleteTrail)}
		}},
		{"log file with the creations first, deletions by EventBridge later", func(t *testing.T) []string {
			return []string{logFile(t, createTrail, createFS, createKey),
				eventBridgeAPICall(t, deleteFS), eventBridgeAPICall(t, schedule), eventBridgeAPICall(t, deleteTrail)}
		}},
		{"deletions in one input, creations in the next", func(t *testing.T) []string {
			return []string{logFile(t, deleteTrail, schedule, deleteFS), logFile(t, createFS, createTrail, createKey)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := state.NewMemory()
			got, rep := run(t, store, tt.inputs(t)...)
			if rep.Bad() {
				t.Fatalf("report %+v", rep)
			}
			ctx := context.Background()
			fs, _ := store.FileSystem(ctx, fsARN)
			if fs == nil || !fs.Deleted {
				t.Errorf("file system %+v: want deleted", fs)
			}
			if radius, _ := store.FileSystemsForKey(ctx, keyARN); len(radius) != 0 {
				t.Errorf("blast radius %v, want none", radius)
			}
			k, _ := store.Key(ctx, keyARN)
			if k == nil || k.KeyState != state.KeyStatePendingDeletion {
				t.Errorf("key %+v: want PendingDeletion", k)
			}
			tr, _ := store.Trail(ctx, trailARN)
			if tr == nil || !tr.Deleted {
				t.Errorf("trail %+v: want deleted", tr)
			}
			for _, f := range got {
				if f.Resource == keyARN && len(f.FileSystems) != 0 && f.EventTime.After(t0.Add(5*time.Minute)) {
					t.Errorf("finding %s after the deletion names the file system: %v", f.Rule, f.FileSystems)
				}
			}
			if s := finalStatus(got, trailARN)["cloudtrail_monitoring_intact"]; s != finding.NonCompliant {
				t.Errorf("final monitoring verdict %s for a deleted trail, want NON_COMPLIANT", s)
			}
		})
	}
}

// Two records with one eventID and different content are reported, naming
// both; a failed call never displaces the successful one.
func TestOneEventIDTwoRecords(t *testing.T) {
	ok := docDisableKey("dk", t0.Add(10*time.Minute))
	failed := docDisableKey("dk", t0.Add(10*time.Minute))
	failed["errorCode"], failed["errorMessage"] = "AccessDeniedException", "User: arn:aws:iam::"+acct+":user/Alice is not authorized to perform: kms:DisableKey"
	altered := docDisableKey("dk", t0.Add(11*time.Minute))
	tests := []struct {
		name       string
		inputs     func(t *testing.T) []string
		wantState  string
		processed  int
		duplicates int
		failed     int
		conflict   string
	}{
		{"failed copy first, successful copy judged after it",
			func(t *testing.T) []string {
				return []string{logFile(t, docCreateKey("ck", t0)), eventBridgeAPICall(t, failed), logFile(t, ok)}
			},
			state.KeyStateDisabled, 3, 0, 1,
			"eventID dk names two different records: DisableKey at 2026-11-20T09:10:00Z failed with AccessDeniedException in input-1.json: value[0], and DisableKey at 2026-11-20T09:10:00Z in input-2.json: Records[0]"},
		{"failed and successful copy in one file, failed listed first",
			func(t *testing.T) []string { return []string{logFile(t, docCreateKey("ck", t0), failed, ok)} },
			state.KeyStateDisabled, 3, 0, 1,
			"eventID dk names two different records: DisableKey at 2026-11-20T09:10:00Z failed with AccessDeniedException in input-0.json: Records[1], and DisableKey at 2026-11-20T09:10:00Z in input-0.json: Records[2]"},
		{"successful copy first, failed copy a duplicate",
			func(t *testing.T) []string {
				return []string{logFile(t, docCreateKey("ck", t0), ok), eventBridgeAPICall(t, failed)}
			},
			state.KeyStateDisabled, 2, 1, 0,
			"eventID dk names two different records: DisableKey at 2026-11-20T09:10:00Z in input-0.json: Records[1], and DisableKey at 2026-11-20T09:10:00Z failed with AccessDeniedException in input-1.json: value[0]"},
		{"altered copy: the first judged is kept",
			func(t *testing.T) []string {
				return []string{logFile(t, docCreateKey("ck", t0), ok), eventBridgeAPICall(t, altered)}
			},
			state.KeyStateDisabled, 2, 1, 0,
			"eventID dk names two different records: DisableKey at 2026-11-20T09:10:00Z in input-0.json: Records[1], and DisableKey at 2026-11-20T09:11:00Z in input-1.json: value[0]"},
		{"the same record in two shapes is a plain duplicate",
			func(t *testing.T) []string {
				return []string{logFile(t, docCreateKey("ck", t0), ok), eventBridgeAPICall(t, ok)}
			},
			state.KeyStateDisabled, 2, 1, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := state.NewMemory()
			got, rep := run(t, store, tt.inputs(t)...)
			if rep.Bad() || rep.Processed != tt.processed || rep.Duplicates != tt.duplicates || rep.Failed != tt.failed {
				t.Errorf("report processed %d, duplicates %d, failed %d; want %d, %d, %d (%+v)",
					rep.Processed, rep.Duplicates, rep.Failed, tt.processed, tt.duplicates, tt.failed, rep)
			}
			k, _ := store.Key(context.Background(), keyARN)
			if k == nil || k.KeyState != tt.wantState {
				t.Errorf("key %+v: want %s", k, tt.wantState)
			}
			var conflicts []string
			for _, c := range rep.Conflicts {
				conflicts = append(conflicts, c.String())
			}
			if tt.conflict == "" && len(conflicts) != 0 || tt.conflict != "" && (len(conflicts) != 1 || conflicts[0] != tt.conflict) {
				t.Errorf("conflicts %q, want %q", conflicts, tt.conflict)
			}
			if f := got.last(t, "efs_kms_key_available"); f.EventName != "DisableKey" || f.ID != finding.StableID(f.Rule, keyARN, "dk") {
				t.Errorf("last availability finding %+v, want the one of the successful DisableKey", f)
			}
		})
	}
}

// docDisableKey follows
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-disablekey.html
func docDisableKey(id string, at time.Time) map[string]any {
	return withKeyResource(apiRecord(id, at, cloudtrail.SourceKMS, "DisableKey", map[string]any{"keyId": keyID}, nil))
}

// An apply error names the input, the position and the eventID.
func TestApplyErrorNamesPosition(t *testing.T) {
	bad := docDeleteFileSystem("bad-delete", t0)
	bad["requestParameters"] = map[string]any{"fileSystemId": 42}
	_, rep := run(t, state.NewMemory(), logFile(t, docCreateKey("ck", t0), bad))
	var re *RecordError
	if len(rep.ApplyErrors) != 1 || !errors.As(rep.ApplyErrors[0], &re) || !errors.Is(rep.ApplyErrors[0], state.ErrBadRecord) {
		t.Fatalf("apply errors %v", rep.ApplyErrors)
	}
	want := "input-0.json: Records[1] (eventID bad-delete, DeleteFileSystem): apply DeleteFileSystem bad-delete: "
	if got := re.Error(); !strings.HasPrefix(got, want) || !strings.Contains(got, "fileSystemId") {
		t.Errorf("error %q, want it to start with %q and name fileSystemId", got, want)
	}
}
