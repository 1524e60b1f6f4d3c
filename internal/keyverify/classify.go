package keyverify

import (
	"context"
	"errors"
	"strings"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	primtypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/primitives/awscryptographyprimitivessmithygeneratedtypes"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// causes walks an error tree breadth first: the error itself, what
// errors.Unwrap and Unwrap() []error return, and what the Encryption SDK and
// the Material Providers Library hold in their own wrappers, which do not
// implement Unwrap (CollectionOfErrors.ListOfErrors, OpaqueError.ErrObject).
// A KMS error raised inside the keyring comes back through those wrappers
// as the SDK's own *types.XxxException.
func causes(err error) []error {
	var out []error
	queue := []error{err}
	for len(queue) > 0 && len(out) < 64 {
		e := queue[0]
		queue = queue[1:]
		if e == nil {
			continue
		}
		out = append(out, e)
		switch x := e.(type) {
		case interface{ Unwrap() []error }:
			queue = append(queue, x.Unwrap()...)
		case interface{ Unwrap() error }:
			queue = append(queue, x.Unwrap())
		}
		switch x := e.(type) {
		case esdktypes.CollectionOfErrors:
			queue = append(queue, x.ListOfErrors...)
		case esdktypes.OpaqueError:
			queue = appendObject(queue, x.ErrObject)
		case mpltypes.CollectionOfErrors:
			queue = append(queue, x.ListOfErrors...)
		case mpltypes.OpaqueError:
			queue = appendObject(queue, x.ErrObject)
		case primtypes.CollectionOfErrors:
			queue = append(queue, x.ListOfErrors...)
		case primtypes.OpaqueError:
			queue = appendObject(queue, x.ErrObject)
		}
	}
	return out
}

func appendObject(queue []error, obj any) []error {
	if e, ok := obj.(error); ok {
		return append(queue, e)
	}
	return queue
}

// findAs is errors.As over every cause.
func findAs[T error](err error) (T, bool) {
	var target T
	for _, e := range causes(err) {
		if errors.As(e, &target) {
			return target, true
		}
	}
	return target, false
}

// classifyKMS maps a failure of a step that calls KMS to a reason, from the
// KMS error type found anywhere in the error tree. keyState is DescribeKey's
// answer ("" when unknown); it tells a key pending deletion from another
// invalid state. It returns ReasonNone when no KMS error is found.
func classifyKMS(err error, keyState string) Reason {
	if err == nil {
		return ReasonNone
	}
	if _, ok := findAs[*types.DisabledException](err); ok {
		return ReasonDisabled
	}
	if e, ok := findAs[*types.KMSInvalidStateException](err); ok {
		if keyState == string(types.KeyStatePendingDeletion) || keyState == string(types.KeyStatePendingReplicaDeletion) ||
			strings.Contains(strings.ToLower(e.ErrorMessage()), "pending deletion") {
			return ReasonPendingDeletion
		}
		return ReasonInvalidState
	}
	if _, ok := findAs[*types.KeyUnavailableException](err); ok {
		return ReasonKeyUnavailable
	}
	if _, ok := findAs[*types.CustomKeyStoreInvalidStateException](err); ok {
		return ReasonKeyUnavailable
	}
	if _, ok := findAs[*types.InvalidKeyUsageException](err); ok {
		return ReasonInvalidKeyUsage
	}
	if _, ok := findAs[*types.NotFoundException](err); ok {
		return ReasonNotFound
	}
	if _, ok := findAs[*types.InvalidArnException](err); ok {
		return ReasonNotFound
	}
	if _, ok := findAs[*types.IncorrectKeyException](err); ok {
		return ReasonWrongKey
	}
	if _, ok := findAs[*types.InvalidCiphertextException](err); ok {
		return ReasonTampered
	}
	// KMS has no modelled AccessDeniedException: IAM and key-policy denials
	// arrive as a generic API error with that code.
	if e, ok := findAs[smithy.APIError](err); ok {
		switch e.ErrorCode() {
		case "AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException":
			return ReasonAccessDenied
		}
		if isThrottle(e.ErrorCode()) {
			return ReasonThrottled
		}
	}
	for _, e := range causes(err) {
		if errors.Is(e, context.Canceled) || errors.Is(e, context.DeadlineExceeded) {
			return ReasonCanceled
		}
	}
	return ReasonNone
}

func isThrottle(code string) bool {
	switch code {
	case "ThrottlingException", "Throttling", "RequestLimitExceeded", "TooManyRequestsException":
		return true
	}
	return false
}
