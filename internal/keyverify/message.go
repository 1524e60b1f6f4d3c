package keyverify

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Header is the part of an AWS Encryption SDK message (format version 2, the
// version of every committing algorithm suite) that the verifier checks.
//
// Message format:
// https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html
type Header struct {
	// Version is the message format version (2).
	Version byte
	// Suite is the algorithm suite id, e.g. 0x0478.
	Suite uint16
	// MessageID is the 32-byte message id.
	MessageID []byte
	// Context is the encryption context stored in the header (the AAD).
	Context map[string]string
	// DataKeys are the encrypted data keys, in header order.
	DataKeys []DataKey
	// ContentType is 1 (non-framed) or 2 (framed).
	ContentType byte
	// FrameLength is the frame size of a framed message.
	FrameLength uint32
	// Length is the number of bytes of the header, authentication tag
	// included.
	Length int
}

// DataKey is one encrypted data key of a message header.
type DataKey struct {
	// ProviderID is "aws-kms" for a key wrapped by AWS KMS.
	ProviderID string
	// ProviderInfo is the ARN of the KMS key that wrapped it.
	ProviderInfo string
	// Ciphertext is the wrapped data key (a KMS ciphertext blob).
	Ciphertext []byte
}

// Algorithm suite ids of format version 2 (key commitment).
const (
	// SuiteCommitKey is AES_256_GCM_HKDF_SHA512_COMMIT_KEY.
	SuiteCommitKey uint16 = 0x0478
	// SuiteCommitKeyECDSAP384 is
	// AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384.
	SuiteCommitKeyECDSAP384 uint16 = 0x0578
)

// ProviderIDKMS is the provider id of a data key wrapped by AWS KMS.
const ProviderIDKMS = "aws-kms"

// Header field sizes of format version 2.
const (
	messageIDLenV2     = 32
	suiteDataLenV2     = 32 // the commitment key of a committing suite
	headerAuthTagLenV2 = 16
)

// ErrMalformed wraps every header parse failure.
var ErrMalformed = errors.New("malformed encrypted message")

// ParseHeader parses the header of an AWS Encryption SDK message of format
// version 2. It reads only the header; the body is neither parsed nor
// authenticated (decryption does that).
func ParseHeader(msg []byte) (*Header, error) {
	r := reader{b: msg}
	h := &Header{}
	h.Version = r.byte("version")
	if r.err == nil && h.Version != 2 {
		return nil, fmt.Errorf("%w: format version %d, want 2 (a committing algorithm suite)", ErrMalformed, h.Version)
	}
	h.Suite = r.uint16("algorithm suite id")
	if r.err == nil && h.Suite != SuiteCommitKey && h.Suite != SuiteCommitKeyECDSAP384 {
		return nil, fmt.Errorf("%w: algorithm suite 0x%04X is not a format version 2 suite", ErrMalformed, h.Suite)
	}
	h.MessageID = r.bytes(messageIDLenV2, "message id")
	aadLen := int(r.uint16("AAD length"))
	if aadLen > 0 {
		aad := reader{b: r.bytes(aadLen, "AAD")}
		if r.err == nil {
			ctx, err := parseContext(&aad)
			if err != nil {
				return nil, err
			}
			h.Context = ctx
		}
	} else {
		h.Context = map[string]string{}
	}
	n := int(r.uint16("encrypted data key count"))
	if r.err == nil && n == 0 {
		return nil, fmt.Errorf("%w: no encrypted data key", ErrMalformed)
	}
	for i := 0; i < n && r.err == nil; i++ {
		id := r.lenString(fmt.Sprintf("data key %d provider id", i))
		info := r.lenString(fmt.Sprintf("data key %d provider info", i))
		ct := r.lenBytes(fmt.Sprintf("data key %d ciphertext", i))
		h.DataKeys = append(h.DataKeys, DataKey{ProviderID: id, ProviderInfo: info, Ciphertext: ct})
	}
	h.ContentType = r.byte("content type")
	if r.err == nil && h.ContentType != 1 && h.ContentType != 2 {
		return nil, fmt.Errorf("%w: content type %d", ErrMalformed, h.ContentType)
	}
	h.FrameLength = r.uint32("frame length")
	r.bytes(suiteDataLenV2, "algorithm suite data")
	r.bytes(headerAuthTagLenV2, "header authentication tag")
	if r.err != nil {
		return nil, r.err
	}
	h.Length = r.off
	return h, nil
}

// parseContext reads the serialized encryption context: a pair count, then
// each key and value with a 2-byte length. Keys must be unique and sorted.
func parseContext(r *reader) (map[string]string, error) {
	n := int(r.uint16("encryption context pair count"))
	ctx := make(map[string]string, n)
	prev := ""
	for i := 0; i < n && r.err == nil; i++ {
		k := r.lenString(fmt.Sprintf("encryption context key %d", i))
		v := r.lenString(fmt.Sprintf("encryption context value %d", i))
		if r.err != nil {
			break
		}
		if _, dup := ctx[k]; dup {
			return nil, fmt.Errorf("%w: encryption context key %q appears twice", ErrMalformed, k)
		}
		if i > 0 && k < prev {
			return nil, fmt.Errorf("%w: encryption context keys are not sorted at %q", ErrMalformed, k)
		}
		ctx[k], prev = v, k
	}
	if r.err != nil {
		return nil, r.err
	}
	if r.off != len(r.b) {
		return nil, fmt.Errorf("%w: %d bytes after the encryption context", ErrMalformed, len(r.b)-r.off)
	}
	return ctx, nil
}

// reader reads big-endian fields; the first failure sticks in err and later
// reads return zero values.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || len(r.b)-r.off < n {
		r.err = fmt.Errorf("%w: %s: need %d bytes at byte %d, have %d", ErrMalformed, what, n, r.off, len(r.b)-r.off)
		return nil
	}
	out := r.b[r.off : r.off+n]
	r.off += n
	return out
}

func (r *reader) byte(what string) byte {
	if b := r.bytes(1, what); b != nil {
		return b[0]
	}
	return 0
}

func (r *reader) uint16(what string) uint16 {
	if b := r.bytes(2, what); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *reader) uint32(what string) uint32 {
	if b := r.bytes(4, what); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

func (r *reader) lenBytes(what string) []byte {
	n := int(r.uint16(what + " length"))
	return r.bytes(n, what)
}

func (r *reader) lenString(what string) string {
	b := r.lenBytes(what)
	if r.err != nil {
		return ""
	}
	if !utf8.Valid(b) {
		r.err = fmt.Errorf("%w: %s is not UTF-8", ErrMalformed, what)
		return ""
	}
	return string(b)
}
