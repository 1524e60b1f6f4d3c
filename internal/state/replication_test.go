package state

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// The EFS user guide prints no CloudTrail entry for the replication calls.
// These records take the envelope of its CreateFileSystem example
// (https://docs.aws.amazon.com/efs/latest/ug/logging-using-cloudtrail.html)
// and the request and response members of the API reference, camelCased as
// CloudTrail writes them:
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateReplicationConfiguration.html
// (request: sourceFileSystemId, destinations of DestinationToCreate,
// https://docs.aws.amazon.com/efs/latest/ug/API_DestinationToCreate.html;
// response: ReplicationConfigurationDescription with destinations of
// Destination, https://docs.aws.amazon.com/efs/latest/ug/API_Destination.html)
// and https://docs.aws.amazon.com/efs/latest/ug/API_DeleteReplicationConfiguration.html.

const (
	replRegion = "us-west-2"
	fsReplica  = "fs-0abcdef1234567890"
	k2         = "0987dcba-09fe-87dc-65ba-ab0987654321"
)

func efsDoc(t *testing.T, id string, minutes int, name, req, resp string) *cloudtrail.Record {
	t.Helper()
	raw := fmt.Sprintf(`{"eventVersion":"1.08","userIdentity":%s,"eventTime":%q,"eventSource":"elasticfilesystem.amazonaws.com",
		"eventName":%q,"awsRegion":%q,"sourceIPAddress":"192.0.2.0","userAgent":"aws-cli/2.15.0",
		"requestParameters":%s,"responseElements":%s,"requestID":"a2c3e4f5-1b2c-4d3e-8f9a-0b1c2d3e4f5a",
		"eventID":%q,"readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":%q,"eventCategory":"Management"}`,
		userAlice, t0.Add(time.Duration(minutes)*time.Minute).Format(time.RFC3339), name, region, req, resp, id, acct)
	var r cloudtrail.Record
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		t.Fatalf("record %s: %v", id, err)
	}
	return &r
}

// createReplication replicates fs1 to a new file system in us-west-2,
// encrypted with kmsKeyID ("" for EFS's AWS managed key there), or to the
// existing file system existing.
func createReplicationDoc(t *testing.T, id string, minutes int, kmsKeyID, existing string) *cloudtrail.Record {
	dest := fmt.Sprintf(`{"region":%q}`, replRegion)
	switch {
	case existing != "":
		dest = fmt.Sprintf(`{"region":%q,"fileSystemId":%q}`, replRegion, existing)
	case kmsKeyID != "":
		dest = fmt.Sprintf(`{"region":%q,"kmsKeyId":%q}`, replRegion, kmsKeyID)
	}
	replica := fsReplica
	if existing != "" {
		replica = existing
	}
	return efsDoc(t, id, minutes, "CreateReplicationConfiguration",
		fmt.Sprintf(`{"sourceFileSystemId":%q,"destinations":[%s]}`, fs1, dest),
		fmt.Sprintf(`{"sourceFileSystemId":%q,"sourceFileSystemRegion":%q,"sourceFileSystemArn":%q,"originalSourceFileSystemArn":%q,"creationTime":"Nov 20, 2026, 9:05:00 AM","destinations":[{"status":"ENABLING","fileSystemId":%q,"region":%q}],"sourceFileSystemOwnerId":%q}`,
			fs1, region, fs1ARN, fs1ARN, replica, replRegion, acct))
}

func deleteReplicationDoc(t *testing.T, id string, minutes int) *cloudtrail.Record {
	return efsDoc(t, id, minutes, "DeleteReplicationConfiguration", fmt.Sprintf(`{"sourceFileSystemId":%q}`, fs1), "null")
}

func TestMemoryReplication(t *testing.T) {
	ctx := context.Background()
	replicaARN := arns.FileSystemARN(replRegion, acct, fsReplica)
	k2ARN := arns.KeyARN(replRegion, acct, k2)
	tests := []struct {
		name    string
		records func(t *testing.T) []*cloudtrail.Record
		touched []ResourceRef // by the last record
		replica FileSystem    // Updated not compared
		blast   []string      // file systems k2 protects
	}{
		{"a new replica encrypted with a named key joins its blast radius", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, createReplicationDoc(t, "cr", 5, k2ARN, "")}
		}, []ResourceRef{{TypeFileSystem, replicaARN}, {TypeKey, k2ARN}},
			FileSystem{ARN: replicaARN, ID: fsReplica, Account: acct, Region: replRegion, Encrypted: true, Known: true,
				KMSKeyID: k2ARN, KMSKeyARN: k2ARN, ReplicationSource: fs1ARN}, []string{replicaARN}},
		{"a new replica without a key is encrypted with EFS's AWS managed key", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, createReplicationDoc(t, "cr", 5, "", "")}
		}, []ResourceRef{{TypeFileSystem, replicaARN}},
			FileSystem{ARN: replicaARN, ID: fsReplica, Account: acct, Region: replRegion, Encrypted: true, Known: true,
				KMSKeyID: EFSDefaultKeyAlias, ReplicationSource: fs1ARN}, nil},
		{"an existing destination keeps what is known of it", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, createReplicationDoc(t, "cr", 5, "", fsReplica)}
		}, []ResourceRef{{TypeFileSystem, replicaARN}},
			FileSystem{ARN: replicaARN, ID: fsReplica, Account: acct, Region: replRegion, ReplicationSource: fs1ARN}, nil},
		{"deleting the configuration ends the link; the replica stays encrypted", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, createReplicationDoc(t, "cr", 5, k2ARN, ""), deleteReplicationDoc(t, "dr", 9)}
		}, []ResourceRef{{TypeFileSystem, fs1ARN}, {TypeFileSystem, replicaARN}},
			FileSystem{ARN: replicaARN, ID: fsReplica, Account: acct, Region: replRegion, Encrypted: true, Known: true,
				KMSKeyID: k2ARN, KMSKeyARN: k2ARN}, []string{replicaARN}},
		{"an older creation arriving after the deletion does not link them again", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, deleteReplicationDoc(t, "dr", 9), createReplicationDoc(t, "cr", 5, k2ARN, "")}
		}, []ResourceRef{{TypeFileSystem, replicaARN}, {TypeKey, k2ARN}},
			FileSystem{ARN: replicaARN, ID: fsReplica, Account: acct, Region: replRegion, Encrypted: true, Known: true,
				KMSKeyID: k2ARN, KMSKeyARN: k2ARN}, []string{replicaARN}},
		{"a failed call creates no replica", func(t *testing.T) []*cloudtrail.Record {
			return []*cloudtrail.Record{createKey, createFS, failedWith(createReplicationDoc(t, "cr", 5, k2ARN, ""), "ValidationException")}
		}, nil, FileSystem{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			var last Change
			for _, r := range tc.records(t) {
				ch, err := m.Apply(ctx, r)
				if err != nil {
					t.Fatalf("apply %s: %v", r.EventID, err)
				}
				last = ch
			}
			if !reflect.DeepEqual(last.Touched, tc.touched) {
				t.Errorf("touched %v, want %v", last.Touched, tc.touched)
			}
			fs, _ := m.FileSystem(ctx, replicaARN)
			if tc.replica.ARN == "" {
				if fs != nil {
					t.Fatalf("replica %+v", fs)
				}
				return
			}
			if fs == nil {
				t.Fatal("replica unknown")
			}
			fs.Updated = time.Time{}
			if !reflect.DeepEqual(*fs, tc.replica) {
				t.Errorf("replica =\n%+v\nwant\n%+v", *fs, tc.replica)
			}
			var blast []string
			fss, _ := m.FileSystemsForKey(ctx, k2ARN)
			for _, f := range fss {
				blast = append(blast, f.ARN)
			}
			if !reflect.DeepEqual(blast, tc.blast) {
				t.Errorf("k2 protects %v, want %v", blast, tc.blast)
			}
		})
	}
}

func TestMemoryReplicationBadRecords(t *testing.T) {
	tests := []struct {
		name string
		rec  func(t *testing.T) *cloudtrail.Record
		want string
	}{
		{"no destination in the response", func(t *testing.T) *cloudtrail.Record {
			return efsDoc(t, "x", 0, "CreateReplicationConfiguration", fmt.Sprintf(`{"sourceFileSystemId":%q}`, fs1), `{"destinations":[]}`)
		}, "apply CreateReplicationConfiguration x: bad record: responseElements.destinations[0].fileSystemId missing"},
		{"destinations not a list", func(t *testing.T) *cloudtrail.Record {
			return efsDoc(t, "x", 0, "CreateReplicationConfiguration", fmt.Sprintf(`{"sourceFileSystemId":%q}`, fs1), `{"destinations":{"fileSystemId":"fs-1"}}`)
		}, "apply CreateReplicationConfiguration x: bad record: responseElements.destinations: want []state.replicationDestination, got JSON object"},
		{"delete without a file system", func(t *testing.T) *cloudtrail.Record {
			return efsDoc(t, "x", 0, "DeleteReplicationConfiguration", `{}`, "null")
		}, "apply DeleteReplicationConfiguration x: bad record: requestParameters.sourceFileSystemId missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewMemory().Apply(context.Background(), tc.rec(t))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %s", err, tc.want)
			}
		})
	}
}
