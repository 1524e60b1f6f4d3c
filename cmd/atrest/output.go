package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/terminal"
)

type printer interface {
	Print(finding.Finding) error
	Close() error
}

func newPrinter(format string, w io.Writer) printer {
	if format == "table" {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "STATUS\tRULE\tRESOURCE\tEVENT\tREASON")
		return &tablePrinter{tw: tw}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	return &jsonPrinter{bw: bw}
}

// jsonPrinter writes one finding per line (JSON Lines). Characters that
// could reorder or hide text on a terminal are written as \u escapes, which
// decode to the same values.
type jsonPrinter struct {
	bw   *bufio.Writer
	line []byte // reused for each line
}

func (p *jsonPrinter) Print(f finding.Finding) error {
	line, err := f.AppendJSON(p.line[:0])
	if err != nil {
		return err
	}
	p.line = line
	_, err = p.bw.Write(append(terminal.EscapeJSON(line), '\n'))
	return err
}

func (p *jsonPrinter) Close() error { return p.bw.Flush() }

// tablePrinter aligns findings in columns for people. Every field is
// escaped (terminal.Escape): text from input cannot start a row, clear a
// line or reorder a column.
type tablePrinter struct {
	tw *tabwriter.Writer
}

func (p *tablePrinter) Print(f finding.Finding) error {
	event := f.EventName
	if f.EventID != "" {
		event += " " + shorten(f.EventID, 8)
	}
	reason := f.Reason
	if len(f.FileSystems) > 0 {
		reason += " [protects " + strings.Join(f.FileSystems, ", ") + "]"
	}
	e := terminal.Escape
	_, err := fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\n", e(string(f.Status)), e(f.Rule), e(f.Resource), e(event), e(reason))
	return err
}

func (p *tablePrinter) Close() error { return p.tw.Flush() }

// shorten keeps the first n runes of s.
func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func listRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: atrest rules")
		return exitUsage
	}
	engine, err := policy.New(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "atrest rules: %v\n", err)
		return exitUsage
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tRESOURCE\tSEVERITY\tCONTROLS\tTITLE")
	for _, m := range engine.Rules() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.ID, m.ResourceType, m.Severity, strings.Join(m.Controls, "; "), m.Title)
	}
	if err := tw.Flush(); err != nil {
		return exitBadInput
	}
	return exitOK
}
