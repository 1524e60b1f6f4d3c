package state

import (
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/eventpattern"
	"github.com/atrest/atrest/internal/logfilter"
)

// Dropped is what a watched EventBridge rule's event pattern, or a watched
// subscription filter's filter pattern, does not let through of one event
// source's events of interest.
type Dropped struct {
	Source string `json:"source"`
	// EventNames are the event names of interest of Source whose events
	// the pattern does not let through, sorted.
	EventNames []string `json:"event_names"`
	// All is true when none of Source's events of interest gets through.
	All bool `json:"all"`
}

// Coverage is the judgement of a pattern against representative events of
// every event name of interest.
type Coverage struct {
	// Error says why the pattern could not be read; "" when it could. A
	// pattern that cannot be read is never taken to let anything through.
	Error string
	// Dropped lists the sources whose events of interest do not all get
	// through, sorted by source; never nil.
	Dropped []Dropped
}

// EventRuleCoverage judges an EventBridge rule's event pattern: it matches
// the pattern against an "AWS API Call via CloudTrail" event for every event
// name of interest, in account and region. A rule that matches none of them
// drops the KMS and EFS calls; a rule that matches some of a source's events
// (atrest's rules each watch one source) drops the others of that source.
// An empty pattern (a schedule-only rule) matches no event.
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
func EventRuleCoverage(pattern, account, region string) Coverage {
	if pattern == "" {
		return Coverage{Dropped: dropAll(MonitoredSources)}
	}
	p, err := eventpattern.Parse(pattern)
	if err != nil {
		return Coverage{Error: err.Error(), Dropped: []Dropped{}}
	}
	return judge(func(rec map[string]any) bool { return p.Match(eventBridgeEvent(rec, account, region)) }, account, region, nil)
}

// eventBridgeEvent wraps a record as EventBridge delivers it: "AWS API Call
// via CloudTrail", or "AWS Service Event via CloudTrail" for a service
// event.
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-ref-cloudtrail.html
func eventBridgeEvent(rec map[string]any, account, region string) map[string]any {
	detailType := "AWS API Call via CloudTrail"
	if rec["eventType"] == "AwsServiceEvent" {
		detailType = "AWS Service Event via CloudTrail"
	}
	return map[string]any{
		"version": "0", "id": "00000000-0000-0000-0000-000000000000",
		"detail-type": detailType, "source": eventBridgeSource(rec["eventSource"].(string)),
		"account": account, "time": rec["eventTime"], "region": region, "resources": []any{},
		"detail": rec,
	}
}

// serviceEvents are the event names CloudTrail records as AWS service
// events (eventType AwsServiceEvent) rather than API calls.
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-deleteexpiredkeymaterial.html
// https://docs.aws.amazon.com/kms/latest/developerguide/ct-delete-key.html
var serviceEvents = map[string]bool{"DeleteExpiredKeyMaterial": true, "DeleteKey": true}

// FilterCoverage judges a subscription filter's filter pattern: it matches
// the pattern against a CloudTrail record (the message CloudTrail writes to
// its log group) for every event name of interest. Every KMS and EFS record
// must get through; of the other sources, the ones the filter passes at all
// must get through whole.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
func FilterCoverage(pattern, account, region string) Coverage {
	f, err := logfilter.Parse(pattern)
	if err != nil {
		return Coverage{Error: err.Error(), Dropped: []Dropped{}}
	}
	return judge(func(rec map[string]any) bool { return f.Match(rec) }, account, region, MonitoredSources)
}

func judge(passes func(map[string]any) bool, account, region string, required []string) Coverage {
	cov := Coverage{Dropped: []Dropped{}}
	anyPassed := false
	for _, source := range cloudtrail.Sources() {
		var missed []string
		names := cloudtrail.SourceEventNames(source)
		for _, name := range names {
			if !passes(representativeRecord(source, name, account, region)) {
				missed = append(missed, name)
			}
		}
		passed := len(missed) < len(names)
		anyPassed = anyPassed || passed
		if len(missed) > 0 && (passed || slices.Contains(required, source)) {
			cov.Dropped = append(cov.Dropped, Dropped{Source: source, EventNames: missed, All: !passed})
		}
	}
	if !anyPassed && required == nil {
		cov.Dropped = dropAll(MonitoredSources)
	}
	return cov
}

func dropAll(sources []string) []Dropped {
	out := []Dropped{}
	for _, s := range sources {
		out = append(out, Dropped{Source: s, EventNames: cloudtrail.SourceEventNames(s), All: true})
	}
	return out
}

// eventBridgeSource is the EventBridge source of a service's CloudTrail
// events: "aws." and the service's endpoint prefix.
func eventBridgeSource(eventSource string) string {
	return "aws." + strings.TrimSuffix(eventSource, ".amazonaws.com")
}

// representativeRecord is a successful management API call, or a service
// event, in the shape CloudTrail writes it, as decoded JSON.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html
func representativeRecord(source, name, account, region string) map[string]any {
	if serviceEvents[name] {
		return map[string]any{
			"eventVersion": "1.11",
			"userIdentity": map[string]any{"accountId": account, "invokedBy": "AWS Internal"},
			"eventTime":    "2026-01-01T00:00:00Z", "eventSource": source, "eventName": name,
			"awsRegion": region, "sourceIPAddress": "AWS Internal", "userAgent": "AWS Internal",
			"requestParameters": nil, "responseElements": nil,
			"eventID": "00000000-0000-0000-0000-000000000000", "readOnly": false,
			"eventType": "AwsServiceEvent", "managementEvent": true,
			"recipientAccountId": account, "eventCategory": "Management",
		}
	}
	return map[string]any{
		"eventVersion": "1.09",
		"userIdentity": map[string]any{
			"type": "AssumedRole", "principalId": "AROAEXAMPLE:session",
			"arn":       arns.ARN{Partition: arns.Partition(region), Service: arns.ServiceSTS, AccountID: account, Resource: "assumed-role/admin/session"}.String(),
			"accountId": account,
		},
		"eventTime": "2026-01-01T00:00:00Z", "eventSource": source, "eventName": name,
		"awsRegion": region, "sourceIPAddress": "192.0.2.0", "userAgent": "aws-cli/2",
		"requestParameters": map[string]any{}, "responseElements": nil,
		"requestID": "00000000-0000-0000-0000-000000000000", "eventID": "00000000-0000-0000-0000-000000000000",
		"readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
		"recipientAccountId": account, "eventCategory": "Management",
	}
}
