package posture

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/terminal"
)

// WriteJSON writes the posture as JSON Lines: one ledger.Entry a line, the
// entries opts.Filter shows, in the posture's order. Characters that could
// reorder or hide text on a terminal are written as \u escapes
// (terminal.EscapeJSON); the lines decode to the same entries.
func WriteJSON(w io.Writer, entries []ledger.Entry, opts Options) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for _, e := range opts.Filter.Apply(entries) {
		line, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode entry %s %s: %w", e.Rule, e.Resource, err)
		}
		if _, err := bw.Write(append(terminal.EscapeJSON(line), '\n')); err != nil {
			return err
		}
	}
	return bw.Flush()
}
