//go:build cgo && isal

package igzip

/*
#cgo LDFLAGS: -lisal
#include <stdint.h>
#include <stdlib.h>
#include <isa-l/igzip_lib.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

static struct inflate_state *atrest_isal_new(void) {
	struct inflate_state *s = malloc(sizeof *s);
	if (s != NULL)
		isal_inflate_init(s);
	return s;
}

// Deflate data followed by a gzip trailer, checked against what was
// inflated: the caller reads the gzip header.
static void atrest_isal_reset(struct inflate_state *s) {
	isal_inflate_reset(s);
	s->crc_flag = ISAL_GZIP_NO_HDR_VER;
}

// What one call of isal_inflate did.
struct atrest_isal_step {
	int rc;
	uint32_t consumed, produced;
	int finished;
};

// One call of isal_inflate over in and out. The state keeps no pointer to
// either once it returns. igzip's vector code leaves the upper halves of the
// AVX registers in use; every SSE instruction the thread runs after it would
// then pay for the transition (SHA-256 runs ~100 times slower), so they are
// cleared before returning to Go.
static struct atrest_isal_step atrest_isal_inflate(struct inflate_state *s, uint8_t *in, uint32_t in_len,
		uint8_t *out, uint32_t out_len) {
	struct atrest_isal_step r;
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	r.rc = isal_inflate(s);
	r.consumed = in_len - s->avail_in;
	r.produced = out_len - s->avail_out;
	r.finished = s->block_state == ISAL_BLOCK_FINISH;
	s->next_in = NULL;
	s->next_out = NULL;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("avx"))
		__asm__ volatile("vzeroupper");
#endif
	return r;
}

// Whether the upper halves of the AVX registers are in use (XINUSE bit 2,
// read with XGETBV 1) right after atrest_isal_inflate returns: 1 or 0, or -1
// where the processor cannot tell. For the package's tests.
static int atrest_isal_upper_in_use_after(struct inflate_state *s, uint8_t *in, uint32_t in_len,
		uint8_t *out, uint32_t out_len) {
#if defined(__x86_64__)
	unsigned a, b, c, d;
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
		return -1;
	if (__get_cpuid_max(0, NULL) < 0xd)
		return -1;
	__cpuid_count(0xd, 1, a, b, c, d);
	if (!(a & (1u << 2)))
		return -1;
	atrest_isal_inflate(s, in, in_len, out, out_len);
	unsigned lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(1));
	return (lo >> 2) & 1;
#else
	return -1;
#endif
}
*/
import "C"

import (
	"errors"
	"math"
	"runtime"
	"sync/atomic"
	"unsafe"
)

// Available reports whether this build inflates with ISA-L.
const Available = true

// liveStates counts the States whose C memory is not yet freed.
var liveStates atomic.Int64

// State inflates one gzip member's deflate data and checks its trailer. Its
// ~85 KB live in C memory, freed once the State is unreachable.
type State struct {
	st  *C.struct_inflate_state
	off int64
}

// New returns a State ready for a member.
func New() (*State, error) {
	st := C.atrest_isal_new()
	if st == nil {
		return nil, errors.New("igzip: cannot allocate the inflate state")
	}
	s := &State{st: st}
	liveStates.Add(1)
	runtime.AddCleanup(s, func(st *C.struct_inflate_state) {
		C.free(unsafe.Pointer(st))
		liveStates.Add(-1)
	}, st)
	C.atrest_isal_reset(st)
	return s, nil
}

// Reset starts a new member.
func (s *State) Reset() {
	s.off = 0
	C.atrest_isal_reset(s.st)
}

// Inflate inflates from in into out. It reports how many bytes of in it
// consumed (it consumes all of in when out has room, keeping what it has not
// yet decoded) and of out it produced, and finished once the trailer that
// follows the deflate data has been read and matches; in's bytes after the
// trailer are not consumed. The error is ErrChecksum or a *CorruptError.
func (s *State) Inflate(in, out []byte) (consumed, produced int, finished bool, err error) {
	if len(in) == 0 || len(out) == 0 {
		return 0, 0, false, nil
	}
	in = in[:min(len(in), math.MaxUint32)]
	out = out[:min(len(out), math.MaxUint32)]
	r := C.atrest_isal_inflate(s.st,
		(*C.uint8_t)(unsafe.Pointer(&in[0])), C.uint32_t(len(in)),
		(*C.uint8_t)(unsafe.Pointer(&out[0])), C.uint32_t(len(out)))
	s.off += int64(r.consumed)
	switch {
	case r.rc == C.ISAL_INCORRECT_CHECKSUM:
		err = ErrChecksum
	case r.rc < 0:
		err = &CorruptError{Offset: s.off, Code: int(r.rc)}
	}
	return int(r.consumed), int(r.produced), r.finished != 0, err
}

// avxUpperInUseAfterInflate inflates in into out with s and reports whether
// the upper halves of the AVX registers are in use once atrest_isal_inflate
// has returned: 1 or 0, -1 where the processor cannot tell.
func avxUpperInUseAfterInflate(s *State, in, out []byte) int {
	r := C.atrest_isal_upper_in_use_after(s.st,
		(*C.uint8_t)(unsafe.Pointer(&in[0])), C.uint32_t(len(in)),
		(*C.uint8_t)(unsafe.Pointer(&out[0])), C.uint32_t(len(out)))
	runtime.KeepAlive(s)
	return int(r)
}
