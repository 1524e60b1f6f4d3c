package keyverify

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// BenchmarkVerify is one full verification (DescribeKey, GenerateDataKey,
// Decrypt against local-kms, the ESDK round trip) with the cache off.
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		opts []Option
	}{
		{"suite=0x0478", nil},
		{"suite=0x0578", []Option{WithSigningSuite()}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg, _ := testConfig(b)
			key := createKey(b, testKMS(b), types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
			v, err := New(cfg, append(bc.opts, WithInterval(0))...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				if r := v.Verify(ctx, key, []string{testFS}); !r.OK {
					b.Fatalf("%s %s", r.Reason, r.Detail)
				}
			}
		})
	}
}
