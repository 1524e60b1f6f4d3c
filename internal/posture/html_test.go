package posture

import (
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

// hostileReason is text an attacker could put in an AWS record (a
// file-system policy statement id, a trail name) hoping that a report
// runs it.
const hostileReason = `<script>alert(1)</script><img src=x onerror=alert(2)> "quoted" & 'single'`

// reportPosture is the small posture plus a finding whose reason and
// resource try to inject markup.
func reportPosture() []ledger.Entry {
	hostile := entry("efs_encryption_in_transit_enforced", fsA+`"><link rel=stylesheet href=https://evil.example/x.css>`,
		"AWS::EFS::FileSystem", finding.NonCompliant, "MEDIUM", hostileReason, t0.Add(10*time.Minute))
	return append(smallPosture(), hostile)
}

func renderReport(t *testing.T, entries []ledger.Entry, opts Options) (string, *html.Node) {
	t.Helper()
	var b strings.Builder
	if err := WriteHTML(&b, entries, opts); err != nil {
		t.Fatal(err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("parse the report: %v", err)
	}
	return b.String(), doc
}

// walk calls fn for every node under n, n included.
func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

// text is the text content of n.
func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
	})
	return b.String()
}

// rows returns the cells' text of every row of the table under the
// section headed h2.
func tableRows(doc *html.Node, h2 string) [][]string {
	var rows [][]string
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode || n.Data != "h2" || text(n) != h2 {
			return
		}
		for s := n.NextSibling; s != nil; s = s.NextSibling {
			if s.Type == html.ElementNode && s.Data == "h2" {
				return
			}
			walk(s, func(tr *html.Node) {
				if tr.Type != html.ElementNode || tr.Data != "tr" || tr.Parent.Data != "tbody" {
					return
				}
				var cells []string
				for td := tr.FirstChild; td != nil; td = td.NextSibling {
					if td.Type == html.ElementNode && td.Data == "td" {
						cells = append(cells, text(td))
					}
				}
				rows = append(rows, cells)
			})
		}
	})
	return rows
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	src, doc := renderReport(t, reportPosture(), Options{Timeline: true, Filter: Filter{All: true}})
	forbidden := []string{"script", "link", "img", "iframe", "object", "embed", "base", "form", "audio", "video", "source", "use", "image", "foreignobject"}
	walk(doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		if slices.Contains(forbidden, strings.ToLower(n.Data)) {
			t.Errorf("report has a <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			key := strings.ToLower(a.Key)
			if key == "src" || key == "href" || key == "srcset" || key == "action" || key == "background" || strings.HasPrefix(key, "on") {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
			if strings.Contains(a.Val, "://") && !(key == "xmlns" && a.Val == "http://www.w3.org/2000/svg") && key != "title" {
				t.Errorf("<%s %s=%q> names a URL", n.Data, a.Key, a.Val)
			}
			if key == "style" {
				t.Errorf("<%s> has a style attribute %q", n.Data, a.Val)
			}
		}
		if n.Data == "style" && (strings.Contains(text(n), "url(") || strings.Contains(text(n), "@import") || strings.Contains(text(n), "@font-face")) {
			t.Errorf("style sheet loads something: %s", text(n))
		}
		if n.Data == "meta" && attr(n, "http-equiv") == "Content-Security-Policy" && !strings.HasPrefix(attr(n, "content"), "default-src 'none'") {
			t.Errorf("content security policy %q allows loading", attr(n, "content"))
		}
	})
	if !strings.Contains(src, `http-equiv="Content-Security-Policy" content="default-src 'none'`) {
		t.Error("report has no content security policy")
	}
	// The hostile reason is text, in the page as written.
	if !strings.Contains(text(doc), hostileReason) {
		t.Errorf("report text does not hold the reason as written")
	}
	if strings.Contains(src, "<script>") || strings.Contains(src, "<img") || strings.Contains(src, "<link") {
		t.Error("report source holds raw markup from a reason or resource")
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestWriteHTMLContent(t *testing.T) {
	generated := time.Date(2026, 12, 2, 14, 30, 0, 0, time.UTC)
	_, doc := renderReport(t, reportPosture(), Options{Title: "Posture of <prod>", Generated: generated, Timeline: true})
	page := text(doc)
	for _, want := range []string{
		"Posture of <prod>",
		"Generated 2026-12-02 14:30:00 UTC.",
		"Resources in account 111122223333, region us-east-1, shown by id.",
		"7 of 9 findings shown (1 NOT_APPLICABLE, 1 deleted hidden).",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not say %q", want)
		}
	}
	posture := tableRows(doc, "Posture by rule and resource")
	var got []string
	for _, r := range posture {
		got = append(got, strings.Join(r[:4], " "))
	}
	want := []string{
		"NON_COMPLIANT HIGH efs_encrypted_at_rest fs-0fedcba9876543210",
		"NON_COMPLIANT MEDIUM efs_encryption_in_transit_enforced " + `fs-0123456789abcdef0"><link rel=stylesheet href=https://evil.example/x.css>`,
		"NON_COMPLIANT MEDIUM kms_key_rotation_enabled 1234abcd-12ab-34cd-56ef-1234567890ab",
		"ERROR MEDIUM efs_encryption_in_transit_enforced fs-0fedcba9876543210",
		"COMPLIANT CRITICAL efs_kms_key_available 1234abcd-12ab-34cd-56ef-1234567890ab",
		"COMPLIANT HIGH cloudtrail_monitoring_intact atrest-trail",
		"COMPLIANT HIGH efs_encrypted_at_rest fs-0123456789abcdef0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("posture rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r := posture[0]; !strings.HasPrefix(r[4], "file system fs-0fedcba9876543210 was created with encrypted=false") || r[5] != "2026-11-20 09:02:00Z" {
		t.Errorf("first row's reason and since = %q, %q", r[4], r[5])
	}
	keys := tableRows(doc, "Keys and the file systems they protect (blast radius)")
	if len(keys) != 1 || !slices.Equal(keys[0], []string{"1234abcd-12ab-34cd-56ef-1234567890ab", "1: fs-0123456789abcdef0", "kms_key_rotation_enabled"}) {
		t.Errorf("blast radius rows = %q", keys)
	}
	timeline := tableRows(doc, "Timeline of transitions (newest first)")
	var times []string
	for _, r := range timeline {
		times = append(times, r[0])
	}
	if !slices.IsSortedFunc(times, func(a, b string) int { return strings.Compare(b, a) }) || len(timeline) != 8 {
		t.Errorf("timeline is not newest first, or not 8 rows: %q", times)
	}
	var enable []string
	for _, r := range timeline {
		if r[5] == "EnableKey ev-2" {
			enable = r
		}
	}
	if !slices.Equal(enable[:6], []string{"2026-11-20 09:01:00Z", "efs_kms_key_available", "1234abcd-12ab-34cd-56ef-1234567890ab", "NON_COMPLIANT", "COMPLIANT", "EnableKey ev-2"}) {
		t.Errorf("the return to compliant reads %q", enable)
	}
	// The charts: one bar per status, one row of segments per rule.
	var bars []string
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "rect" {
			bars = append(bars, attr(n, "class")+" "+text(n))
		}
	})
	wantBars := []string{
		"NON_COMPLIANT NON_COMPLIANT: 3", "ERROR ERROR: 1", "COMPLIANT COMPLIANT: 3",
		"COMPLIANT COMPLIANT: 1",                                   // cloudtrail_monitoring_intact
		"NON_COMPLIANT NON_COMPLIANT: 1", "COMPLIANT COMPLIANT: 1", // efs_encrypted_at_rest
		"NON_COMPLIANT NON_COMPLIANT: 1", "ERROR ERROR: 1", // efs_encryption_in_transit_enforced
		"COMPLIANT COMPLIANT: 1",         // efs_kms_key_available
		"NON_COMPLIANT NON_COMPLIANT: 1", // kms_key_rotation_enabled
	}
	if !slices.Equal(bars, wantBars) {
		t.Errorf("chart bars =\n%s\nwant\n%s", strings.Join(bars, "\n"), strings.Join(wantBars, "\n"))
	}
}

func TestWriteHTMLWithoutTimelineOrEntries(t *testing.T) {
	_, doc := renderReport(t, smallPosture(), Options{Filter: Filter{Statuses: []finding.Status{"BOGUS"}}})
	page := text(doc)
	for _, want := range []string{"atrest posture", "No findings to show.", "No keys among the findings shown.", "0 of 8 findings shown"} {
		if !strings.Contains(page, want) {
			t.Errorf("page does not say %q", want)
		}
	}
	if strings.Contains(page, "Timeline") || strings.Contains(page, "Generated") {
		t.Error("page has a timeline or a generation time it was not asked for")
	}
}
