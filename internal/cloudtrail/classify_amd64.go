package cloudtrail

import "golang.org/x/sys/cpu"

// hasAVX2 selects the AVX2 version of classify.
var hasAVX2 = cpu.X86.HasAVX2

// classifyAVX2 is classify with two 32-byte AVX2 vectors.
//
//go:noescape
func classifyAVX2(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64)

// classify marks, bit k for byte k of p, its quotes, backslashes,
// brackets ({}[]), commas and colons.
func classify(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64) {
	if hasAVX2 {
		return classifyAVX2(p)
	}
	return classifyGeneric(p)
}
