package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

// FuzzProcessInput drives arbitrary bytes through the whole pipeline:
// decoding, state, the policy input builder and the rules. Nothing may
// panic, and every finding must be complete, with a valid status.
func FuzzProcessInput(f *testing.F) {
	samples, _ := filepath.Glob("../../events/*.json")
	for _, s := range samples {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	e, err := engine()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := New(Options{Store: state.NewMemory(), Engine: e, Config: config.Default()})
		if err != nil {
			t.Fatal(err)
		}
		// Twice, so the second pass judges records against state the first
		// pass built (and sees every record as a duplicate).
		for range 2 {
			_, err := p.ProcessInput(context.Background(), "fuzz", bytes.NewReader(data), func(fd finding.Finding) error {
				if !fd.Status.Valid() || fd.Rule == "" || fd.Resource == "" || fd.ID == "" || fd.Reason == "" {
					t.Errorf("incomplete finding %+v", fd)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("ProcessInput returned %v for bytes from a reader that cannot fail", err)
			}
		}
	})
}
