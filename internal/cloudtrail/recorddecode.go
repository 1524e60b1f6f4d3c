package cloudtrail

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/jsonwalk"
)

// interestingNames holds every event name of interest, for the byte scan.
var interestingNames = func() map[string]bool {
	m := map[string]bool{}
	for _, names := range interest {
		for n := range names {
			m[n] = true
		}
	}
	return m
}()

// envelopeCheck compares a record with the EventBridge event it came in.
type envelopeCheck struct {
	id, account, region string
}

// record decodes one CloudTrail record of raw and emits it if it is of
// interest. Records of no interest are counted and dropped on the byte scan
// alone when their eventName or eventSource says so.
func (src *source) record(raw []byte, info *keyInfo, at location, note string, shape Shape, env *envelopeCheck) error {
	ru := src.run
	ru.stats.Records++
	if info.dup != 0 {
		eventID := ""
		if id, ok := info.str(raw, keyEventID); ok {
			eventID = string(id)
		}
		src.report(at.String(), eventID, ErrMalformed, notePrefix(note,
			fmt.Errorf("duplicate key %s: the record is ambiguous", keyNames[info.dup-1])))
		return nil
	}
	var name, source []byte
	nameOK, sourceOK := false, false
	if !info.unsure && !ru.plain {
		name, nameOK = info.str(raw, keyEventName)
		source, sourceOK = info.str(raw, keyEventSource)
		if nameOK && !interestingNames[string(name)] || sourceOK && interest[string(source)] == nil {
			ru.stats.Skipped++
			return nil
		}
	}
	// Past the byte scan: the record may be of interest.
	loc := at.String()
	eventID := ""
	if id, ok := info.str(raw, keyEventID); ok {
		eventID = string(id)
	}
	if !info.unsure && !ru.plain {
		switch {
		case !info.v[keyEventName].present:
			if !sourceOK {
				ru.stats.Skipped++
				return nil
			}
			src.report(loc, eventID, ErrMissingField, notePrefix(note, errors.New("eventName")))
			return nil
		case !info.v[keyEventName].isString:
			src.report(loc, eventID, ErrWrongType, notePrefix(note, fmt.Errorf("eventName is %s, not a string", withArticle(fieldKind(raw, "eventName")))))
			return nil
		}
	}
	if !utf8.Valid(raw) {
		ru.countInvalid(raw)
		src.report(loc, eventID, ErrMalformed, notePrefix(note, errors.New("invalid UTF-8")))
		return nil
	}
	rec := new(Record)
	if !jsonwalk.Valid(raw) || !walkRecord(raw, rec) {
		*rec = Record{}
		if err := json.Unmarshal(raw, rec); err != nil {
			ru.countInvalid(raw)
			kind, err := explainUnmarshal(raw, err)
			src.report(loc, eventID, kind, notePrefix(note, err))
			return nil
		}
	}
	if rec.EventID != "" {
		eventID = rec.EventID
	}
	if !Interesting(rec.EventSource, rec.EventName) {
		if rec.EventSource != "" && rec.EventName != "" || !InterestingName(rec.EventName) {
			ru.stats.Skipped++
			return nil
		}
	}
	var missing []string
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"eventID", rec.EventID == ""},
		{"eventName", rec.EventName == ""},
		{"eventSource", rec.EventSource == ""},
		{"eventTime", rec.EventTime.IsZero()},
	} {
		if f.missing {
			missing = append(missing, f.name)
		}
	}
	if missing != nil {
		ru.invalid(rec.EventSource, rec.EventName)
		src.report(loc, eventID, ErrMissingField, notePrefix(note, errors.New(strings.Join(missing, ", "))))
		return nil
	}
	// CloudTrail record fields are stable within major version 1; another
	// major version may change them, so it is reported, not guessed at.
	if rec.EventVersion != "" && !strings.HasPrefix(rec.EventVersion, "1.") {
		ru.invalid(rec.EventSource, rec.EventName)
		src.report(loc, eventID, ErrVersion, notePrefix(note, fmt.Errorf("eventVersion %q: atrest reads version 1.x records", rec.EventVersion)))
		return nil
	}
	if env != nil {
		if rec.RecipientAccountID == "" {
			rec.RecipientAccountID = env.account
		} else if env.account != "" && env.account != rec.RecipientAccountID {
			src.report(loc, eventID, ErrMismatch, fmt.Errorf("event %s: account %s, record's recipientAccountId %s", env.id, env.account, rec.RecipientAccountID))
		}
		if env.region != "" && rec.AWSRegion != env.region {
			src.report(loc, eventID, ErrMismatch, fmt.Errorf("event %s: region %s, record's awsRegion %s", env.id, env.region, rec.AWSRegion))
		}
	}
	ru.stats.Relevant++
	if err := ru.emit(rec, shape, Position{Input: src.input, Location: src.where(loc)}); err != nil {
		return fmt.Errorf("emit record %s: %w", rec.EventID, err)
	}
	return nil
}

// invalid counts a record that is reported as bad instead of emitted, as of
// interest when its event source and name (or its name alone, when the
// source is missing) are.
func (ru *run) invalid(source, name string) {
	if Interesting(source, name) || source == "" && InterestingName(name) {
		ru.stats.Relevant++
		ru.stats.Invalid++
	}
}

// countInvalid counts a record that did not decode by the event source and
// name it carries, read on their own.
func (ru *run) countInvalid(raw []byte) {
	var id struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
	}
	_ = json.Unmarshal(raw, &id) // a field of the wrong type stays empty
	ru.invalid(id.EventSource, id.EventName)
}

// explainUnmarshal turns the error of decoding a record into its kind and a
// message that names the field: a syntax error is malformed JSON, a value of
// the wrong JSON type is a wrong type, and an eventTime string that is not an
// RFC 3339 time is a wrong format.
func explainUnmarshal(raw []byte, err error) (error, error) {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return ErrMalformed, err
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return ErrWrongType, fmt.Errorf("%s is %s, not %s", typeErr.Field, withArticle(typeErr.Value), goKindName(typeErr.Type))
	}
	// time.Time's own decoding failed: eventTime is the record's only time.
	var t struct {
		EventTime json.RawMessage `json:"eventTime"`
	}
	if json.Unmarshal(raw, &t) == nil && len(t.EventTime) > 0 {
		var s string
		if json.Unmarshal(t.EventTime, &s) != nil {
			return ErrWrongType, fmt.Errorf("eventTime is %s, not a string", withArticle(jsonKind(t.EventTime[0])))
		}
		if _, perr := time.Parse(time.RFC3339, s); perr != nil {
			return ErrWrongFormat, fmt.Errorf("eventTime %q is not an RFC 3339 time such as 2006-01-02T15:04:05Z", s)
		}
	}
	return ErrWrongType, err
}

// fieldKind names the kind of JSON value a top-level field of raw holds.
func fieldKind(raw []byte, field string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || len(fields[field]) == 0 {
		return "value of another type"
	}
	return jsonKind(fields[field][0])
}

// withArticle puts "a" or "an" before the name of a kind of JSON value.
func withArticle(kind string) string {
	switch kind {
	case "bool", "boolean":
		return "a boolean"
	case "array", "object":
		return "an " + kind
	}
	return "a " + kind
}

// goKindName names the JSON value a Go type decodes from.
func goKindName(t reflect.Type) string {
	if t == nil {
		return "a value of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// notePrefix puts a note (such as a log event id) before err.
func notePrefix(note string, err error) error {
	if note == "" {
		return err
	}
	return fmt.Errorf("%s: %w", note, err)
}

// singleRecord decodes raw, held in memory, as one CloudTrail record.
func (src *source) singleRecord(raw []byte, loc string, shape Shape, env *envelopeCheck) error {
	return src.recordBytes(raw, loc, "", shape, env)
}

// recordBytes scans raw for its keys and decodes it as a record.
func (src *source) recordBytes(raw []byte, loc, note string, shape Shape, env *envelopeCheck) error {
	if src.shape != "" {
		shape = src.shape
	}
	sc := newBytesScanner(raw)
	c, ok := sc.skipSpace()
	if !ok {
		src.report(loc, "", ErrMalformed, notePrefix(note, errors.New("empty record")))
		return nil
	}
	if c != '{' {
		src.report(loc, "", ErrWrongType, notePrefix(note, fmt.Errorf("record is a %s, not an object", jsonKind(c))))
		return nil
	}
	res, err := sc.scanValue(len(raw), src.run.lim.MaxDepth)
	if err != nil {
		src.report(loc, "", ErrMalformed, notePrefix(note, scanErrorText(err, sc.offset())))
		return nil
	}
	if _, ok := sc.skipSpace(); ok {
		src.report(loc, "", ErrMalformed, notePrefix(note, fmt.Errorf("data after the record at byte %d", sc.offset())))
		return nil
	}
	return src.record(res.raw, &res.info, at(loc), note, shape, env)
}
