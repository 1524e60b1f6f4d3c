package trailgen

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"testing"

	"github.com/atrest/atrest/internal/cloudtrail"
)

func TestWriteIsDeterministicAndDecodes(t *testing.T) {
	var a, b bytes.Buffer
	sa, err := Write(&a, Options{Records: 2000, Relevant: 0.05, Seed: 7, Gzip: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Write(&b, Options{Records: 2000, Relevant: 0.05, Seed: 7, Gzip: true}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("the same seed wrote different files")
	}
	zr, err := gzip.NewReader(bytes.NewReader(a.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(plain)) != sa.Bytes {
		t.Errorf("Stats.Bytes = %d, file has %d", sa.Bytes, len(plain))
	}
	if per := len(plain) / sa.Records; per < 1000 || per > 3000 {
		t.Errorf("mean record size %d bytes, want 1–3 KB", per)
	}
	var emitted int
	st, err := (&cloudtrail.Decoder{}).Decode(context.Background(), "gen", bytes.NewReader(a.Bytes()),
		func(*cloudtrail.Record, cloudtrail.Shape) error { emitted++; return nil },
		func(e *cloudtrail.DecodeError) { t.Errorf("decode error: %v", e) })
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 2000 || emitted != sa.Relevant || st.Skipped != 2000-sa.Relevant {
		t.Errorf("decoded %+v emitted %d, generator wrote %+v", st, emitted, sa)
	}
	if sa.Relevant < 60 || sa.Relevant > 140 {
		t.Errorf("%d records of interest in 2000 at 5 %%", sa.Relevant)
	}
}
