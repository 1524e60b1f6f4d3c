package cloudtrail

// NewPlainDecoder returns a decoder that decodes every record with
// encoding/json before judging its interest: the reference the byte-level
// fast path is compared with.
func NewPlainDecoder(o Opener) *Decoder { return &Decoder{Opener: o, plain: true} }
