// Package early holds the garbage collector back (coldstart.Hold) from the
// moment it initialises. It imports only the standard library, so Go
// initialises it before the SDK's and OPA's packages, whose initialisation
// would otherwise run the collector over a heap that is nearly all kept. A
// function's main imports it for that effect, and the function's start
// (lambdafn) releases the hold when INIT ends; the atrest command imports it
// too, and releases the hold once its rules are compiled.
package early

import "github.com/atrest/atrest/internal/coldstart"

func init() { coldstart.Hold() }
