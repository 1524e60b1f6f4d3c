package cloudtrail

import "golang.org/x/sys/cpu"

// vectorClassify: classify has a vector version on this processor, AVX2,
// and scanValue marks whole blocks with it.
var vectorClassify = cpu.X86.HasAVX2

// classifyAVX2 is classify with two 32-byte AVX2 vectors.
//
//go:noescape
func classifyAVX2(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64)

// classify marks, bit k for byte k of p, its quotes, backslashes,
// brackets ({}[]), commas and colons.
func classify(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64) {
	if vectorClassify {
		return classifyAVX2(p)
	}
	return classifyGeneric(p)
}
