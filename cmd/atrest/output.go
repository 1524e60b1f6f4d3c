package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/policy"
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
	return &jsonPrinter{bw: bw, enc: json.NewEncoder(bw)}
}

// jsonPrinter writes one finding per line (JSON Lines).
type jsonPrinter struct {
	bw  *bufio.Writer
	enc *json.Encoder
}

func (p *jsonPrinter) Print(f finding.Finding) error { return p.enc.Encode(f) }
func (p *jsonPrinter) Close() error                  { return p.bw.Flush() }

// tablePrinter aligns findings in columns for people.
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
	_, err := fmt.Fprintf(p.tw, "%s\t%s\t%s\t%s\t%s\n", f.Status, f.Rule, f.Resource, event, reason)
	return err
}

func (p *tablePrinter) Close() error { return p.tw.Flush() }

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
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
