#include "textflag.h"

// Each constant is one byte repeated over a 32-byte vector.
DATA quote<>+0(SB)/8, $0x2222222222222222
DATA quote<>+8(SB)/8, $0x2222222222222222
DATA quote<>+16(SB)/8, $0x2222222222222222
DATA quote<>+24(SB)/8, $0x2222222222222222
GLOBL quote<>(SB), RODATA|NOPTR, $32

DATA bslash<>+0(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA bslash<>+8(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA bslash<>+16(SB)/8, $0x5c5c5c5c5c5c5c5c
DATA bslash<>+24(SB)/8, $0x5c5c5c5c5c5c5c5c
GLOBL bslash<>(SB), RODATA|NOPTR, $32

DATA lower<>+0(SB)/8, $0x2020202020202020
DATA lower<>+8(SB)/8, $0x2020202020202020
DATA lower<>+16(SB)/8, $0x2020202020202020
DATA lower<>+24(SB)/8, $0x2020202020202020
GLOBL lower<>(SB), RODATA|NOPTR, $32

DATA open<>+0(SB)/8, $0x7b7b7b7b7b7b7b7b
DATA open<>+8(SB)/8, $0x7b7b7b7b7b7b7b7b
DATA open<>+16(SB)/8, $0x7b7b7b7b7b7b7b7b
DATA open<>+24(SB)/8, $0x7b7b7b7b7b7b7b7b
GLOBL open<>(SB), RODATA|NOPTR, $32

DATA close<>+0(SB)/8, $0x7d7d7d7d7d7d7d7d
DATA close<>+8(SB)/8, $0x7d7d7d7d7d7d7d7d
DATA close<>+16(SB)/8, $0x7d7d7d7d7d7d7d7d
DATA close<>+24(SB)/8, $0x7d7d7d7d7d7d7d7d
GLOBL close<>(SB), RODATA|NOPTR, $32

DATA colon<>+0(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA colon<>+8(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA colon<>+16(SB)/8, $0x3a3a3a3a3a3a3a3a
DATA colon<>+24(SB)/8, $0x3a3a3a3a3a3a3a3a
GLOBL colon<>(SB), RODATA|NOPTR, $32

DATA comma<>+0(SB)/8, $0x2c2c2c2c2c2c2c2c
DATA comma<>+8(SB)/8, $0x2c2c2c2c2c2c2c2c
DATA comma<>+16(SB)/8, $0x2c2c2c2c2c2c2c2c
DATA comma<>+24(SB)/8, $0x2c2c2c2c2c2c2c2c
GLOBL comma<>(SB), RODATA|NOPTR, $32

// func classifyAVX2(p *[64]byte) (quote, bslash, bracket, comma, colon uint64)
//
// Y0 and Y1 hold the block's halves, Y8-Y14 the bytes compared with; each
// mask is the two halves' VPMOVMSKB, the second shifted to the high 32 bits.
TEXT ·classifyAVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), SI
	VMOVDQU (SI), Y0
	VMOVDQU 32(SI), Y1
	VMOVDQU quote<>(SB), Y8
	VMOVDQU bslash<>(SB), Y9
	VMOVDQU lower<>(SB), Y10
	VMOVDQU open<>(SB), Y11
	VMOVDQU close<>(SB), Y12
	VMOVDQU colon<>(SB), Y13
	VMOVDQU comma<>(SB), Y14

	// Quotes.
	VPCMPEQB Y0, Y8, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y1, Y8, Y2
	VPMOVMSKB Y2, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, quote+8(FP)

	// Backslashes.
	VPCMPEQB Y0, Y9, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y1, Y9, Y2
	VPMOVMSKB Y2, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, bslash+16(FP)

	// Brackets: with bit 5 set, [ reads as { and ] as }, and no other
	// byte reads as either.
	VPOR Y0, Y10, Y3
	VPOR Y1, Y10, Y4
	VPCMPEQB Y3, Y11, Y2
	VPCMPEQB Y3, Y12, Y5
	VPOR Y2, Y5, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y4, Y11, Y2
	VPCMPEQB Y4, Y12, Y5
	VPOR Y2, Y5, Y2
	VPMOVMSKB Y2, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, bracket+24(FP)

	// Commas.
	VPCMPEQB Y0, Y14, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y1, Y14, Y2
	VPMOVMSKB Y2, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, comma+32(FP)

	// Colons.
	VPCMPEQB Y0, Y13, Y2
	VPMOVMSKB Y2, AX
	VPCMPEQB Y1, Y13, Y2
	VPMOVMSKB Y2, BX
	SHLQ $32, BX
	ORQ BX, AX
	MOVQ AX, colon+40(FP)

	VZEROUPPER
	RET
