package cloudtrail

// blockSize is how many bytes classify marks at once: one bit each in a
// uint64.
const blockSize = 64

// classifyGeneric is classify one byte at a time: on a processor without a
// vector version (where scanValue does not mark blocks: vectorClassify),
// and to hold those to.
func classifyGeneric(p *[blockSize]byte) (quote, bslash, bracket, comma, colon uint64) {
	for k, c := range p {
		switch c {
		case '"':
			quote |= 1 << k
		case '\\':
			bslash |= 1 << k
		case '{', '}', '[', ']':
			bracket |= 1 << k
		case ',':
			comma |= 1 << k
		case ':':
			colon |= 1 << k
		}
	}
	return quote, bslash, bracket, comma, colon
}
