package cloudtrail

import (
	"encoding/json"

	"github.com/atrest/atrest/internal/jsonwalk"
)

// Most of decoding a record with encoding/json is its reflective walk,
// which reads the record's large members (requestParameters with a key
// policy in it) byte by byte only to keep them as they are. walkRecord
// reads a record that jsonwalk.Valid (json.Valid, faster) has passed the
// way json.Unmarshal would, stepping over members by quotes and brackets;
// whatever it does not read plainly it leaves to json.Unmarshal, which then
// decides (and names what is wrong): a key with an escape or past ASCII, a
// member given twice, a value of another type than the field's, an
// eventTime that does not parse.

// Record fields by the lower-case form of their JSON names: encoding/json
// matches names without regard to case, and for plain ASCII keys that is
// ASCII case folding.
const (
	fEventVersion = iota
	fUserIdentity
	fEventTime
	fEventSource
	fEventName
	fAWSRegion
	fSourceIPAddress
	fUserAgent
	fErrorCode
	fErrorMessage
	fRequestParameters
	fResponseElements
	fRequestID
	fEventID
	fReadOnly
	fResources
	fEventType
	fRecipientAccountID
	fEventCategory
	fAdditionalEventData
)

var recordFields = map[string]int{
	"eventversion": fEventVersion, "useridentity": fUserIdentity, "eventtime": fEventTime,
	"eventsource": fEventSource, "eventname": fEventName, "awsregion": fAWSRegion,
	"sourceipaddress": fSourceIPAddress, "useragent": fUserAgent, "errorcode": fErrorCode,
	"errormessage": fErrorMessage, "requestparameters": fRequestParameters,
	"responseelements": fResponseElements, "requestid": fRequestID, "eventid": fEventID,
	"readonly": fReadOnly, "resources": fResources, "eventtype": fEventType,
	"recipientaccountid": fRecipientAccountID, "eventcategory": fEventCategory,
	"additionaleventdata": fAdditionalEventData,
}

// Fields of userIdentity and of a resources entry, likewise.
var (
	identityFields = map[string]int{"type": 0, "principalid": 1, "arn": 2, "accountid": 3, "invokedby": 4}
	resourceFields = map[string]int{"arn": 0, "accountid": 1, "type": 2}
)

// walkRaw keeps a member's text, as json.RawMessage does (null included).
func walkRaw(w *jsonwalk.Walk, dst *json.RawMessage) bool {
	tok, ok := w.Value()
	if ok {
		*dst = append(json.RawMessage(nil), tok...)
	}
	return ok
}

// walkRecord decodes raw into rec as json.Unmarshal would; ok is false
// when it leaves raw to json.Unmarshal. raw must be valid JSON and valid
// UTF-8, and rec a zero Record.
func walkRecord(raw []byte, rec *Record) bool {
	w := &jsonwalk.Walk{B: raw}
	strs := recordStrings(rec)
	ok := w.Members(recordFields, func(f int) bool {
		switch f {
		case fUserIdentity:
			if w.Null() {
				return true
			}
			u := &rec.UserIdentity
			return w.Members(identityFields, func(f int) bool {
				return w.StringInto([...]*string{&u.Type, &u.PrincipalID, &u.ARN, &u.AccountID, &u.InvokedBy}[f])
			})
		case fEventTime:
			tok, ok := w.Value()
			return ok && (tok[0] == '"' || tok[0] == 'n') && rec.EventTime.UnmarshalJSON(tok) == nil
		case fRequestParameters:
			return walkRaw(w, &rec.RequestParameters)
		case fResponseElements:
			return walkRaw(w, &rec.ResponseElements)
		case fAdditionalEventData:
			return walkRaw(w, &rec.AdditionalEventData)
		case fReadOnly:
			if w.Null() {
				rec.ReadOnly = nil
				return true
			}
			tok, ok := w.Value()
			if !ok || string(tok) != "true" && string(tok) != "false" {
				return false
			}
			b := string(tok) == "true"
			rec.ReadOnly = &b
			return true
		case fResources:
			if w.Null() {
				rec.Resources = nil
				return true
			}
			rec.Resources = []Resource{}
			return w.Array(func() bool {
				rec.Resources = append(rec.Resources, Resource{})
				if w.Null() {
					return true
				}
				r := &rec.Resources[len(rec.Resources)-1]
				return w.Members(resourceFields, func(f int) bool {
					return w.StringInto([...]*string{&r.ARN, &r.AccountID, &r.Type}[f])
				})
			})
		}
		if p := strs[f]; p != nil {
			return w.StringInto(p)
		}
		return false
	})
	return ok && w.End()
}

// recordStrings are a record's string fields by their field constant, nil
// for the fields of other types.
func recordStrings(rec *Record) [fAdditionalEventData + 1]*string {
	return [fAdditionalEventData + 1]*string{
		fEventVersion:       &rec.EventVersion,
		fEventSource:        &rec.EventSource,
		fEventName:          &rec.EventName,
		fAWSRegion:          &rec.AWSRegion,
		fSourceIPAddress:    &rec.SourceIPAddress,
		fUserAgent:          &rec.UserAgent,
		fErrorCode:          &rec.ErrorCode,
		fErrorMessage:       &rec.ErrorMessage,
		fRequestID:          &rec.RequestID,
		fEventID:            &rec.EventID,
		fEventType:          &rec.EventType,
		fRecipientAccountID: &rec.RecipientAccountID,
		fEventCategory:      &rec.EventCategory,
	}
}
