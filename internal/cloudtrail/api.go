package cloudtrail

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Shape names a delivery shape a record reached atrest in.
type Shape string

// Delivery shapes the decoder recognises by content.
const (
	ShapeRecord         Shape = "record"          // a single CloudTrail record
	ShapeEventBridge    Shape = "eventbridge"     // "AWS API Call via CloudTrail" or "AWS Service Event via CloudTrail"
	ShapeCloudWatchLogs Shape = "cloudwatch_logs" // awslogs.data subscription payload
	ShapeLogFile        Shape = "log_file"        // {"Records":[...]}, gzip or plain
	ShapeDigest         Shape = "digest"          // CloudTrail digest file, skipped
	ShapeS3Notification Shape = "s3"              // S3 event notification (bare, SQS or SNS)
)

// Kinds of decode error a caller may branch on with errors.Is.
var (
	ErrMalformed    = errors.New("malformed JSON")
	ErrWrongType    = errors.New("wrong type")
	ErrWrongFormat  = errors.New("wrong format") // a string of the right type that does not parse, such as a time
	ErrMissingField = errors.New("missing field")
	ErrUnknownShape = errors.New("unrecognised input shape")
	ErrEncoding     = errors.New("bad encoding") // base64 or gzip
	ErrTooLarge     = errors.New("over size limit")
	ErrObject       = errors.New("object unavailable") // S3 object could not be opened
	ErrVersion      = errors.New("unsupported eventVersion")
	// ErrMismatch reports an EventBridge envelope whose account or region
	// disagrees with its record; the record is trusted and still emitted.
	ErrMismatch = errors.New("envelope disagrees with record")
)

// DecodeError reports one bad piece of input and where it was. Decoding goes
// on past it where the input allows, so the valid records around it are kept.
type DecodeError struct {
	Input    string // file name, S3 URI or "-" for standard input
	Location string // e.g. "Records[12]", "logEvents[3]", "byte 1042"
	EventID  string // the record's eventID when it could be read
	Kind     error  // one of the Err* sentinels
	Err      error  // the underlying detail
}

func (e *DecodeError) Error() string {
	msg := e.Input
	if e.Location != "" {
		msg += ": " + e.Location
	}
	if e.EventID != "" {
		msg += " (eventID " + e.EventID + ")"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %v: %v", msg, e.Kind, e.Err)
	}
	return fmt.Sprintf("%s: %v", msg, e.Kind)
}

// Is lets errors.Is match the error's kind.
func (e *DecodeError) Is(target error) bool { return target == e.Kind }

// Unwrap returns the underlying detail.
func (e *DecodeError) Unwrap() error { return e.Err }

// Opener opens an S3 object named by an event notification. Offline, a
// DirOpener maps s3://bucket/key to DIR/bucket/key; with AWS access an
// S3Opener reads the object.
type Opener interface {
	Open(ctx context.Context, bucket, key string) (io.ReadCloser, error)
}

// Limits bound what one input may cost. Zero values take the defaults, which
// fit a 128 MB Lambda: decoding holds at most about two MaxRecordBytes at once
// (the value being scanned and an envelope's members), whatever the size of
// the input.
type Limits struct {
	// MaxRecordBytes bounds one record, one log event, and the members of a
	// top-level value other than a streamed Records or logEvents array
	// (an EventBridge event, an awslogs event, an SQS body). Default 4 MiB.
	MaxRecordBytes int
	// MaxInflatedBytes bounds what one gzip stream (a log file, an awslogs
	// payload) may inflate to; past it the stream is dropped with
	// ErrTooLarge. Default 1 GiB.
	MaxInflatedBytes int64
	// MaxDepth bounds JSON nesting; a deeper record is skipped with
	// ErrTooLarge. Default 128.
	MaxDepth int
}

// Default limits.
const (
	DefaultMaxRecordBytes   = 4 << 20
	DefaultMaxInflatedBytes = 1 << 30
	DefaultMaxDepth         = 128
)

// withDefaults fills the zero fields of l.
func (l Limits) withDefaults() Limits {
	if l.MaxRecordBytes <= 0 {
		l.MaxRecordBytes = DefaultMaxRecordBytes
	}
	if l.MaxInflatedBytes <= 0 {
		l.MaxInflatedBytes = DefaultMaxInflatedBytes
	}
	if l.MaxDepth <= 1 {
		l.MaxDepth = DefaultMaxDepth
	}
	return l
}

// Stats counts what one Decode call saw.
type Stats struct {
	Records  int // CloudTrail records seen
	Relevant int // records of interest: passed to emit, or Invalid
	Invalid  int // records of interest reported as bad instead of emitted
	Skipped  int // records of no interest
	Errors   int // DecodeErrors reported
	Digests  int // digest files skipped
	Control  int // CloudWatch Logs CONTROL_MESSAGEs acknowledged
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Records += o.Records
	s.Relevant += o.Relevant
	s.Invalid += o.Invalid
	s.Skipped += o.Skipped
	s.Errors += o.Errors
	s.Digests += o.Digests
	s.Control += o.Control
}
