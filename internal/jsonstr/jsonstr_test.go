package jsonstr

import (
	"bytes"
	"encoding/json"
	"testing"
)

var samples = []string{"", "plain", `"quoted" \ back`, "\b\f\n\r\t\x00\x01\x1f\x7f", "<a href='x'>&amp;</a>",
	"é ü 日本", "\u2028\u2029", "\xff\xfe", "a\xc3", "\xed\xa0\x80", "\U0001F600"}

func FuzzAppend(f *testing.F) {
	for _, s := range samples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
			t.Fatalf("Append(%q) = %s, json.Marshal %s", s, got[1:], want)
		}
	})
}

// BenchmarkAppend writes a finding's reason, printable ASCII with nothing
// to escape, as most of what atrest writes is.
func BenchmarkAppend(b *testing.B) {
	s := "statement Enable IAM User Permissions allows account 111122223333 as a whole, so its IAM identity policies decide (the key policy does not block EFS): kms:CreateGrant, kms:Decrypt"
	b.SetBytes(int64(len(s)))
	buf := make([]byte, 0, 512)
	for b.Loop() {
		buf = Append(buf[:0], s)
	}
}
