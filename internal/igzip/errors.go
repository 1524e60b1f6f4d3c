// Package igzip inflates deflate data with ISA-L's igzip (Intel's Intelligent
// Storage Acceleration Library, Debian's libisal-dev), through cgo. It is
// built with the build tag isal; without it (or without cgo) Available is
// false and New fails.
package igzip

import (
	"errors"
	"fmt"
)

// ErrChecksum is a gzip trailer whose CRC-32 or size does not match the
// inflated data.
var ErrChecksum = errors.New("igzip: gzip trailer does not match the data")

// CorruptError is deflate data that cannot be inflated. Offset is the number
// of bytes of the member (its deflate data and trailer) read when the fault
// was found: igzip reads ahead of the fault, so it is at or before Offset.
type CorruptError struct {
	Offset int64
	Code   int // isal_inflate's result: ISAL_INVALID_BLOCK, _SYMBOL, _LOOKBACK
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("igzip: corrupt deflate data before offset %d (code %d)", e.Offset, e.Code)
}
