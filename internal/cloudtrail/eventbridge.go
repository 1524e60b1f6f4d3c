package cloudtrail

import (
	"encoding/json"
	"fmt"
)

// EventBridge detail-types of the CloudTrail records atrest reads: API calls,
// and events AWS services record without a call (eventType AwsServiceEvent,
// such as KMS deleting expired key material or a key whose deletion was
// scheduled). Both carry one CloudTrail record as their detail.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
const (
	detailTypeCloudTrail   = "AWS API Call via CloudTrail"
	detailTypeServiceEvent = "AWS Service Event via CloudTrail"
)

// eventBridgeEvent is an EventBridge event carrying a CloudTrail record: an
// API call or an AWS service event.
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
type eventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func (src *source) eventBridge(raw []byte, loc string) error {
	var ev eventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return src.envelopeError(loc, "EventBridge event", err)
	}
	if ev.DetailType != detailTypeCloudTrail && ev.DetailType != detailTypeServiceEvent {
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("EventBridge event %s: detail-type %q", ev.ID, ev.DetailType))
		return nil
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		src.run.stats.Records++
		src.report(loc, "", ErrMissingField, fmt.Errorf("detail (EventBridge event %s)", ev.ID))
		return nil
	}
	env := &envelopeCheck{id: ev.ID, account: ev.Account, region: ev.Region}
	return src.recordBytes(ev.Detail, loc, "", ShapeEventBridge, env)
}
