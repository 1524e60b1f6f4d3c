package posture

import (
	"bufio"
	"cmp"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

//go:embed report.html.tmpl
var reportSource string

// reportTemplate is parsed once; html/template escapes every value for the
// context it lands in (text, attribute, SVG text).
var reportTemplate = template.Must(template.New("report").Parse(reportSource))

// WriteHTML writes the posture as one self-contained HTML page: no
// script, no external style sheet, font or image (a Content-Security-Policy
// forbids loading any), so the file can be mailed or attached to a ticket.
// It holds the counts by status and by rule drawn as inline SVG bars, the
// posture by rule and resource (what needs action first, with reasons),
// each key's blast radius and, with opts.Timeline, every transition the
// entries keep, newest first. opts.Title heads it and opts.Generated says
// when it was made.
func WriteHTML(w io.Writer, entries []ledger.Entry, opts Options) error {
	shown := opts.Filter.Apply(entries)
	n := newNames(shown)
	c := Count(shown)
	r := report{
		Title:       cmp.Or(opts.Title, "atrest posture"),
		Generated:   opts.Generated,
		Scope:       n.scope,
		Shown:       len(shown),
		Total:       len(entries),
		StatusChart: statusChart(c),
		RuleChart:   ruleChart(c),
		Timeline:    opts.Timeline,
	}
	if len(shown) < len(entries) {
		r.Hidden = hiddenSummary(entries, opts.Filter)
	}
	for _, e := range shown {
		r.Entries = append(r.Entries, reportEntry{
			Status: string(e.Status), Class: statusClass(e.Status), Severity: e.Severity,
			Rule: e.Rule, Title: e.Title, Resource: n.resource(e.Resource), ARN: e.Resource,
			Deleted: e.Resolved, Reason: n.text(e.Reason), Since: timeText(e.Since),
		})
	}
	keys := map[string]bool{}
	for _, e := range shown {
		if e.ResourceType == keyType {
			keys[e.Resource] = true
		}
	}
	for _, b := range BlastRadii(entries) {
		if !keys[b.Key] {
			continue
		}
		k := reportKey{Key: n.resource(b.Key), ARN: b.Key, NonCompliant: b.NonCompliant}
		for _, f := range b.FileSystems {
			k.FileSystems = append(k.FileSystems, n.text(f))
		}
		r.Keys = append(r.Keys, k)
	}
	if opts.Timeline {
		r.Transitions = timeline(shown, n)
	}
	bw := bufio.NewWriter(w)
	if err := reportTemplate.Execute(bw, r); err != nil {
		return fmt.Errorf("render HTML report: %w", err)
	}
	return bw.Flush()
}

type report struct {
	Title       string
	Generated   time.Time
	Scope       string
	Shown       int
	Total       int
	Hidden      string
	StatusChart barChart
	RuleChart   stackedChart
	Entries     []reportEntry
	Keys        []reportKey
	Timeline    bool
	Transitions []reportTransition
}

type reportEntry struct {
	Status, Class, Severity, Rule, Title, Resource, ARN, Reason, Since string
	Deleted                                                            bool
}

type reportKey struct {
	Key, ARN     string
	FileSystems  []string
	NonCompliant []string
}

type reportTransition struct {
	At, Rule, Resource, From, FromClass, To, ToClass, Event, Reason string
	when                                                            time.Time
}

// statusClass is the CSS class of a status: its name for the four known
// statuses (the style sheet colours them), "other" for anything else.
func statusClass(s finding.Status) string {
	if s.Valid() {
		return string(s)
	}
	return "other"
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

// timeline lists the transitions of the entries, newest first (ties by
// rule and resource).
func timeline(entries []ledger.Entry, n names) []reportTransition {
	var out []reportTransition
	for _, e := range entries {
		for _, tr := range e.Transitions {
			event := tr.EventName
			if tr.EventID != "" {
				event = strings.TrimSpace(event + " " + tr.EventID)
			}
			out = append(out, reportTransition{
				At: timeText(tr.At), Rule: e.Rule, Resource: n.resource(e.Resource),
				From: string(tr.From), FromClass: statusClass(tr.From),
				To: string(tr.To), ToClass: statusClass(tr.To),
				Event: cmp.Or(event, "sweep"), Reason: n.text(tr.Reason), when: tr.At,
			})
		}
	}
	slices.SortStableFunc(out, func(a, b reportTransition) int {
		return cmp.Or(b.when.Compare(a.when), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Resource, b.Resource))
	})
	return out
}

// Chart geometry, in SVG user units (pixels).
const (
	chartLabelWidth = 240
	chartBarWidth   = 220
	chartRowHeight  = 24
	chartBarHeight  = 16
)

type bar struct {
	Label, Class                       string
	Count                              int
	X, Y, Width, Height, TextY, CountX int
}

type barChart struct {
	Width, Height int
	Bars          []bar
}

// statusChart draws one bar per status, as long as its count relative to
// the largest.
func statusChart(c Counts) barChart {
	most := 0
	for _, s := range c.Statuses {
		most = max(most, c.Total[s])
	}
	ch := barChart{Width: chartLabelWidth + chartBarWidth + 60, Height: max(1, len(c.Statuses)) * chartRowHeight}
	for i, s := range c.Statuses {
		y := i * chartRowHeight
		w := scale(c.Total[s], most)
		ch.Bars = append(ch.Bars, bar{
			Label: string(s), Class: statusClass(s), Count: c.Total[s],
			X: chartLabelWidth, Y: y + (chartRowHeight-chartBarHeight)/2, Width: w, Height: chartBarHeight,
			TextY: y + chartRowHeight/2 + 4, CountX: chartLabelWidth + w + 6,
		})
	}
	return ch
}

type stackedRow struct {
	Label         string
	Count         int
	TextY, CountX int
	Segments      []bar
}

type stackedChart struct {
	Width, Height int
	Rows          []stackedRow
}

// ruleChart draws one bar per rule, as long as its count relative to the
// rule with the most findings, split into one segment per status.
func ruleChart(c Counts) stackedChart {
	most := 0
	totals := map[string]int{}
	for _, r := range c.Rules {
		for _, n := range c.ByRule[r] {
			totals[r] += n
		}
		most = max(most, totals[r])
	}
	ch := stackedChart{Width: chartLabelWidth + chartBarWidth + 60, Height: max(1, len(c.Rules)) * chartRowHeight}
	for i, r := range c.Rules {
		y := i * chartRowHeight
		row := stackedRow{Label: r, Count: totals[r], TextY: y + chartRowHeight/2 + 4}
		x, sum := chartLabelWidth, 0
		for _, s := range c.Statuses {
			n := c.ByRule[r][s]
			if n == 0 {
				continue
			}
			sum += n
			// Segments end where the running total ends, so rounding
			// never leaves a gap or overflows the bar.
			end := chartLabelWidth + scale(sum, most)
			row.Segments = append(row.Segments, bar{
				Label: string(s), Class: statusClass(s), Count: n,
				X: x, Y: y + (chartRowHeight-chartBarHeight)/2, Width: end - x, Height: chartBarHeight,
			})
			x = end
		}
		row.CountX = x + 6
		ch.Rows = append(ch.Rows, row)
	}
	return ch
}

// scale maps n of most onto the bar width; a non-zero count is at least
// 2 units wide so that it stays visible.
func scale(n, most int) int {
	if n <= 0 || most <= 0 {
		return 0
	}
	return max(2, n*chartBarWidth/most)
}
