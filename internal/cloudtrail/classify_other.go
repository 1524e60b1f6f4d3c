//go:build !amd64 && !arm64

package cloudtrail

// classify marks, bit k for byte k of p, its quotes, backslashes,
// brackets ({}[]), commas and colons.
func classify(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64) {
	return classifyGeneric(p)
}
