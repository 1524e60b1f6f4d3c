package cloudtrail

import "slices"

// EventNames returns every event name of interest, sorted.
func EventNames() []string {
	var out []string
	for _, names := range interest {
		for n := range names {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}
