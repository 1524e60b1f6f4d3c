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
	ShapeEventBridge    Shape = "eventbridge"     // "AWS API Call via CloudTrail"
	ShapeCloudWatchLogs Shape = "cloudwatch_logs" // awslogs.data subscription payload
	ShapeLogFile        Shape = "log_file"        // {"Records":[...]}, gzip or plain
	ShapeDigest         Shape = "digest"          // CloudTrail digest file, skipped
	ShapeS3Notification Shape = "s3"              // S3 event notification (bare, SQS or SNS)
)

// Kinds of decode error a caller may branch on with errors.Is.
var (
	ErrMalformed    = errors.New("malformed JSON")
	ErrWrongType    = errors.New("wrong type")
	ErrMissingField = errors.New("missing field")
	ErrUnknownShape = errors.New("unrecognised input shape")
	ErrEncoding     = errors.New("bad encoding") // base64 or gzip
	ErrTooLarge     = errors.New("over size limit")
	ErrObject       = errors.New("object unavailable") // S3 object could not be opened
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

// Limits bound what one input may cost. Zero values take the defaults.
type Limits struct {
	MaxRecordBytes   int   // one record, one log event, one non-log-file value
	MaxInflatedBytes int64 // what one gzip stream may inflate to
	MaxDepth         int   // JSON nesting depth
}

// Stats counts what one Decode call saw.
type Stats struct {
	Records  int // CloudTrail records seen
	Relevant int // records of interest passed to emit
	Skipped  int // records of no interest
	Errors   int // DecodeErrors reported
	Digests  int // digest files skipped
	Control  int // CloudWatch Logs CONTROL_MESSAGEs acknowledged
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Records += o.Records
	s.Relevant += o.Relevant
	s.Skipped += o.Skipped
	s.Errors += o.Errors
	s.Digests += o.Digests
	s.Control += o.Control
}
