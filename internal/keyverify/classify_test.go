package keyverify

import (
	"context"
	"errors"
	"fmt"
	"testing"

	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
)

// wrapped nests err the way the ESDK returns a keyring failure: an ESDK
// collection holding an MPL collection holding the KMS error.
func wrapped(err error) error {
	return esdktypes.CollectionOfErrors{Message: "Unable to decrypt", ListOfErrors: []error{
		mpltypes.CollectionOfErrors{Message: "keyring", ListOfErrors: []error{err}},
	}}
}

func opErr(op string, err error) error {
	return &smithy.OperationError{ServiceID: "KMS", OperationName: op, Err: err}
}

func TestClassifyKMS(t *testing.T) {
	tests := []struct {
		name     string
		err      error
		keyState string
		want     Reason
	}{
		{name: "nil", err: nil, want: ReasonNone},
		{name: "disabled, wrapped twice", err: wrapped(&types.DisabledException{}), want: ReasonDisabled},
		{name: "pending deletion by key state", err: wrapped(&types.KMSInvalidStateException{}), keyState: "PendingDeletion", want: ReasonPendingDeletion},
		{name: "pending deletion by message", err: wrapped(&types.KMSInvalidStateException{Message: new("arn:... is pending deletion.")}), want: ReasonPendingDeletion},
		{name: "pending import", err: wrapped(&types.KMSInvalidStateException{Message: new("arn:... is pending import.")}), keyState: "PendingImport", want: ReasonInvalidState},
		{name: "access denied, generic API error in an opaque error", err: esdktypes.OpaqueError{ErrObject: opErr("GenerateDataKey", &smithy.GenericAPIError{Code: "AccessDeniedException"})}, want: ReasonAccessDenied},
		{name: "key unavailable", err: wrapped(&types.KeyUnavailableException{}), want: ReasonKeyUnavailable},
		{name: "custom key store disconnected", err: wrapped(&types.CustomKeyStoreInvalidStateException{}), want: ReasonKeyUnavailable},
		{name: "invalid key usage", err: wrapped(&types.InvalidKeyUsageException{}), want: ReasonInvalidKeyUsage},
		{name: "not found, SDK operation error", err: opErr("DescribeKey", &types.NotFoundException{}), want: ReasonNotFound},
		{name: "invalid ARN", err: wrapped(&types.InvalidArnException{}), want: ReasonNotFound},
		{name: "incorrect key", err: wrapped(&types.IncorrectKeyException{}), want: ReasonWrongKey},
		{name: "invalid ciphertext", err: wrapped(&types.InvalidCiphertextException{}), want: ReasonTampered},
		{name: "throttled after retries", err: wrapped(opErr("Decrypt", &retry.MaxAttemptsError{Attempt: 3, Err: &smithy.GenericAPIError{Code: "ThrottlingException"}})), want: ReasonThrottled},
		{name: "canceled", err: wrapped(opErr("Decrypt", fmt.Errorf("send: %w", context.Canceled))), want: ReasonCanceled},
		{name: "deadline", err: fmt.Errorf("x: %w", context.DeadlineExceeded), want: ReasonCanceled},
		{name: "joined errors", err: errors.Join(errors.New("a"), &types.DisabledException{}), want: ReasonDisabled},
		{name: "opaque error holding a non-error", err: mpltypes.OpaqueError{ErrObject: "text"}, want: ReasonNone},
		{name: "internal error", err: wrapped(opErr("GenerateDataKey", &types.KMSInternalException{})), want: ReasonNone},
		{name: "ESDK exception", err: esdktypes.AwsEncryptionSdkException{Message: "Commitment key does not match"}, want: ReasonNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyKMS(tt.err, tt.keyState); got != tt.want {
				t.Fatalf("classifyKMS = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCausesStopsOnCycles(t *testing.T) {
	// An error that unwraps to itself must not loop forever.
	if n := len(causes(&selfWrapping{})); n != 64 {
		t.Fatalf("causes = %d errors, want the cap of 64", n)
	}
}

func TestErrorDetail(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{wrapped(opErr("GenerateDataKey", &types.DisabledException{Message: new("key is disabled.")})), "DisabledException: key is disabled."},
		{esdktypes.CollectionOfErrors{ListOfErrors: []error{esdktypes.AwsEncryptionSdkException{Message: "Commitment key does not match"}}}, "Commitment key does not match"},
		{errors.New("line one\n  line two"), "line one line two"},
	}
	for _, tt := range tests {
		if got := errorDetail(tt.err); got != tt.want {
			t.Errorf("errorDetail = %q, want %q", got, tt.want)
		}
	}
}

func TestReasonConclusive(t *testing.T) {
	for r, want := range map[Reason]bool{
		ReasonDisabled: true, ReasonTampered: true, ReasonNotFound: true,
		ReasonThrottled: false, ReasonCanceled: false, ReasonError: false,
	} {
		if r.Conclusive() != want {
			t.Errorf("%s.Conclusive() = %v", r, !want)
		}
	}
}

type selfWrapping struct{}

func (e *selfWrapping) Error() string { return "self" }
func (e *selfWrapping) Unwrap() error { return e }
