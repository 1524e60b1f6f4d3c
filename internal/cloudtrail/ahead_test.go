package cloudtrail

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"

	"github.com/atrest/atrest/internal/trailgen"
)

// aheadLog is a gzip log of records all of interest, several times the
// ring of buffers once inflated, so that the inflating goroutine is blocked
// on a full ring when the reader stops early.
var aheadLog = sync.OnceValues(func() ([]byte, trailgen.Stats) {
	var buf bytes.Buffer
	st, err := trailgen.Write(&buf, trailgen.Options{Records: 4000, Relevant: 1, Seed: 7, Gzip: true})
	if err != nil {
		panic(err)
	}
	return buf.Bytes(), st
})

// TestReadAheadNoLeak decodes a gzip log with the inflating goroutine on and
// holds that, however decoding ends, the goroutine is gone when Decode
// returns, and that it ran alongside the scan (one more goroutine while
// records are emitted) on two cores and not on one.
func TestReadAheadNoLeak(t *testing.T) {
	log, st := aheadLog()
	if st.Bytes < 4*aheadBufs*aheadBufSize {
		t.Fatalf("log inflates to %d bytes only", st.Bytes)
	}
	errEmit := errors.New("emit failed")
	corrupt := bytes.Clone(log)
	for i := len(corrupt) / 2; i < len(corrupt)/2+64; i++ {
		corrupt[i] ^= 0x55
	}
	tests := []struct {
		name      string
		procs     int
		data      []byte
		limits    Limits
		stopAfter int   // emit fails (or cancels) at this record; 0: never
		cancel    bool  // cancel the context instead of failing
		wantErr   error // from Decode
		wantEmits int   // -1: at least one
		wantKind  error // a DecodeError of this kind is reported
		wantAhead bool  // one more goroutine while emitting
		anyAhead  bool  // the goroutine may be done before the first record
	}{
		{name: "whole log", procs: 2, data: log, wantEmits: st.Relevant, wantAhead: true},
		{name: "whole log on one core", procs: 1, data: log, wantEmits: st.Relevant},
		{name: "emit fails at the first record", procs: 2, data: log, stopAfter: 1, wantErr: errEmit, wantEmits: 1, wantAhead: true},
		{name: "gzip corrupt half way", procs: 2, data: corrupt, wantEmits: -1, wantKind: ErrEncoding, wantAhead: true},
		{name: "inflated size over the limit", procs: 2, data: log, limits: Limits{MaxInflatedBytes: aheadBufSize + 1}, wantEmits: -1, wantKind: ErrTooLarge, anyAhead: true},
		// Last: cancelling starts a goroutine of the context package that
		// may outlive the subtest and blur the next one's count.
		{name: "context cancelled at the tenth record", procs: 2, data: log, stopAfter: 10, cancel: true, wantErr: context.Canceled, wantEmits: -1, wantAhead: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(tc.procs))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			before := runtime.NumGoroutine()
			emits, during := 0, 0 // during: first records emitted while inflating ran
			var kinds []error
			d := &Decoder{Limits: tc.limits}
			_, err := d.Decode(ctx, "ahead", bytes.NewReader(tc.data), func(*Record, Shape) error {
				emits++
				if emits <= 5 && aheadRunning() {
					during++
				}
				if emits == tc.stopAfter {
					if tc.cancel {
						cancel()
						return nil
					}
					return errEmit
				}
				return nil
			}, func(e *DecodeError) { kinds = append(kinds, e.Kind) })
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Decode error %v, want %v", err, tc.wantErr)
			}
			// The inflating goroutine has signalled its end when Decode
			// returns; let it finish leaving, as goleak does, then look.
			for i := 0; i < 1000 && (aheadRunning() || runtime.NumGoroutine() > before); i++ {
				runtime.Gosched()
			}
			if aheadRunning() {
				t.Fatal("the inflating goroutine is still running after Decode")
			}
			if after := runtime.NumGoroutine(); after > before {
				t.Fatalf("%d goroutines after Decode, %d before", after, before)
			}
			if tc.wantEmits >= 0 && emits != tc.wantEmits || tc.wantEmits < 0 && emits == 0 {
				t.Fatalf("%d records emitted, want %d", emits, tc.wantEmits)
			}
			// Corrupt deflate data may inflate to garbage before the
			// stream fails: the last error reported is the stream's.
			if tc.wantKind != nil && (len(kinds) == 0 || kinds[len(kinds)-1] != tc.wantKind) || tc.wantKind == nil && len(kinds) != 0 {
				t.Fatalf("errors reported %v, want ending in %v", kinds, tc.wantKind)
			}
			if got := during > 0; got != tc.wantAhead && !tc.anyAhead {
				t.Fatalf("inflating goroutine seen at %d of the first records: inflating ahead %v, want %v", during, got, tc.wantAhead)
			}
		})
	}
}

// aheadRunning reports whether an inflating goroutine is running.
func aheadRunning() bool {
	buf := make([]byte, 1<<20)
	n := runtime.Stack(buf, true)
	return bytes.Contains(buf[:n], []byte("(*aheadReader).fill"))
}
