//go:build !(cgo && isal)

package igzip

import "errors"

// Available reports whether this build inflates with ISA-L.
const Available = false

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
