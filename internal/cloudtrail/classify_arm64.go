package cloudtrail

// vectorClassify: classify has a vector version, and scanValue marks whole
// blocks with it.
const vectorClassify = true

// classify marks, bit k for byte k of p, its quotes, backslashes,
// brackets ({}[]), commas and colons, with four 16-byte NEON
// vectors (every arm64 processor has them).
//
//go:noescape
func classify(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64)
