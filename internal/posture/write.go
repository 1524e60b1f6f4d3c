package posture

import (
	"fmt"
	"io"

	"github.com/atrest/atrest/internal/ledger"
)

// Formats Write knows.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatHTML  = "html"
)

// Write writes the posture in format: FormatTable (WriteTable), FormatJSON
// (WriteJSON) or FormatHTML (WriteHTML). Another format is an error naming
// it.
func Write(w io.Writer, format string, entries []ledger.Entry, opts Options) error {
	switch format {
	case FormatTable:
		return WriteTable(w, entries, opts)
	case FormatJSON:
		return WriteJSON(w, entries, opts)
	case FormatHTML:
		return WriteHTML(w, entries, opts)
	}
	return fmt.Errorf("posture format %q: want %s, %s or %s", format, FormatTable, FormatJSON, FormatHTML)
}
