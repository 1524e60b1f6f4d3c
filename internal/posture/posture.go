// Package posture turns the ledger's entries into the views people read:
// a table for a terminal (WriteTable), JSON Lines of entries for machines
// (WriteJSON) and a self-contained HTML report (WriteHTML). Every view shows
// the same selection (Filter) in the same order (Sort): what needs action
// first.
//
// Entries come from AWS records, so their text is untrusted: the table
// escapes every string with internal/terminal, the JSON view escapes what
// could reorder text on a terminal, and the HTML report is built with
// html/template.
package posture

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

// Options says what a view shows and how.
type Options struct {
	// Filter selects the entries shown.
	Filter Filter
	// Width is the table's maximum line width in columns; 0 means
	// DefaultWidth.
	Width int
	// Reasons writes every entry's full reason wrapped beneath its row
	// (the wide table); by default each row ends with the start of its
	// reason, cut with "…" at the width, so that a row takes one line.
	Reasons bool
	// Title heads the HTML report; empty means "atrest posture".
	Title string
	// Generated is when the report was made, printed in the HTML report
	// (zero: not printed).
	Generated time.Time
	// Timeline adds the timeline of transitions to the HTML report.
	Timeline bool
}

// DefaultWidth is the table's width when Options.Width is 0: a
// 120-column terminal.
const DefaultWidth = 120

// minWidth is the narrowest table WriteTable lays out; narrower widths
// are raised to it.
const minWidth = 40

func (o Options) width() int {
	if o.Width == 0 {
		return DefaultWidth
	}
	return max(o.Width, minWidth)
}

// statusOrder is the order of the posture: what needs action first.
var statusOrder = []finding.Status{finding.NonCompliant, finding.Error, finding.Compliant, finding.NotApplicable}

func statusRank(s finding.Status) int {
	if i := slices.Index(statusOrder, s); i >= 0 {
		return i
	}
	return len(statusOrder)
}

// severityRank orders Security Hub's severity labels, most severe first;
// an unknown or missing label comes last.
func severityRank(s string) int {
	switch strings.ToUpper(s) {
	case "CRITICAL":
		return 0
	case "HIGH":
		return 1
	case "MEDIUM":
		return 2
	case "LOW":
		return 3
	case "INFORMATIONAL":
		return 4
	}
	return 5
}

// Compare orders two entries in the posture's order: by status
// (NON_COMPLIANT, ERROR, COMPLIANT, NOT_APPLICABLE), then severity (CRITICAL
// first), rule and resource.
func Compare(a, b ledger.Entry) int {
	return cmp.Or(
		cmp.Compare(statusRank(a.Status), statusRank(b.Status)),
		cmp.Compare(severityRank(a.Severity), severityRank(b.Severity)),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Resource, b.Resource),
	)
}

// Sort sorts entries in the posture's order (Compare).
func Sort(entries []ledger.Entry) { slices.SortStableFunc(entries, Compare) }

// Filter selects the entries a view shows.
type Filter struct {
	// Statuses, when not empty, shows only entries in one of these
	// statuses (NOT_APPLICABLE included when named).
	Statuses []finding.Status
	// All shows NOT_APPLICABLE entries and those of deleted resources,
	// which are hidden by default.
	All bool
}

// Keep reports whether the filter shows e.
func (f Filter) Keep(e ledger.Entry) bool {
	if len(f.Statuses) > 0 {
		return slices.Contains(f.Statuses, e.Status) && (f.All || !e.Resolved)
	}
	return f.All || (e.Status != finding.NotApplicable && !e.Resolved)
}

// Apply returns the entries the filter shows, in the posture's order. It
// does not change entries.
func (f Filter) Apply(entries []ledger.Entry) []ledger.Entry {
	var kept []ledger.Entry
	for _, e := range entries {
		if f.Keep(e) {
			kept = append(kept, e)
		}
	}
	Sort(kept)
	return kept
}

// ParseStatuses reads a comma-separated list of statuses, such as
// "non_compliant,error", case-insensitively. Blanks around names are
// ignored; an empty list, an empty name or an unknown one is an error that
// names it and the statuses there are.
func ParseStatuses(list string) ([]finding.Status, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("status list is empty: want one or more of %s", statusNames())
	}
	var out []finding.Status
	for i, name := range strings.Split(list, ",") {
		s := finding.Status(strings.ToUpper(strings.TrimSpace(name)))
		if !s.Valid() {
			if s == "" {
				return nil, fmt.Errorf("status list %q: name %d is empty: want one of %s", list, i+1, statusNames())
			}
			return nil, fmt.Errorf("status list %q: unknown status %q: want one of %s", list, strings.TrimSpace(name), statusNames())
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

func statusNames() string {
	names := make([]string, len(statusOrder))
	for i, s := range statusOrder {
		names[i] = strings.ToLower(string(s))
	}
	return strings.Join(names, ", ")
}

// resourceTypeNames name resource types in summaries, singular and plural.
var resourceTypeNames = map[string][2]string{
	"AWS::KMS::Key":          {"KMS key", "KMS keys"},
	"AWS::EFS::FileSystem":   {"EFS file system", "EFS file systems"},
	"AWS::CloudTrail::Trail": {"trail", "trails"},
}

func typeName(resourceType string, n int) string {
	names, ok := resourceTypeNames[resourceType]
	if !ok {
		return cmp.Or(resourceType, "unknown type")
	}
	if n == 1 {
		return names[0]
	}
	return names[1]
}

// keyType is the resource type of a KMS key entry.
const keyType = "AWS::KMS::Key"

// BlastRadius is what one key protects: the file systems its latest
// judged entry names.
type BlastRadius struct {
	Key         string
	FileSystems []string
	// NonCompliant lists the rules the key is NON_COMPLIANT with.
	NonCompliant []string
}

// BlastRadii returns every key among entries that is not deleted, the
// keys that protect the most file systems first, then by key. A key's file
// systems are those of its most recently judged entry.
func BlastRadii(entries []ledger.Entry) []BlastRadius {
	latest := map[string]ledger.Entry{}
	nonCompliant := map[string][]string{}
	for _, e := range entries {
		if e.ResourceType != keyType || e.Resolved {
			continue
		}
		if l, ok := latest[e.Resource]; !ok || e.EventTime.After(l.EventTime) ||
			e.EventTime.Equal(l.EventTime) && len(e.FileSystems) > len(l.FileSystems) {
			latest[e.Resource] = e
		}
		if e.Status == finding.NonCompliant {
			nonCompliant[e.Resource] = append(nonCompliant[e.Resource], e.Rule)
		}
	}
	out := make([]BlastRadius, 0, len(latest))
	for key, e := range latest {
		fs := slices.Clone(e.FileSystems)
		slices.Sort(fs)
		rules := nonCompliant[key]
		slices.Sort(rules)
		out = append(out, BlastRadius{Key: key, FileSystems: slices.Compact(fs), NonCompliant: rules})
	}
	slices.SortFunc(out, func(a, b BlastRadius) int {
		return cmp.Or(cmp.Compare(len(b.FileSystems), len(a.FileSystems)), cmp.Compare(a.Key, b.Key))
	})
	return out
}

// Counts is the number of entries per rule and status.
type Counts struct {
	Rules []string
	// ByRule counts each rule's entries per status.
	ByRule map[string]map[finding.Status]int
	// Total counts every entry per status.
	Total map[finding.Status]int
	// Statuses are the statuses that occur, in the posture's order.
	Statuses []finding.Status
}

// Count counts entries per rule and status.
func Count(entries []ledger.Entry) Counts {
	c := Counts{ByRule: map[string]map[finding.Status]int{}, Total: map[finding.Status]int{}}
	for _, e := range entries {
		if c.ByRule[e.Rule] == nil {
			c.ByRule[e.Rule] = map[finding.Status]int{}
			c.Rules = append(c.Rules, e.Rule)
		}
		c.ByRule[e.Rule][e.Status]++
		c.Total[e.Status]++
	}
	slices.Sort(c.Rules)
	for _, s := range statusOrder {
		if c.Total[s] > 0 {
			c.Statuses = append(c.Statuses, s)
		}
	}
	for s := range c.Total {
		if !slices.Contains(statusOrder, s) {
			c.Statuses = append(c.Statuses, s)
		}
	}
	slices.SortStableFunc(c.Statuses, func(a, b finding.Status) int {
		return cmp.Or(cmp.Compare(statusRank(a), statusRank(b)), cmp.Compare(a, b))
	})
	return c
}

// resourceCounts counts distinct resources per type, types by count then
// name, and the total.
func resourceCounts(entries []ledger.Entry) (string, int) {
	seen := map[string]string{}
	for _, e := range entries {
		seen[e.Resource] = e.ResourceType
	}
	perType := map[string]int{}
	for _, t := range seen {
		perType[t]++
	}
	types := make([]string, 0, len(perType))
	for t := range perType {
		types = append(types, t)
	}
	slices.SortFunc(types, func(a, b string) int {
		return cmp.Or(cmp.Compare(perType[b], perType[a]), cmp.Compare(a, b))
	})
	parts := make([]string, len(types))
	for i, t := range types {
		parts[i] = fmt.Sprintf("%d %s", perType[t], typeName(t, perType[t]))
	}
	return strings.Join(parts, ", "), len(seen)
}
