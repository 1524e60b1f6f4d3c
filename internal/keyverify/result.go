package keyverify

import "time"

// Step names one stage of a verification, in the order they run.
type Step string

// Steps.
const (
	// StepDescribe reads the key with DescribeKey: its ARN, state, spec and
	// usage.
	StepDescribe Step = "describe"
	// StepEncrypt encrypts the canary with the AWS Encryption SDK: KMS
	// GenerateDataKey under the key, then AES-256-GCM with a committed key.
	StepEncrypt Step = "encrypt"
	// StepInspect parses the encrypted message's header and checks the
	// algorithm suite, the one encrypted data key and the encryption context.
	StepInspect Step = "inspect"
	// StepDecrypt decrypts the message with a keyring on the same key: KMS
	// Decrypt of the data key, then the AES-GCM body.
	StepDecrypt Step = "decrypt"
	// StepCompare compares the decrypted canary with the original in constant
	// time.
	StepCompare Step = "compare"
)

// Reason classifies why a verification failed. The empty reason means it
// succeeded.
type Reason string

// Reasons a key fails verification. Each KMS reason comes from the error type
// KMS returned (found with errors.As through the SDK's wrapping).
const (
	ReasonNone Reason = ""
	// ReasonDisabled: KMS answered DisabledException.
	ReasonDisabled Reason = "disabled"
	// ReasonPendingDeletion: KMSInvalidStateException for a key scheduled
	// for deletion.
	ReasonPendingDeletion Reason = "pending_deletion"
	// ReasonInvalidState: KMSInvalidStateException for any other state
	// (pending import, pending replica deletion, ...).
	ReasonInvalidState Reason = "invalid_state"
	// ReasonAccessDenied: AccessDeniedException, or a key policy or IAM
	// denial reported as such.
	ReasonAccessDenied Reason = "access_denied"
	// ReasonKeyUnavailable: KeyUnavailableException, or a custom key store
	// that is not connected.
	ReasonKeyUnavailable Reason = "key_unavailable"
	// ReasonInvalidKeyUsage: the key is not a symmetric encryption key
	// (InvalidKeyUsageException, or DescribeKey shows another spec or usage).
	ReasonInvalidKeyUsage Reason = "invalid_key_usage"
	// ReasonNotFound: NotFoundException, or an ARN that names no key.
	ReasonNotFound Reason = "not_found"
	// ReasonContextMismatch: the encryption context in the message is not
	// the one the canary was encrypted with.
	ReasonContextMismatch Reason = "context_mismatch"
	// ReasonWrongKey: the message's data key is not wrapped by exactly the
	// key under verification, or KMS answered IncorrectKeyException.
	ReasonWrongKey Reason = "wrong_key"
	// ReasonTampered: the message does not authenticate (a changed header,
	// body or wrapped data key), or the decrypted canary differs.
	ReasonTampered Reason = "tampered"
	// ReasonWrongAlgorithm: the message was not encrypted with the
	// algorithm suite the verifier asked for.
	ReasonWrongAlgorithm Reason = "wrong_algorithm_suite"
	// ReasonThrottled: KMS throttled every retry. Inconclusive.
	ReasonThrottled Reason = "throttled"
	// ReasonCanceled: the caller's context ended first. Inconclusive.
	ReasonCanceled Reason = "canceled"
	// ReasonError: any other failure (network, KMS internal error).
	// Inconclusive.
	ReasonError Reason = "error"
)

// Conclusive reports whether a failure says something about the key, rather
// than about the attempt to verify it (throttling, cancellation, a network
// or KMS internal error).
func (r Reason) Conclusive() bool {
	switch r {
	case ReasonThrottled, ReasonCanceled, ReasonError:
		return false
	}
	return true
}

// StepResult is the outcome of one step.
type StepResult struct {
	Step     Step          `json:"step"`
	OK       bool          `json:"ok"`
	Duration time.Duration `json:"duration_ns"`
	// Detail says what the step found (a key state, a suite) or, when it
	// failed, the error. It never holds plaintext or key material.
	Detail string `json:"detail,omitempty"`
}

// Result is the outcome of one verification of one key.
type Result struct {
	// Key is the key as the caller named it.
	Key string `json:"key"`
	// KeyARN is the key's ARN as DescribeKey reported it; the keyring is
	// built on it and the message must name it.
	KeyARN string `json:"key_arn,omitempty"`
	// FileSystems are the file systems the key protects, as the caller named
	// them (sorted); the encryption context names their ids.
	FileSystems []string `json:"file_systems,omitempty"`
	// KeyState, KeySpec and KeyUsage are DescribeKey's answer, when it gave
	// one.
	KeyState string `json:"key_state,omitempty"`
	KeySpec  string `json:"key_spec,omitempty"`
	KeyUsage string `json:"key_usage,omitempty"`
	// AlgorithmSuite is the ESDK algorithm suite id asked for (0x0478 or
	// 0x0578).
	AlgorithmSuite string `json:"algorithm_suite"`
	// Performed is true when the verification reached a conclusion about the
	// key: OK, or a failure with a conclusive reason.
	Performed bool `json:"performed"`
	// OK is true when every step succeeded.
	OK bool `json:"ok"`
	// Reason classifies the failure; empty when OK.
	Reason Reason `json:"reason,omitempty"`
	// FailedStep is the step that failed; empty when OK.
	FailedStep Step `json:"failed_step,omitempty"`
	// Detail is the failing step's detail; empty when OK.
	Detail string `json:"detail,omitempty"`
	// Steps lists every step that ran, in order.
	Steps []StepResult `json:"steps"`
	// CheckedAt is when the verification started (by the verifier's clock).
	CheckedAt time.Time `json:"checked_at"`
	// Duration is the whole verification's wall time.
	Duration time.Duration `json:"duration_ns"`
	// Cached is true when this result was served from the interval cache
	// without calling KMS.
	Cached bool `json:"cached"`
}
