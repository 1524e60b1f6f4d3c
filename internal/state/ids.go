package state

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
)

// Shapes of ids, as the EFS and KMS API references define them
// (https://docs.aws.amazon.com/efs/latest/ug/API_FileSystemDescription.html,
// https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id),
// checked byte by byte: ids_test.go holds each check to its regular
// expression.

// ValidFileSystemID reports whether s is an EFS file system id: fs- and
// lower-case hex digits (^fs-[0-9a-f]+$).
func ValidFileSystemID(s string) bool {
	hex, ok := strings.CutPrefix(s, "fs-")
	return ok && hex != "" && lowerHex(hex)
}

// ValidKeyID reports whether s is a KMS key id: a UUID, or mrk- and 32
// hex digits for a multi-Region key.
func ValidKeyID(s string) bool {
	if hex, ok := strings.CutPrefix(s, "mrk-"); ok {
		return len(hex) == 32 && lowerHex(hex)
	}
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !lowerHexDigit(s[i]) {
				return false
			}
		}
	}
	return true
}

// validAliasName reports whether s is alias/ and letters, digits, /, _
// and - (^alias/[a-zA-Z0-9/_-]+$).
func validAliasName(s string) bool {
	name, ok := strings.CutPrefix(s, "alias/")
	if !ok || name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '/' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// arnText reports whether s is made of the characters an ARN may carry:
// printable ASCII without spaces (^[!-~]+$).
func arnText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '!' || s[i] > '~' {
			return false
		}
	}
	return true
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !lowerHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func lowerHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }

// field names a member of a record for an error: base (resources[i].ARN
// when index >= 0) or base.member. It is formatted only when a check fails.
type field struct {
	base   string
	index  int
	member string
}

func (f field) String() string {
	switch {
	case f.index >= 0:
		return fmt.Sprintf("%s[%d].ARN", f.base, f.index)
	case f.member != "":
		return f.base + "." + f.member
	}
	return f.base
}

// checkARN parses s and returns its parts.
func checkARN(field field, s string) (arns.ARN, error) {
	a, ok := arns.Parse(s)
	if !ok || !arnText(s) {
		return arns.ARN{}, fmt.Errorf("%w: %s %q is not an ARN", ErrBadRecord, field, s)
	}
	return a, nil
}

// checkFileSystemRef accepts a file system id or file system ARN.
func checkFileSystemRef(field field, s string) error {
	if s == "" {
		return nil
	}
	if !arns.LooksLikeARN(s) {
		if !ValidFileSystemID(s) {
			return fmt.Errorf("%w: %s %q is not a file system id (fs- and hex digits)", ErrBadRecord, field, s)
		}
		return nil
	}
	a, err := checkARN(field, s)
	if err != nil {
		return err
	}
	id, ok := strings.CutPrefix(a.Resource, "file-system/")
	if !ok || !ValidFileSystemID(id) {
		return fmt.Errorf("%w: %s %q is not a file system ARN", ErrBadRecord, field, s)
	}
	return nil
}

// checkKeyRef accepts what KMS takes for a key: a key id, key ARN, alias
// name or alias ARN.
func checkKeyRef(field field, s string) error {
	switch {
	case s == "":
		return nil
	case arns.LooksLikeARN(s):
		a, err := checkARN(field, s)
		if err != nil {
			return err
		}
		if id, ok := strings.CutPrefix(a.Resource, "key/"); ok && ValidKeyID(id) || validAliasName(a.Resource) {
			return nil
		}
		return fmt.Errorf("%w: %s %q is not a key or alias ARN", ErrBadRecord, field, s)
	case strings.HasPrefix(s, "alias/"):
		if validAliasName(s) {
			return nil
		}
		return fmt.Errorf("%w: %s %q is not an alias name", ErrBadRecord, field, s)
	case ValidKeyID(s):
		return nil
	}
	return fmt.Errorf("%w: %s %q is not a key id (a UUID or mrk- and 32 hex digits)", ErrBadRecord, field, s)
}

// idFields are the members of requestParameters and responseElements that
// name a file system or a key.
type idFields struct {
	FileSystemID  string `json:"fileSystemId"`
	FileSystemARN string `json:"fileSystemArn"`
	KMSKeyID      string `json:"kmsKeyId"`
	KeyID         string `json:"keyId"`
	TargetKeyID   string `json:"targetKeyId"`
	KeyMetadata   *struct {
		KeyID string `json:"keyId"`
		ARN   string `json:"arn"`
	} `json:"keyMetadata"`
}

// idCheck is one id of a record and the check of its shape.
type idCheck struct {
	field string
	value string
	check func(field field, value string) error
}

// ValidateIDs checks every id an EFS or KMS record names before any of it
// is applied: file system ids, key ids, alias names and ARNs must have
// their documented shape, so an id carrying control characters or other
// text never reaches the model, a finding or a terminal. The error is an
// ErrBadRecord naming the field. Members of the wrong type are left to the
// apply that reads them.
func ValidateIDs(rec *cloudtrail.Record) error {
	if rec.EventSource != cloudtrail.SourceEFS && rec.EventSource != cloudtrail.SourceKMS {
		return nil
	}
	for i, r := range rec.Resources {
		if r.ARN == "" {
			continue
		}
		field := field{base: "resources", index: i}
		var err error
		switch r.Type {
		case "AWS::KMS::Key":
			err = checkKeyRef(field, r.ARN)
		case "AWS::EFS::FileSystem":
			err = checkFileSystemRef(field, r.ARN)
		default:
			_, err = checkARN(field, r.ARN)
		}
		if err != nil {
			return err
		}
	}
	for _, part := range []struct {
		name string
		raw  json.RawMessage
	}{{"requestParameters", rec.RequestParameters}, {"responseElements", rec.ResponseElements}} {
		if len(part.raw) == 0 {
			continue
		}
		// The ids are read by a walk that skips what they are not; only
		// when it cannot, or when an id it read fails its check, are they
		// read by json.Unmarshal, whose reading (and refusal of malformed
		// JSON) decides.
		if f, ok := idFieldsOf(part.raw); ok && checkIDs(part.name, f) == nil {
			continue
		}
		var f idFields
		if json.Unmarshal(part.raw, &f) != nil {
			continue
		}
		if err := checkIDs(part.name, f); err != nil {
			return err
		}
	}
	return nil
}

// checkIDs checks the ids of one member (requestParameters or
// responseElements) of a record.
func checkIDs(part string, f idFields) error {
	checks := []idCheck{
		{"fileSystemId", f.FileSystemID, checkFileSystemRef},
		{"fileSystemArn", f.FileSystemARN, checkFileSystemRef},
		{"kmsKeyId", f.KMSKeyID, checkKeyRef},
		{"keyId", f.KeyID, checkKeyRef},
		{"targetKeyId", f.TargetKeyID, checkKeyRef},
	}
	if f.KeyMetadata != nil {
		checks = append(checks,
			idCheck{"keyMetadata.keyId", f.KeyMetadata.KeyID, checkKeyRef},
			idCheck{"keyMetadata.arn", f.KeyMetadata.ARN, checkKeyRef})
	}
	for _, c := range checks {
		if err := c.check(field{base: part, index: -1, member: c.field}, c.value); err != nil {
			return err
		}
	}
	return nil
}
