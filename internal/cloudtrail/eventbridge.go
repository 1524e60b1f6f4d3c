package cloudtrail

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/jsonwalk"
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

// eventBridge decodes an EventBridge event whose members are raw, the last
// "detail" member's value at raw[detail[0]:detail[1]] (-1 when there is
// none). The envelope is decoded without it (its value read as null), so
// that the record is read once, by the record decoder.
func (src *source) eventBridge(raw []byte, detail [2]int, loc string) error {
	var ev eventBridgeEvent
	envelope := raw
	if detail[0] >= 0 {
		envelope = make([]byte, 0, len(raw)-(detail[1]-detail[0])+4)
		envelope = append(append(append(envelope, raw[:detail[0]]...), "null"...), raw[detail[1]:]...)
	}
	if !jsonwalk.Valid(envelope) || !utf8.Valid(envelope) || !walkEnvelope(envelope, &ev) {
		ev = eventBridgeEvent{}
		if err := json.Unmarshal(envelope, &ev); err != nil {
			return src.envelopeError(loc, "EventBridge event", err)
		}
	}
	if ev.DetailType != detailTypeCloudTrail && ev.DetailType != detailTypeServiceEvent {
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("EventBridge event %s: detail-type %q", ev.ID, ev.DetailType))
		return nil
	}
	if detail[0] >= 0 {
		ev.Detail = raw[detail[0]:detail[1]]
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		src.run.stats.Records++
		src.report(loc, "", ErrMissingField, fmt.Errorf("detail (EventBridge event %s)", ev.ID))
		return nil
	}
	env := &envelopeCheck{id: ev.ID, account: ev.Account, region: ev.Region}
	return src.recordBytes(ev.Detail, loc, "", ShapeEventBridge, env)
}

// Fields of an EventBridge event, by the lower-case form of their JSON
// names (jsonwalk.Walk.Members): the strings first, in eventBridgeEvent's
// order.
const (
	evResources = 7 + iota
	evDetail
)

var envelopeFields = map[string]int{
	"version": 0, "id": 1, "detail-type": 2, "source": 3, "account": 4, "time": 5, "region": 6,
	"resources": evResources, "detail": evDetail,
}

// walkEnvelope decodes an EventBridge event into ev as json.Unmarshal
// would, as walkRecord decodes a record; ok is false when it leaves raw to
// json.Unmarshal. raw must be valid JSON and valid UTF-8, and ev zero.
func walkEnvelope(raw []byte, ev *eventBridgeEvent) bool {
	w := &jsonwalk.Walk{B: raw}
	ok := w.Members(envelopeFields, func(f int) bool {
		switch f {
		case evResources:
			return w.StringsInto(&ev.Resources)
		case evDetail:
			return walkRaw(w, &ev.Detail)
		}
		return w.StringInto([...]*string{&ev.Version, &ev.ID, &ev.DetailType, &ev.Source, &ev.Account, &ev.Time, &ev.Region}[f])
	})
	return ok && w.End()
}
