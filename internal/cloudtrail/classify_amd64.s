#include "textflag.h"

// marks<> holds the bytes classify looks for, one each: " \ { } , : and
// bit 5, which turns [ into { and ] into } and no other byte into either.
DATA marks<>+0(SB)/8, $0x00203a2c7d7b5c22
GLOBL marks<>(SB), RODATA|NOPTR, $8

// EQ2 compares the block's halves (Y0, Y1) with the byte repeated in c,
// into Y2 and Y3.
#define EQ2(c) \
	VPCMPEQB Y0, c, Y2; \
	VPCMPEQB Y1, c, Y3

// BRACKETS marks in Y2 and Y3 the block's brackets: with bit 5 (Y13)
// set, those equal to { (Y10) or } (Y11).
#define BRACKETS \
	VPOR Y0, Y13, Y6; \
	VPOR Y1, Y13, Y7; \
	VPCMPEQB Y6, Y10, Y2; \
	VPCMPEQB Y7, Y10, Y3; \
	VPCMPEQB Y6, Y11, Y4; \
	VPCMPEQB Y7, Y11, Y5; \
	VPOR Y4, Y2, Y2; \
	VPOR Y5, Y3, Y3

// MASK stores at out the compares in Y2 and Y3 as one 64-bit mask: bit k
// for byte k of the block.
#define MASK(out) \
	VPMOVMSKB Y2, AX; \
	VPMOVMSKB Y3, BX; \
	SHLQ $32, BX; \
	ORQ BX, AX; \
	MOVQ AX, out

// func classifyAVX2(p *[64]byte) (quote, bslash, bracket, comma, colon uint64)
//
// Y0 and Y1 hold the block's halves, Y8-Y14 the bytes of marks<>, each
// repeated.
TEXT ·classifyAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VPBROADCASTB marks<>+0(SB), Y8
	VPBROADCASTB marks<>+1(SB), Y9
	VPBROADCASTB marks<>+2(SB), Y10
	VPBROADCASTB marks<>+3(SB), Y11
	VPBROADCASTB marks<>+4(SB), Y12
	VPBROADCASTB marks<>+5(SB), Y14
	VPBROADCASTB marks<>+6(SB), Y13

	EQ2(Y8)
	MASK(quote+8(FP))
	EQ2(Y9)
	MASK(bslash+16(FP))
	BRACKETS
	MASK(bracket+24(FP))
	EQ2(Y12)
	MASK(comma+32(FP))
	EQ2(Y14)
	MASK(colon+40(FP))
	VZEROUPPER
	RET
