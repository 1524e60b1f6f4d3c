package lambdafn

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// Raw makes a lambda.Handler that passes the invocation payload to h as it
// is. lambda.Start would decode the payload into the handler's argument
// first and fail a payload that is not JSON before the handler could log
// and count it; Raw lets the pipeline report the bad bytes with their
// position and the invocation succeed.
func Raw(h func(context.Context, json.RawMessage) error) lambda.Handler {
	return rawHandler(h)
}

type rawHandler func(context.Context, json.RawMessage) error

var _ lambda.Handler = rawHandler(nil)

// Invoke implements lambda.Handler.
func (h rawHandler) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if err := h(ctx, payload); err != nil {
		return nil, err
	}
	return []byte("null"), nil
}
