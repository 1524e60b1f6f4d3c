package inventory

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
)

// Kinds of error a caller may branch on with errors.Is.
var (
	// ErrAccessDenied is the kind of a read the monitor's credentials are not
	// allowed to make. The error's message names the missing permission and
	// the resource, e.g. "kms:GetKeyRotationStatus on arn:aws:kms:...".
	ErrAccessDenied = errors.New("access denied")
	// ErrAccountNotMonitored is the kind of a read in an account the monitor
	// cannot reach: not its own, and no cross-account role is configured.
	ErrAccountNotMonitored = errors.New("account not monitored")
	// ErrBadARN is the kind of a lookup by something that is not an ARN of
	// the expected resource type.
	ErrBadARN = errors.New("not a resource ARN")
)

// PermissionError reports an AWS read refused for lack of a permission.
type PermissionError struct {
	Action   string // IAM action, e.g. "kms:DescribeKey"
	Resource string // ARN the action was made on
	Err      error  // the SDK error
}

func (e *PermissionError) Error() string {
	return fmt.Sprintf("access denied: missing permission %s on %s: %v", e.Action, e.Resource, e.Err)
}

// Is makes errors.Is(err, ErrAccessDenied) true.
func (e *PermissionError) Is(target error) bool { return target == ErrAccessDenied }

// Unwrap returns the SDK error.
func (e *PermissionError) Unwrap() error { return e.Err }

// callError wraps an SDK error from action on resource, turning a refusal
// into a *PermissionError and giving anything else its context.
func callError(action, resource string, err error) error {
	if isAccessDenied(err) {
		return &PermissionError{Action: action, Resource: resource, Err: err}
	}
	return fmt.Errorf("%s on %s: %w", action, resource, err)
}

func isAccessDenied(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ae.ErrorCode()
		if strings.Contains(code, "AccessDenied") || code == "UnauthorizedOperation" || code == "UnrecognizedClientException" {
			return true
		}
	}
	var re *awshttp.ResponseError
	return errors.As(err, &re) && re.HTTPStatusCode() == http.StatusForbidden
}

// apiErrorCode returns the AWS error code of err, or "".
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}
