package cloudtrail

// newInflater returns the inflater gzip inputs are read with:
// klauspost/compress's flate reader.
func newInflater() inflater { return new(flateInflater) }
