package cloudtrail

import (
	"maps"
	"slices"
)

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

// SourceEventNames returns the event names of interest of one event source,
// sorted.
func SourceEventNames(source string) []string {
	return slices.Sorted(maps.Keys(interest[source]))
}

// Sources returns every event source of interest, sorted.
func Sources() []string {
	return slices.Sorted(maps.Keys(interest))
}
