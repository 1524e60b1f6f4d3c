package cloudtrail

import (
	"slices"
	"testing"
	"time"
)

func TestRankOf(t *testing.T) {
	tests := []struct {
		name      string
		eventName string
		want      Rank
	}{
		{"key creation", EventCreateKey, RankCreate},
		{"replica creation", "ReplicateKey", RankCreate},
		{"file-system creation", EventCreateFileSystem, RankCreate},
		{"trail creation", EventCreateTrail, RankCreate},
		{"grant creation", EventCreateGrant, RankCreate},
		{"replication creation", "CreateReplicationConfiguration", RankCreate},
		{"rule put", EventPutRule, RankCreate},
		{"rotation enabled", EventEnableKeyRotation, RankModify},
		{"logging started", EventStartLogging, RankModify},
		{"file-system policy put", EventPutFileSystemPolicy, RankModify},
		{"key policy put", EventPutKeyPolicy, RankModify},
		{"alias created", EventCreateAlias, RankModify},
		{"alias deleted", EventDeleteAlias, RankModify},
		{"file-system policy deleted", EventDeleteFileSystemPolicy, RankModify},
		{"unknown name", "FrobnicateKey", RankModify},
		{"empty name", "", RankModify},
		{"file-system deletion", EventDeleteFileSystem, RankDelete},
		{"key deletion scheduled", EventScheduleKeyDeletion, RankDelete},
		{"trail deletion", EventDeleteTrail, RankDelete},
		{"grant revoked", EventRevokeGrant, RankEndGrant},
		{"grant retired", EventRetireGrant, RankEndGrant},
		{"targets removed", EventRemoveTargets, RankDelete},
		{"key deletion cancelled", EventCancelKeyDeletion, RankUndelete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := RankOf(tt.eventName); got != tt.want {
				t.Errorf("RankOf(%q) = %s, want %s", tt.eventName, got, tt.want)
			}
		})
	}
}

func TestCompareOrdersRecords(t *testing.T) {
	sec := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := func(id string, at time.Time, name string) *Record {
		return &Record{EventID: id, EventTime: at, EventName: name}
	}
	tests := []struct {
		name string
		in   []*Record
		want []string // eventIDs in applied order
	}{
		{"time first", []*Record{r("a", sec.Add(time.Second), EventCreateKey), r("b", sec, EventScheduleKeyDeletion)},
			[]string{"b", "a"}},
		{"creation before modification in one second",
			[]*Record{r("0", sec, EventEnableKeyRotation), r("1", sec, EventCreateKey)}, []string{"1", "0"}},
		{"modification before deletion in one second",
			[]*Record{r("0", sec, EventDeleteFileSystem), r("1", sec, EventPutFileSystemPolicy), r("2", sec, EventCreateFileSystem)},
			[]string{"2", "1", "0"}},
		{"cancellation after the scheduled deletion",
			[]*Record{r("0", sec, EventCancelKeyDeletion), r("1", sec, EventScheduleKeyDeletion)}, []string{"1", "0"}},
		{"eventID within a rank", []*Record{r("b", sec, EventDisableKey), r("a", sec, EventEnableKey)}, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reversed := slices.Clone(tt.in)
			slices.Reverse(reversed)
			for _, in := range [][]*Record{tt.in, reversed} {
				got := slices.Clone(in)
				slices.SortFunc(got, Compare)
				var ids []string
				for _, rec := range got {
					ids = append(ids, rec.EventID)
				}
				if !slices.Equal(ids, tt.want) {
					t.Errorf("order %v, want %v", ids, tt.want)
				}
			}
		})
	}
}
