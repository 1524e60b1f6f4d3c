//go:build !amd64 && !arm64

package cloudtrail

// vectorClassify: classify has no vector version here, and scanValue reads
// one byte at a time (scanBytes).
const vectorClassify = false

// classify marks, bit k for byte k of p, its quotes, backslashes,
// brackets ({}[]), commas and colons.
func classify(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64) {
	return classifyGeneric(p)
}
