#include "textflag.h"

// weights<> gives byte k of a vector the bit k mod 8: a compare's lanes,
// masked with it and added in pairs three times, become one bit a byte.
DATA weights<>+0(SB)/8, $0x8040201008040201
DATA weights<>+8(SB)/8, $0x8040201008040201
GLOBL weights<>(SB), RODATA|NOPTR, $16

// EQ4 compares the block (V0-V3) with the byte repeated in c, into V4-V7.
#define EQ4(c) \
	VCMEQ	c.B16, V0.B16, V4.B16; \
	VCMEQ	c.B16, V1.B16, V5.B16; \
	VCMEQ	c.B16, V2.B16, V6.B16; \
	VCMEQ	c.B16, V3.B16, V7.B16

// OREQ4 adds to V4-V7 the lanes of the block equal to the byte in c,
// comparing in V12-V15.
#define OREQ4(c) \
	VCMEQ	c.B16, V0.B16, V12.B16; \
	VCMEQ	c.B16, V1.B16, V13.B16; \
	VCMEQ	c.B16, V2.B16, V14.B16; \
	VCMEQ	c.B16, V3.B16, V15.B16; \
	VORR	V12.B16, V4.B16, V4.B16; \
	VORR	V13.B16, V5.B16, V5.B16; \
	VORR	V14.B16, V6.B16, V6.B16; \
	VORR	V15.B16, V7.B16, V7.B16

// MASK stores at out the compares in V4-V7 as one bit a byte: bit k of
// the 64-bit mask for byte k of the block.
#define MASK(out) \
	VAND	V30.B16, V4.B16, V4.B16; \
	VAND	V30.B16, V5.B16, V5.B16; \
	VAND	V30.B16, V6.B16, V6.B16; \
	VAND	V30.B16, V7.B16, V7.B16; \
	VADDP	V5.B16, V4.B16, V4.B16; \
	VADDP	V7.B16, V6.B16, V6.B16; \
	VADDP	V6.B16, V4.B16, V4.B16; \
	VADDP	V4.B16, V4.B16, V4.B16; \
	VMOV	V4.D[0], R3; \
	MOVD	R3, out

// func classify(p *[64]byte) (quote, bslash, bracket, comma, colon uint64)
//
// V0-V3 hold the block, V20-V26 the bytes compared with (each repeated),
// V30 the weights.
TEXT ·classify(SB), NOSPLIT, $0-48
	MOVD	p+0(FP), R0
	VLD1	(R0), [V0.B16, V1.B16, V2.B16, V3.B16]
	MOVD	$weights<>(SB), R1
	VLD1	(R1), [V30.B16]
	MOVD	$0x22, R2
	VDUP	R2, V20.B16
	MOVD	$0x5c, R2
	VDUP	R2, V21.B16
	MOVD	$0x7b, R2
	VDUP	R2, V23.B16
	MOVD	$0x7d, R2
	VDUP	R2, V24.B16
	MOVD	$0x5b, R2
	VDUP	R2, V25.B16
	MOVD	$0x5d, R2
	VDUP	R2, V26.B16
	MOVD	$0x2c, R2
	VDUP	R2, V27.B16
	MOVD	$0x3a, R2
	VDUP	R2, V28.B16

	EQ4(V20)
	MASK(quote+8(FP))
	EQ4(V21)
	MASK(bslash+16(FP))
	EQ4(V23)
	OREQ4(V24)
	OREQ4(V25)
	OREQ4(V26)
	MASK(bracket+24(FP))
	EQ4(V27)
	MASK(comma+32(FP))
	EQ4(V28)
	MASK(colon+40(FP))
	RET
