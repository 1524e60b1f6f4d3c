// Command foldfindings folds a history of findings (atrest evaluate
// --format json, one finding a line, on standard input) into the ledger's
// entries, and writes them as a JSON array on standard output. It made
// ../sample-posture.json, the posture of the sample events, from the
// repository's root:
//
//	go run ./cmd/atrest evaluate --format json --s3-root events/s3 events/[0-8]*.json |
//		go run ./internal/posture/testdata/foldfindings > internal/posture/testdata/sample-posture.json
//
// It folds as the ledger does, in event-time order (findings of the same
// second in the order they were made): the last finding of a rule and
// resource sets its status, reason and event; Since is the event time of
// the first finding of the last run of the same status; every change of
// status (the first judgement included, from "") is a transition, the last
// ledger.MaxTransitions kept. A finding of a deleted resource resolves the
// entry. Order is left empty: the views do not read it.
package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"

	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/ledger"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "foldfindings:", err)
		os.Exit(1)
	}
}

func run() error {
	var findings []finding.Finding
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var f finding.Finding
		if err := json.Unmarshal(sc.Bytes(), &f); err != nil {
			return fmt.Errorf("standard input line %d: %w", line, err)
		}
		findings = append(findings, f)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read standard input: %w", err)
	}
	slices.SortStableFunc(findings, func(a, b finding.Finding) int { return a.EventTime.Compare(b.EventTime) })

	type pair struct{ rule, resource string }
	entries := map[pair]*ledger.Entry{}
	var order []pair
	for _, f := range findings {
		p := pair{f.Rule, f.Resource}
		e, ok := entries[p]
		if !ok {
			e = &ledger.Entry{Rule: f.Rule, Resource: f.Resource}
			entries[p] = e
			order = append(order, p)
		}
		if e.Resolved {
			continue
		}
		if !ok || e.Status != f.Status {
			e.Transitions = append(e.Transitions, ledger.Transition{
				From: e.Status, To: f.Status, At: f.EventTime,
				EventID: f.EventID, EventName: f.EventName, Reason: f.Reason,
			})
			if n := len(e.Transitions); n > ledger.MaxTransitions {
				e.Transitions = slices.Clone(e.Transitions[n-ledger.MaxTransitions:])
			}
			e.Since = f.EventTime
		}
		e.ResourceType, e.Account, e.Region = f.ResourceType, f.Account, f.Region
		e.Status, e.Reason, e.Severity, e.Title = f.Status, f.Reason, f.Severity, f.Title
		e.EventTime, e.EventID, e.EventName = f.EventTime, f.EventID, f.EventName
		e.FileSystems = f.FileSystems
		e.Resolved = f.ResourceDeleted
	}
	out := make([]ledger.Entry, 0, len(order))
	for _, p := range order {
		out = append(out, *entries[p])
	}
	slices.SortFunc(out, func(a, b ledger.Entry) int {
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Resource, b.Resource))
	})
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
