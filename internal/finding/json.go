package finding

import (
	"fmt"

	"github.com/atrest/atrest/internal/jsonstr"
)

// AppendJSON appends f as json.Marshal writes it, member by member without
// reflection: `atrest evaluate --format json` writes a line per finding.
// FuzzAppendJSON holds the two byte-equal. An event time json.Marshal
// refuses (a year outside 0-9999) is an error here too.
func (f *Finding) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = jsonstr.Append(b, f.ID)
	b = append(b, `,"rule":`...)
	b = jsonstr.Append(b, f.Rule)
	b = append(b, `,"status":`...)
	b = jsonstr.Append(b, string(f.Status))
	b = append(b, `,"resource":`...)
	b = jsonstr.Append(b, f.Resource)
	b = append(b, `,"resource_type":`...)
	b = jsonstr.Append(b, f.ResourceType)
	b = append(b, `,"account":`...)
	b = jsonstr.Append(b, f.Account)
	b = append(b, `,"region":`...)
	b = jsonstr.Append(b, f.Region)
	if f.EventID != "" {
		b = append(b, `,"event_id":`...)
		b = jsonstr.Append(b, f.EventID)
	}
	if f.EventName != "" {
		b = append(b, `,"event_name":`...)
		b = jsonstr.Append(b, f.EventName)
	}
	if !f.EventTime.IsZero() {
		t, err := f.EventTime.MarshalJSON()
		if err != nil {
			return b, fmt.Errorf("event_time: %w", err)
		}
		b = append(b, `,"event_time":`...)
		b = append(b, t...)
	}
	b = append(b, `,"reason":`...)
	b = jsonstr.Append(b, f.Reason)
	b = append(b, `,"severity":`...)
	b = jsonstr.Append(b, f.Severity)
	b = append(b, `,"title":`...)
	b = jsonstr.Append(b, f.Title)
	b = append(b, `,"remediation":`...)
	b = jsonstr.Append(b, f.Remediation)
	b = append(b, `,"controls":`...)
	b = appendStrings(b, f.Controls)
	if len(f.FileSystems) > 0 {
		b = append(b, `,"file_systems":`...)
		b = appendStrings(b, f.FileSystems)
	}
	if f.Source != "" {
		b = append(b, `,"source":`...)
		b = jsonstr.Append(b, f.Source)
	}
	if f.ResourceDeleted {
		b = append(b, `,"resource_deleted":true`...)
	}
	if f.PreviousStatus != "" {
		b = append(b, `,"previous_status":`...)
		b = jsonstr.Append(b, string(f.PreviousStatus))
	}
	return append(b, '}'), nil
}

// appendStrings appends a list of strings, or null for a nil one.
func appendStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = jsonstr.Append(b, s)
	}
	return append(b, ']')
}
