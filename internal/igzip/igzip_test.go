//go:build cgo && isal

package igzip

import (
	"bytes"
	"compress/gzip"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// member is a gzip member of payload without its 10-byte header (the
// compress/gzip writer writes no optional field): deflate data, then the
// trailer, as State reads it.
func member(t *testing.T, payload []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(payload)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()[10:]
}

var payload = []byte(strings.Repeat(`{"eventSource":"kms.amazonaws.com","eventName":"DisableKey","requestParameters":{"keyId":"1234abcd-12ab-34cd-56ef-1234567890ab"}},`, 3000))

// TestInflate inflates a member fed a few bytes at a time into a small
// buffer, and stops at its trailer, leaving what follows.
func TestInflate(t *testing.T) {
	in := append(member(t, payload), "next"...)
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	buf := make([]byte, 1000)
	pos := 0
	for {
		end := min(pos+13, len(in))
		c, p, finished, err := s.Inflate(in[pos:end], buf)
		if err != nil {
			t.Fatal(err)
		}
		pos += c
		out.Write(buf[:p])
		if finished {
			break
		}
		if c == 0 && p == 0 {
			t.Fatalf("no progress at %d of %d", pos, len(in))
		}
	}
	if !bytes.Equal(out.Bytes(), payload) {
		t.Fatalf("inflated %d bytes, want the %d written", out.Len(), len(payload))
	}
	if rest := string(in[pos:]); rest != "next" {
		t.Fatalf("left %q after the trailer, want %q", rest, "next")
	}
}

// TestInflateRefuses gives the trailer's check and corrupt data as errors.
func TestInflateRefuses(t *testing.T) {
	m := member(t, payload)
	badCRC := append([]byte(nil), m...)
	badCRC[len(badCRC)-8] ^= 1
	corrupt := append([]byte(nil), m...)
	corrupt[0] |= 0x06 // block type 3, reserved
	for _, tc := range []struct {
		name string
		in   []byte
		want func(error) bool
	}{
		{"trailer CRC", badCRC, func(err error) bool { return errors.Is(err, ErrChecksum) }},
		{"reserved block type", corrupt, func(err error) bool { var c *CorruptError; return errors.As(err, &c) && c.Code < 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New()
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, err = s.Inflate(tc.in, make([]byte, len(payload)+1))
			if !tc.want(err) {
				t.Fatalf("error %v", err)
			}
		})
	}
}

// TestLeavesAVXClean: igzip's vector code must not leave the upper halves
// of the AVX registers in use when it returns to Go, or every SSE
// instruction the thread runs next (Go's SHA-256 among them) pays for the
// transition.
func TestLeavesAVXClean(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	switch avxUpperInUseAfterInflate(s, member(t, payload), make([]byte, len(payload))) {
	case -1:
		t.Skip("this processor cannot report whether the AVX upper state is in use (XGETBV 1)")
	case 1:
		t.Fatal("the upper halves of the AVX registers are in use after inflating")
	}
}

// TestStatesFreed: the C memory of a State is freed once the State is
// unreachable, as a pool of readers drops them.
func TestStatesFreed(t *testing.T) {
	// Cleanups run on their own goroutine after the collection that finds
	// their object unreachable: collect until those of earlier tests ran.
	collect := func(done func() bool) {
		for i := 0; i < 1000 && !done(); i++ {
			runtime.GC()
			runtime.Gosched()
		}
	}
	collect(func() bool { return false })
	before := liveStates.Load()
	states := make([]*State, 100)
	for i := range states {
		var err error
		if states[i], err = New(); err != nil {
			t.Fatal(err)
		}
	}
	if got := liveStates.Load() - before; got < 100 {
		t.Fatalf("%d states live after making 100", got)
	}
	runtime.KeepAlive(states)
	collect(func() bool { return liveStates.Load() <= before })
	if got := liveStates.Load() - before; got > 0 {
		t.Fatalf("%d of 100 unreachable states not freed", got)
	}
}
