package state

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// The store applies records that arrive in separate inputs in the order the
// pipeline sorts one input in (cloudtrail.Compare): a modification at T is
// never undone by a creation at the same T applied after it, and a creation
// older than a deletion never undoes the deletion.
//
// Parameters as the documented records carry them:
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-createkey.html
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-enablekeyrotation.html
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-schedule-key-deletion.html
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_StartLogging.html
// https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_DeleteTrail.html
// https://docs.aws.amazon.com/efs/latest/ug/API_CreateFileSystem.html
// https://docs.aws.amazon.com/efs/latest/ug/API_DeleteFileSystem.html
func TestApplyOrderAcrossArrivals(t *testing.T) {
	at := func(r *cloudtrail.Record, d time.Duration) *cloudtrail.Record {
		c := *r
		c.EventTime = t0.Add(d)
		return &c
	}
	createKey := at(createKey, 0)
	enable := at(kms("0-enable", 0, "EnableKeyRotation", fmt.Sprintf(`{"keyId":%q,"rotationPeriodInDays":180}`, k1), fmt.Sprintf(`{"keyId":%q}`, k1ARN)), 0)
	disable := at(kms("1-disable", 0, "DisableKeyRotation", fmt.Sprintf(`{"keyId":%q}`, k1), ""), 0)
	schedule := at(kms("sk", 0, "ScheduleKeyDeletion", fmt.Sprintf(`{"keyId":%q,"pendingWindowInDays":30}`, k1),
		fmt.Sprintf(`{"keyId":%q,"keyState":"PendingDeletion","pendingWindowInDays":30}`, k1ARN)), 10*time.Minute)
	start := trailRec("0-start", 0, "StartLogging", `{"name":"`+trailARN+`"}`, "")
	deleteTrail := trailRec("dt", 10, "DeleteTrail", `{"name":"`+trailARN+`"}`, "")
	createFS := at(createFS, time.Minute)
	deleteFS := efs("df", 10, "DeleteFileSystem", fmt.Sprintf(`{"fileSystemId":%q}`, fs1), "")

	type want struct {
		rotation *bool
		keyState string
		logging  string
		trailDel bool
		fsDel    bool
		radius   int
	}
	tests := []struct {
		name string
		recs []*cloudtrail.Record
		want want
	}{
		{"creation then modification of one second", []*cloudtrail.Record{createKey, enable, createTrail, start},
			want{rotation: boolp(true), keyState: KeyStateEnabled, logging: LoggingOn}},
		{"modification then creation of one second", []*cloudtrail.Record{enable, start, createKey, createTrail},
			want{rotation: boolp(true), keyState: KeyStateEnabled, logging: LoggingOn}},
		{"two modifications of one second: the eventID decides, either way", []*cloudtrail.Record{createKey, disable, enable},
			want{rotation: boolp(false), keyState: KeyStateEnabled}},
		{"two modifications of one second, the other way round", []*cloudtrail.Record{createKey, enable, disable},
			want{rotation: boolp(false), keyState: KeyStateEnabled}},
		{"deletions first, older creations after", []*cloudtrail.Record{deleteFS, schedule, deleteTrail, createFS, createKey, createTrail},
			want{rotation: boolp(false), keyState: KeyStatePendingDeletion, logging: LoggingOff, trailDel: true, fsDel: true}},
		{"creations first, deletions after", []*cloudtrail.Record{createKey, createFS, createTrail, deleteFS, schedule, deleteTrail},
			want{rotation: boolp(false), keyState: KeyStatePendingDeletion, logging: LoggingOff, trailDel: true, fsDel: true}},
		{"a file system alive", []*cloudtrail.Record{createKey, createFS},
			want{rotation: boolp(false), keyState: KeyStateEnabled, radius: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMemory()
			applyAll(t, m, tt.recs...)
			ctx := context.Background()
			k, _ := m.Key(ctx, k1ARN)
			if k == nil || fmt.Sprint(k.RotationEnabled != nil && *k.RotationEnabled) != fmt.Sprint(*tt.want.rotation) || k.KeyState != tt.want.keyState {
				t.Errorf("key %+v, want rotation %v, state %s", k, *tt.want.rotation, tt.want.keyState)
			}
			if tt.want.logging != "" {
				tr := getTrail(t, m, trailARN)
				if tr.Logging != tt.want.logging || tr.Deleted != tt.want.trailDel {
					t.Errorf("trail logging %q, deleted %v; want %q, %v", tr.Logging, tr.Deleted, tt.want.logging, tt.want.trailDel)
				}
			}
			if fs, _ := m.FileSystem(ctx, fs1ARN); fs != nil && fs.Deleted != tt.want.fsDel {
				t.Errorf("file system deleted %v, want %v", fs.Deleted, tt.want.fsDel)
			}
			if radius, _ := m.FileSystemsForKey(ctx, k1ARN); len(radius) != tt.want.radius {
				t.Errorf("blast radius %d file systems, want %d", len(radius), tt.want.radius)
			}
		})
	}
}
