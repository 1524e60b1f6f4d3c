package cloudtrail

import (
	"math/rand/v2"
	"testing"
)

// TestClassifyMatchesGeneric holds the architecture's classify to the
// byte-at-a-time one: every byte value at every position of a block, and
// random blocks drawn from JSON's marks and a few other bytes.
func TestClassifyMatchesGeneric(t *testing.T) {
	check := func(p *[blockSize]byte) {
		t.Helper()
		q, b, br, cm, cl := classify(p)
		gq, gb, gbr, gcm, gcl := classifyGeneric(p)
		if q != gq || b != gb || br != gbr || cm != gcm || cl != gcl {
			t.Fatalf("block %q: classify %x %x %x %x %x, generic %x %x %x %x %x", p[:], q, b, br, cm, cl, gq, gb, gbr, gcm, gcl)
		}
	}
	var p [blockSize]byte
	for c := range 256 {
		for k := range blockSize {
			for i := range p {
				p[i] = 'a'
			}
			p[k] = byte(c)
			check(&p)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`"\{}[]:, a0;|]{` + "\x00\x7f\xff\x80\x22\x5b\x5d\x7b\x7d\xfb\xdb")
	for range 20000 {
		for i := range p {
			p[i] = alphabet[r.IntN(len(alphabet))]
		}
		check(&p)
	}
}
