package posture

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"regexp"
	"slices"
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
// hides; one row per rule and resource, in the posture's order, with its
// reason as the last column, cut with "…" at the width (opts.Reasons wraps
// every full reason beneath its row instead); then a summary: the
// resources, the findings by status and rule (with the rule's severity for
// NON_COMPLIANT and ERROR), and each key's blast radius (the first
// maxKeys keys). When the filter is the default and more than
// foldCompliant COMPLIANT rows would print, they are folded into one line
// per rule; NON_COMPLIANT and ERROR rows never are. Every string from an
// entry is escaped (terminal.Escape), and no line is wider than
// opts.Width columns.
func WriteTable(w io.Writer, entries []ledger.Entry, opts Options) error {
	t := &table{bw: bufio.NewWriter(w), width: opts.width()}
	shown := opts.Filter.Apply(entries)
	n := newNames(shown)

	t.header(entries, shown, n, opts.Filter)
	if len(shown) > 0 {
		fold := len(opts.Filter.Statuses) == 0 && !opts.Filter.All && Count(shown).Total[finding.Compliant] > foldCompliant
		t.rows(shown, n, opts.Reasons, fold)
		t.summary(entries, shown, n)
	}
	return t.bw.Flush()
}

// foldCompliant is how many COMPLIANT rows the default table prints one
// by one; more are folded into one line per rule.
const foldCompliant = 50

// maxKeys is how many keys the summary's blast radius lists.
const maxKeys = 10

// minReason is the narrowest REASON column; a table with less room
// writes reasons beneath their rows.
const minReason = 20

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

func (t *table) rows(shown []ledger.Entry, n names, wide, fold bool) {
	e := terminal.Escape
	statusW, ruleW, resourceW := len("STATUS"), len("RULE"), len("RESOURCE")
	for _, x := range shown {
		statusW = max(statusW, runeLen(e(string(x.Status))))
		ruleW = max(ruleW, runeLen(e(x.Rule)))
		resourceW = max(resourceW, runeLen(resourceCell(x, n)))
	}
	// A hostile rule or status name must not push every row off the
	// screen: columns stop growing where a 20-column resource would no
	// longer fit, and a row with a longer cell wraps.
	statusW = min(statusW, t.width/6)
	ruleW = min(ruleW, max(t.width/3, t.width-statusW-4-20))
	fixed := statusW + 2 + ruleW + 2
	// The REASON column takes what the other columns leave, at least
	// minReason; a resource longer than its column pushes its reason
	// right. With less room, or with every reason in full (wide), the
	// reasons go beneath the rows.
	resourceW = min(resourceW, t.width-fixed-2-minReason)
	inline := !wide && resourceW >= 20
	head := func(status, rule, resource string) string {
		return pad(status, statusW) + "  " + pad(rule, ruleW) + "  " + resource
	}
	if inline {
		t.line(head("STATUS", "RULE", pad("RESOURCE", resourceW)) + "  REASON")
	} else {
		t.line(head("STATUS", "RULE", "RESOURCE"))
	}
	folded := false
	for i, x := range shown {
		if fold && x.Status == finding.Compliant {
			if !folded {
				t.foldedRows(shown[i:], head, resourceW, inline)
				folded = true
			}
			continue
		}
		resource := resourceCell(x, n)
		reason := e(n.text(x.Reason))
		if inline {
			prefix := head(e(string(x.Status)), e(x.Rule), pad(resource, resourceW)) + "  "
			if room := t.width - runeLen(prefix); room >= minReason/2 {
				t.line(strings.TrimRight(prefix+truncate(compactReason(reason, resource), room), " "))
				continue
			}
		}
		t.rowHead(head(e(string(x.Status)), e(x.Rule), ""), resource)
		switch {
		case wide && reason != "":
			t.block(reason, reasonIndent)
		case !wide && reason != "" && (inline || x.Status == finding.NonCompliant || x.Status == finding.Error):
			// One line, as in the REASON column.
			t.line(strings.Repeat(" ", reasonIndent) + truncate(compactReason(reason, resource), t.width-reasonIndent))
		}
	}
}

// rowHead writes a row's status, rule and resource: on one line when they
// fit, else the resource right-aligned on a line of its own, under the
// RESOURCE column's side and apart from the reason.
func (t *table) rowHead(prefix, resource string) {
	head := strings.TrimRight(prefix, " ")
	switch {
	case runeLen(prefix+resource) <= t.width:
		t.line(prefix + resource)
	case runeLen(head) <= t.width && runeLen(resource) <= t.width:
		t.line(head)
		t.line(strings.Repeat(" ", t.width-runeLen(resource)) + resource)
	default:
		t.line(prefix + resource)
	}
}

// foldedRows writes one line per rule for the COMPLIANT entries among
// rest (which is in the posture's order): how many resources comply.
func (t *table) foldedRows(rest []ledger.Entry, head func(status, rule, resource string) string, resourceW int, inline bool) {
	e := terminal.Escape
	var rules []string
	count := map[string]int{}
	for _, x := range rest {
		if x.Status != finding.Compliant {
			continue
		}
		if count[x.Rule] == 0 {
			rules = append(rules, x.Rule)
		}
		count[x.Rule]++
	}
	for _, r := range rules {
		cell := fmt.Sprintf("%d %s", count[r], plural(count[r], "resource", "resources"))
		if inline {
			prefix := head(e(string(finding.Compliant)), e(r), pad(cell, resourceW)) + "  "
			t.line(prefix + truncate("(--status compliant)", max(t.width-runeLen(prefix), 1)))
			continue
		}
		t.line(head(e(string(finding.Compliant)), e(r), cell))
	}
}

// resourceCell is how a row shows its resource, escaped.
func resourceCell(x ledger.Entry, n names) string {
	s := terminal.Escape(n.resource(x.Resource))
	if x.Resolved {
		s += " (deleted)"
	}
	return s
}

// longHex is a run of hex digits too long to read in a column, such as a
// 64-digit grant id.
var longHex = regexp.MustCompile(`[0-9a-f]{24,}`)

// compactReason shortens a reason for the REASON column, which shows its
// start: a leading name of the row's own resource ("file system
// fs-0123… ", "trail atrest-trail: ") is dropped, as the RESOURCE column
// says it, and long hex ids keep their first 8 digits. The full reason is
// in the wide table, the JSON and the HTML report.
func compactReason(reason, resource string) string {
	if i := strings.Index(reason, resource); i >= 0 && i <= 16 && strings.Trim(reason[:i], "abcdefghijklmnopqrstuvwxyz ") == "" {
		rest := reason[i+len(resource):]
		if trimmed := strings.TrimLeft(rest, ": "); trimmed != "" && (rest[0] == ' ' || rest[0] == ':') {
			reason = trimmed
		}
	}
	return longHex.ReplaceAllStringFunc(reason, func(h string) string { return h[:8] + "…" })
}

// truncate cuts s to at most width runes, ending a cut with "…".
func truncate(s string, width int) string {
	if runeLen(s) <= width {
		return s
	}
	if width <= 1 {
		return "…"[:min(width, 1)*len("…")]
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:width-1]), " …") + "…"
}

func (t *table) summary(entries, shown []ledger.Entry, n names) {
	e := terminal.Escape
	t.bw.WriteByte('\n')
	byType, total := resourceCounts(shown)
	t.line(fmt.Sprintf("Resources: %d (%s)", total, e(byType)))

	// One line per status (wrapped between rules): each rule's count,
	// with its severity where the status needs action.
	c := Count(shown)
	// A rule's severity is its most severe entry's.
	severities := map[string]string{}
	for _, x := range shown {
		if s, ok := severities[x.Rule]; !ok || severityRank(x.Severity) < severityRank(s) {
			severities[x.Rule] = x.Severity
		}
	}
	for _, s := range c.Statuses {
		var rules []string
		for r, byStatus := range c.ByRule {
			if byStatus[s] > 0 {
				rules = append(rules, r)
			}
		}
		slices.SortFunc(rules, func(a, b string) int {
			return cmp.Or(cmp.Compare(severityRank(severities[a]), severityRank(severities[b])), cmp.Compare(a, b))
		})
		items := make([]string, len(rules))
		for i, r := range rules {
			items[i] = fmt.Sprintf("%s %d", e(r), c.ByRule[r][s])
			if (s == finding.NonCompliant || s == finding.Error) && severities[r] != "" {
				items[i] += " (" + e(severities[r]) + ")"
			}
		}
		t.list(fmt.Sprintf("%d %s: ", c.Total[s], e(string(s))), items)
	}

	keys := map[string]bool{}
	for _, x := range shown {
		if x.ResourceType == keyType {
			keys[x.Resource] = true
		}
	}
	var radii []BlastRadius
	idle := 0
	for _, b := range BlastRadii(entries) {
		switch {
		case !keys[b.Key]:
		case len(b.FileSystems) == 0:
			idle++
		default:
			radii = append(radii, b)
		}
	}
	if len(radii)+idle == 0 {
		return
	}
	// Keys a rule finds NON_COMPLIANT first, then by blast radius.
	slices.SortStableFunc(radii, func(a, b BlastRadius) int {
		return cmp.Compare(min(len(b.NonCompliant), 1), min(len(a.NonCompliant), 1))
	})
	t.line("Keys and the file systems they protect (blast radius):")
	keyW := 0
	for _, b := range radii[:min(len(radii), maxKeys)] {
		keyW = max(keyW, runeLen(e(n.resource(b.Key))))
	}
	keyW = min(keyW, t.width/2)
	for _, b := range radii[:min(len(radii), maxKeys)] {
		fs := make([]string, len(b.FileSystems))
		for i, f := range b.FileSystems {
			fs[i] = e(n.text(f))
		}
		l := fmt.Sprintf("%s  %d: %s", pad(e(n.resource(b.Key)), keyW), len(fs), strings.Join(fs, ", "))
		if len(b.NonCompliant) > 0 {
			l += fmt.Sprintf("  %d NON_COMPLIANT: %s", len(b.NonCompliant), e(strings.Join(b.NonCompliant, ", ")))
		}
		t.line(truncate(l, t.width))
	}
	if more := len(radii) - maxKeys; more > 0 {
		t.line(fmt.Sprintf("… and %d more %s", more, plural(more, "key", "keys")))
	}
	if idle > 0 {
		t.line(fmt.Sprintf("%d %s protect no file system", idle, plural(idle, "key", "keys")))
	}
}

// list writes prefix and items joined by ", ", wrapped between items at
// the table's width with a hanging indent. Items must be escaped already.
func (t *table) list(prefix string, items []string) {
	l := prefix
	indent := strings.Repeat(" ", reasonIndent)
	for i, it := range items {
		if i < len(items)-1 {
			it += ","
		}
		switch {
		case i == 0:
			l += it
		case runeLen(l)+1+runeLen(it) <= t.width:
			l += " " + it
		default:
			t.line(l)
			l = indent + it
		}
	}
	t.line(l)
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
