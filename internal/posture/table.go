package posture

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/terminal"
)

// reasonIndent is the hanging indent of the reason lines under a row, and
// of the continuation of any line too long for the width.
const reasonIndent = 4

// WriteTable writes the posture for a terminal: a line naming the shared
// account and region (resources are then shown by id) and what the filter
// hides; one row per rule and resource, in the posture's order, with the
// reason of each NON_COMPLIANT and ERROR row wrapped beneath it; then a
// summary: the resources, the findings by rule and status, and each key's
// blast radius. Every string from an entry is escaped (terminal.Escape),
// and no line is wider than opts.Width columns.
func WriteTable(w io.Writer, entries []ledger.Entry, opts Options) error {
	t := &table{bw: bufio.NewWriter(w), width: opts.width()}
	shown := opts.Filter.Apply(entries)
	n := newNames(shown)

	t.header(entries, shown, n, opts.Filter)
	if len(shown) > 0 {
		t.rows(shown, n, opts.Reasons)
		t.summary(entries, shown, n)
	}
	return t.bw.Flush()
}

type table struct {
	bw    *bufio.Writer
	width int
}

// line writes one line of text, wrapped at the table's width with a
// hanging indent. s must be escaped already.
func (t *table) line(s string) {
	for _, l := range wrap(s, t.width, reasonIndent) {
		t.bw.WriteString(l)
		t.bw.WriteByte('\n')
	}
}

// block writes text indented by indent on every line, wrapped at the
// table's width. s must be escaped already.
func (t *table) block(s string, indent int) {
	pad := strings.Repeat(" ", indent)
	for _, l := range wrap(s, t.width-indent, 0) {
		t.bw.WriteString(pad)
		t.bw.WriteString(l)
		t.bw.WriteByte('\n')
	}
}

func (t *table) header(entries, shown []ledger.Entry, n names, f Filter) {
	e := terminal.Escape
	var head strings.Builder
	if n.scope != "" {
		head.WriteString(strings.ToUpper(n.scope[:1]) + e(n.scope[1:]))
	} else {
		head.WriteString("Posture")
	}
	if form := n.form(); form != "id" {
		fmt.Fprintf(&head, " (resources as %s)", form)
	}
	head.WriteString(": ")
	c := Count(shown)
	parts := make([]string, len(c.Statuses))
	for i, s := range c.Statuses {
		parts[i] = fmt.Sprintf("%d %s", c.Total[s], e(string(s)))
	}
	if len(parts) == 0 {
		parts = append(parts, "no findings")
	}
	head.WriteString(strings.Join(parts, ", "))
	if len(shown) < len(entries) {
		fmt.Fprintf(&head, "; hidden: %s", hiddenSummary(entries, f))
		if len(f.Statuses) == 0 && !f.All {
			head.WriteString(" (--all)")
		}
	}
	t.line(head.String())
}

// hiddenSummary counts the entries the filter hides, by status.
func hiddenSummary(entries []ledger.Entry, f Filter) string {
	var hidden []ledger.Entry
	deleted := 0
	for _, e := range entries {
		if !f.Keep(e) {
			if e.Resolved {
				deleted++
				continue
			}
			hidden = append(hidden, e)
		}
	}
	c := Count(hidden)
	var parts []string
	for _, s := range c.Statuses {
		parts = append(parts, fmt.Sprintf("%d %s", c.Total[s], terminal.Escape(string(s))))
	}
	if deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted", deleted))
	}
	return strings.Join(parts, ", ")
}

func (t *table) rows(shown []ledger.Entry, n names, allReasons bool) {
	e := terminal.Escape
	statusW, sevW, ruleW := len("STATUS"), len("SEVERITY"), len("RULE")
	for _, x := range shown {
		statusW = max(statusW, runeLen(e(string(x.Status))))
		sevW = max(sevW, runeLen(e(x.Severity)))
		ruleW = max(ruleW, runeLen(e(x.Rule)))
	}
	// A hostile rule or status name must not push every row off the
	// screen: columns stop growing where a 20-column resource would no
	// longer fit, and a row with a longer cell wraps.
	statusW, sevW = min(statusW, t.width/6), min(sevW, t.width/8)
	ruleW = min(ruleW, max(t.width/3, t.width-statusW-sevW-6-20))
	row := func(status, sev, rule, resource string) string {
		return pad(status, statusW) + "  " + pad(sev, sevW) + "  " + pad(rule, ruleW) + "  " + resource
	}
	t.line(row("STATUS", "SEVERITY", "RULE", "RESOURCE"))
	for _, x := range shown {
		resource := e(n.resource(x.Resource))
		if x.Resolved {
			resource += " (deleted)"
		}
		prefix := row(e(string(x.Status)), e(cmpOr(x.Severity, "-")), e(x.Rule), "")
		head := strings.TrimRight(prefix, " ")
		switch {
		case runeLen(prefix+resource) <= t.width:
			t.line(prefix + resource)
		case runeLen(head) <= t.width && runeLen(resource) <= t.width:
			// The resource, right-aligned on a line of its own, stays
			// under the RESOURCE column's side and apart from the reason.
			t.line(head)
			t.line(strings.Repeat(" ", t.width-runeLen(resource)) + resource)
		default:
			t.line(prefix + resource)
		}
		if allReasons || x.Status == finding.NonCompliant || x.Status == finding.Error {
			if x.Reason != "" {
				t.block(e(n.text(x.Reason)), reasonIndent)
			}
		}
	}
}

func (t *table) summary(entries, shown []ledger.Entry, n names) {
	e := terminal.Escape
	t.bw.WriteByte('\n')
	byType, total := resourceCounts(shown)
	t.line(fmt.Sprintf("Resources: %d (%s)", total, e(byType)))

	c := Count(shown)
	ruleW := len("FINDINGS BY RULE")
	for _, r := range c.Rules {
		ruleW = max(ruleW, runeLen(e(r)))
	}
	countsW := 0
	for _, s := range c.Statuses {
		countsW += 2 + runeLen(e(string(s)))
	}
	ruleW = min(ruleW, max(t.width/3, t.width-countsW))
	var head strings.Builder
	head.WriteString(pad("FINDINGS BY RULE", ruleW))
	for _, s := range c.Statuses {
		head.WriteString("  " + e(string(s)))
	}
	t.line(head.String())
	for _, r := range c.Rules {
		var l strings.Builder
		l.WriteString(pad(e(r), ruleW))
		for _, s := range c.Statuses {
			l.WriteString("  " + padLeft(countOrDash(c.ByRule[r][s]), runeLen(e(string(s)))))
		}
		t.line(l.String())
	}

	keys := map[string]bool{}
	for _, x := range shown {
		if x.ResourceType == keyType {
			keys[x.Resource] = true
		}
	}
	var radii []BlastRadius
	for _, b := range BlastRadii(entries) {
		if keys[b.Key] {
			radii = append(radii, b)
		}
	}
	if len(radii) == 0 {
		return
	}
	t.line("KEYS AND THE FILE SYSTEMS THEY PROTECT (BLAST RADIUS)")
	idle := 0
	for _, b := range radii {
		if len(b.FileSystems) == 0 {
			idle++
			continue
		}
		fs := make([]string, len(b.FileSystems))
		for i, f := range b.FileSystems {
			fs[i] = e(n.text(f))
		}
		l := fmt.Sprintf("%s  %d: %s", e(n.resource(b.Key)), len(fs), strings.Join(fs, ", "))
		if len(b.NonCompliant) > 0 {
			l += fmt.Sprintf("  (NON_COMPLIANT: %s)", e(strings.Join(b.NonCompliant, ", ")))
		}
		t.line(l)
	}
	if idle > 0 {
		t.line(fmt.Sprintf("%d %s protect no file system", idle, plural(idle, "key", "keys")))
	}
}

func countOrDash(n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprint(n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func cmpOr(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// pad pads s with blanks to width runes; a longer s is kept as it is.
func pad(s string, width int) string {
	if n := runeLen(s); n < width {
		return s + strings.Repeat(" ", width-n)
	}
	return s
}

// padLeft right-aligns s in width runes.
func padLeft(s string, width int) string {
	if n := runeLen(s); n < width {
		return strings.Repeat(" ", width-n) + s
	}
	return s
}

// wrap breaks s into lines of at most width runes at blanks; the lines
// after the first are indented by indent blanks (a hanging indent). A
// word longer than a line is broken where the line ends. Runs of blanks
// inside a line are kept (they align columns); blanks at a break are
// dropped. It takes time linear in the length of s.
func wrap(s string, width, indent int) []string {
	if runeLen(s) <= width {
		return []string{s}
	}
	width = max(width, 2)
	indent = min(indent, width/2)
	runes := []rune(s)
	var lines []string
	prefix := ""
	limit := width
	for start := 0; start < len(runes); {
		if len(runes)-start <= limit {
			lines = append(lines, prefix+string(runes[start:]))
			break
		}
		// The last blank within the limit that ends a non-blank line.
		cut := -1
		for i := start + limit; i > start; i-- {
			if runes[i] == ' ' && runes[i-1] != ' ' {
				cut = i
				break
			}
		}
		next := start + limit
		if cut >= 0 {
			next = cut
		}
		lines = append(lines, prefix+strings.TrimRight(string(runes[start:next]), " "))
		for next < len(runes) && runes[next] == ' ' {
			next++
		}
		start = next
		prefix = strings.Repeat(" ", indent)
		limit = width - indent
	}
	return lines
}
