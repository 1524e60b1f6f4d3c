package awstest

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/smithy-go/middleware"
)

// Calls counts the operations SDK clients send, by operation name, so tests
// can assert how many API calls a piece of code makes. It is safe for
// concurrent use.
type Calls struct {
	mu sync.Mutex
	n  map[string]int
}

// Middleware adds the counter to one client's stack (pass it in the client's
// APIOptions).
func (c *Calls) Middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("atrestCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			c.mu.Lock()
			if c.n == nil {
				c.n = map[string]int{}
			}
			c.n[middleware.GetOperationName(ctx)]++
			c.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Install counts the calls of every client built from cfg.
func (c *Calls) Install(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, c.Middleware)
}

// Get returns how many times op was called.
func (c *Calls) Get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Reset forgets every count.
func (c *Calls) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}
