package state

import (
	"bytes"

	"github.com/atrest/atrest/internal/jsonwalk"
)

// idFieldsOf reads the members of raw (requestParameters or
// responseElements) that idFields holds, as json.Unmarshal into an idFields
// would read them from valid JSON, without decoding the rest: a key policy
// in requestParameters is skipped by looking for quotes, not read byte by
// byte. ok is false when raw holds what the walk leaves to json.Unmarshal:
// a key with an escape or a byte past ASCII, an id that is not a plain
// ASCII string or null, a keyMetadata that is not an object or null, or
// text that is neither an object nor null. Its result is trusted only for
// ids that pass their checks (ValidateIDs): a failing one is read again by
// json.Unmarshal, so that malformed JSON is judged as before.
func idFieldsOf(raw []byte) (f idFields, ok bool) {
	w := jsonwalk.Walk{B: raw}
	if w.Null() {
		return f, w.End()
	}
	ok = w.Object(func(key []byte) bool {
		var dst *string
		switch {
		case bytes.EqualFold(key, []byte("fileSystemId")):
			dst = &f.FileSystemID
		case bytes.EqualFold(key, []byte("fileSystemArn")):
			dst = &f.FileSystemARN
		case bytes.EqualFold(key, []byte("kmsKeyId")):
			dst = &f.KMSKeyID
		case bytes.EqualFold(key, []byte("keyId")):
			dst = &f.KeyID
		case bytes.EqualFold(key, []byte("targetKeyId")):
			dst = &f.TargetKeyID
		case bytes.EqualFold(key, []byte("keyMetadata")):
			if w.Null() {
				f.KeyMetadata = nil
				return true
			}
			// A repeated keyMetadata object is merged into the first one,
			// as json.Unmarshal fills the struct it already points to.
			if f.KeyMetadata == nil {
				f.KeyMetadata = &struct {
					KeyID string `json:"keyId"`
					ARN   string `json:"arn"`
				}{}
			}
			md := f.KeyMetadata
			return w.Object(func(key []byte) bool {
				switch {
				case bytes.EqualFold(key, []byte("keyId")):
					return id(&w, &md.KeyID)
				case bytes.EqualFold(key, []byte("arn")):
					return id(&w, &md.ARN)
				}
				return w.Skip()
			})
		default:
			return w.Skip()
		}
		return id(&w, dst)
	})
	return f, ok && w.End()
}

// id reads a Plain string into dst; null leaves dst as it is.
func id(w *jsonwalk.Walk, dst *string) bool {
	if w.Null() {
		return true
	}
	s, ok := w.Str()
	if !ok || !jsonwalk.Plain(s) {
		return false
	}
	*dst = string(s)
	return true
}
