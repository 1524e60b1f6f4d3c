package cloudtrail

import (
	"cmp"
	"strings"
)

// The order atrest applies records in.
//
// A record's eventTime is "the date and time the request was completed" to
// the second, and "CloudTrail log files aren't an ordered stack trace of the
// public API calls, so events don't appear in any specific order":
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-events.html
//
// Infrastructure as code makes calls that depend on each other within one
// second (CreateKey then EnableKeyRotation, CreateTrail then StartLogging).
// Records with the same eventTime are therefore applied in causal order:
// a call that creates a resource before one that changes it, and that before
// one that deletes it; CancelKeyDeletion, which can only follow
// ScheduleKeyDeletion, comes last. Within a rank the eventID decides, so the
// result never depends on the order of the input or on the delivery shape.

// Rank is the place of an event name in the causal order of records that
// share an eventTime.
type Rank int

// Ranks, in the order records of one eventTime are applied.
const (
	RankCreate   Rank = iota // creates a resource (or a grant, a link)
	RankModify               // changes one; every name not listed
	RankDelete               // deletes or ends one
	RankEndGrant             // ends a grant: after the deletion that ends its use
	RankUndelete             // undoes a deletion that only a deletion can precede
)

var rankNames = [...]string{"create", "modify", "delete", "end grant", "undelete"}

func (r Rank) String() string {
	if r < 0 || int(r) >= len(rankNames) {
		return "unknown"
	}
	return rankNames[r]
}

// ranks lists the event names that do not modify. Event names are unique
// enough across the services atrest reads that the name alone decides.
var ranks = map[string]Rank{
	// Creation.
	EventCreateKey:                      RankCreate,
	EventReplicateKey:                   RankCreate,
	EventCreateGrant:                    RankCreate,
	EventCreateFileSystem:               RankCreate,
	EventCreateReplicationConfiguration: RankCreate,
	"CreateMountTarget":                 RankCreate,
	"CreateAccessPoint":                 RankCreate,
	EventCreateTrail:                    RankCreate,
	EventPutRule:                        RankCreate, // creates the rule, or replaces it whole
	EventPutSubscriptionFilter:          RankCreate, // creates the filter, or replaces it whole
	"CreateLogGroup":                    RankCreate,

	// Deletion.
	EventScheduleKeyDeletion: RankDelete,
	EventDeleteKey:           RankDelete, // the service event at the end of the waiting period
	// EFS retires its grant because the file system was deleted: in one
	// second the deletion comes first, so the retirement is judged as the
	// normal end of a grant, never as a live file system losing its key.
	EventRevokeGrant:                    RankEndGrant,
	EventRetireGrant:                    RankEndGrant,
	EventDeleteFileSystem:               RankDelete,
	EventDeleteReplicationConfiguration: RankDelete,
	"DeleteMountTarget":                 RankDelete,
	"DeleteAccessPoint":                 RankDelete,
	EventDeleteTrail:                    RankDelete,
	EventDeleteRule:                     RankDelete,
	EventRemoveTargets:                  RankDelete,
	EventDeleteSubscriptionFilter:       RankDelete,
	"DeleteLogGroup":                    RankDelete,

	// Only a deletion can precede it.
	EventCancelKeyDeletion: RankUndelete,
}

// RankOf returns the rank of an event name; names not listed (new or
// unknown ones included) modify.
func RankOf(eventName string) Rank {
	if r, ok := ranks[eventName]; ok {
		return r
	}
	return RankModify
}

// Compare orders two records the way atrest applies them: by eventTime,
// then by the rank of their event names, then by eventID. It returns a
// negative number when a comes first, a positive one when b does, and zero
// for two copies of one record.
func Compare(a, b *Record) int {
	return cmp.Or(
		a.EventTime.Compare(b.EventTime),
		cmp.Compare(RankOf(a.EventName), RankOf(b.EventName)),
		strings.Compare(a.EventID, b.EventID),
	)
}
