package keyverify

import (
	"bytes"
	"encoding/binary"
	"errors"
	"maps"
	"testing"
)

// buildHeader serializes a format version 2 header (the test's own writer,
// independent of the ESDK).
func buildHeader(suite uint16, ctx [][2]string, keys []DataKey) []byte {
	var b bytes.Buffer
	u16 := func(n int) { _ = binary.Write(&b, binary.BigEndian, uint16(n)) }
	b.WriteByte(2)
	u16(int(suite))
	b.Write(bytes.Repeat([]byte{0xAB}, messageIDLenV2))
	var aad bytes.Buffer
	if len(ctx) > 0 {
		_ = binary.Write(&aad, binary.BigEndian, uint16(len(ctx)))
		for _, kv := range ctx {
			for _, s := range kv {
				_ = binary.Write(&aad, binary.BigEndian, uint16(len(s)))
				aad.WriteString(s)
			}
		}
	}
	u16(aad.Len())
	b.Write(aad.Bytes())
	u16(len(keys))
	for _, k := range keys {
		u16(len(k.ProviderID))
		b.WriteString(k.ProviderID)
		u16(len(k.ProviderInfo))
		b.WriteString(k.ProviderInfo)
		u16(len(k.Ciphertext))
		b.Write(k.Ciphertext)
	}
	b.WriteByte(2)
	_ = binary.Write(&b, binary.BigEndian, uint32(4096))
	b.Write(make([]byte, suiteDataLenV2+headerAuthTagLenV2))
	return b.Bytes()
}

const arnA = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func TestParseHeaderRoundTrip(t *testing.T) {
	keys := []DataKey{{ProviderID: "aws-kms", ProviderInfo: arnA, Ciphertext: []byte{1, 2, 3}}}
	ctx := [][2]string{{"atrest-key-arn", arnA}, {"atrest-nonce", "00ff"}, {"atrest-purpose", "key-verification"}}
	msg := buildHeader(SuiteCommitKey, ctx, keys)
	h, err := ParseHeader(append(msg, 0xEE, 0xEE)) // a body follows the header
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"atrest-key-arn": arnA, "atrest-nonce": "00ff", "atrest-purpose": "key-verification"}
	if h.Version != 2 || h.Suite != SuiteCommitKey || h.ContentType != 2 || h.FrameLength != 4096 || h.Length != len(msg) ||
		!maps.Equal(h.Context, want) || len(h.DataKeys) != 1 || h.DataKeys[0].ProviderInfo != arnA ||
		!bytes.Equal(h.DataKeys[0].Ciphertext, []byte{1, 2, 3}) || len(h.MessageID) != 32 {
		t.Fatalf("header = %+v", h)
	}
	empty, err := ParseHeader(buildHeader(SuiteCommitKeyECDSAP384, nil, keys))
	if err != nil || len(empty.Context) != 0 || empty.Context == nil || empty.Suite != SuiteCommitKeyECDSAP384 {
		t.Fatalf("empty context: %+v %v", empty, err)
	}
}

func TestParseHeaderMalformed(t *testing.T) {
	keys := []DataKey{{ProviderID: "aws-kms", ProviderInfo: arnA, Ciphertext: []byte{1}}}
	good := buildHeader(SuiteCommitKey, [][2]string{{"a", "1"}}, keys)
	for n := range len(good) {
		if _, err := ParseHeader(good[:n]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated to %d bytes: err = %v, want ErrMalformed", n, err)
		}
	}
	v1 := bytes.Clone(good)
	v1[0] = 1
	noKeys := buildHeader(SuiteCommitKey, nil, nil)
	unsorted := buildHeader(SuiteCommitKey, [][2]string{{"b", "1"}, {"a", "2"}}, keys)
	dup := buildHeader(SuiteCommitKey, [][2]string{{"a", "1"}, {"a", "2"}}, keys)
	oldSuite := buildHeader(0x0178, nil, keys)
	badUTF8 := buildHeader(SuiteCommitKey, [][2]string{{"a", "\xff"}}, keys)
	badContent := bytes.Clone(good)
	badContent[len(good)-suiteDataLenV2-headerAuthTagLenV2-5] = 9
	for name, msg := range map[string][]byte{
		"version 1": v1, "no data key": noKeys, "unsorted context": unsorted, "duplicate context key": dup,
		"non-committing suite": oldSuite, "context not UTF-8": badUTF8, "content type 9": badContent,
	} {
		if _, err := ParseHeader(msg); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzParseHeader(f *testing.F) {
	keys := []DataKey{{ProviderID: "aws-kms", ProviderInfo: arnA, Ciphertext: []byte{1, 2}}}
	f.Add(buildHeader(SuiteCommitKey, [][2]string{{"a", "1"}}, keys))
	f.Add(buildHeader(SuiteCommitKeyECDSAP384, nil, keys))
	f.Add([]byte{2, 4, 0x78})
	f.Fuzz(func(t *testing.T, msg []byte) {
		h, err := ParseHeader(msg)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v is not ErrMalformed", err)
			}
			return
		}
		if h.Length > len(msg) || len(h.DataKeys) == 0 || h.Context == nil {
			t.Fatalf("inconsistent header %+v for %d bytes", h, len(msg))
		}
	})
}
