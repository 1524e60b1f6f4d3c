//go:build !(cgo && isal)

// Package igzip inflates deflate data with ISA-L's igzip (Intel's Intelligent
// Storage Acceleration Library, Debian's libisal-dev), through cgo. It is
// built with the build tag isal; without it (or without cgo) Available is
// false and New fails.
package igzip

import "errors"

// Available reports whether this build inflates with ISA-L.
const Available = false

// ErrChecksum is a gzip trailer whose CRC-32 or size does not match the
// inflated data.
var ErrChecksum = errors.New("igzip: gzip trailer does not match the data")

// State is never made in this build.
type State struct{}

// New fails: this build has no ISA-L.
func New() (*State, error) {
	return nil, errors.New("igzip: built without ISA-L (build tag isal, with cgo)")
}

// Reset does nothing.
func (s *State) Reset() {}

// Inflate consumes and produces nothing.
func (s *State) Inflate(in, out []byte) (consumed, produced int, finished bool, err error) {
	return 0, 0, false, errors.New("igzip: built without ISA-L")
}

// CorruptError is deflate data that cannot be inflated; never made in this
// build.
type CorruptError struct {
	Offset int64
	Code   int
}

func (e *CorruptError) Error() string { return "igzip: corrupt deflate data" }
