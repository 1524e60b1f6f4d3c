package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
)

// Decoder decodes inputs of any delivery shape. The zero value is usable: it
// takes the default Limits and, having no Opener, reports S3 notifications
// as ErrObject.
type Decoder struct {
	Opener Opener
	Limits Limits
	// Inline inflates gzip in the decoding goroutine itself. By default a
	// gzip stream is inflated ahead in a goroutine of its own when the
	// process has more than one core; a caller that already runs one
	// decoder per core (a replay's workers) has no core to spare for it.
	Inline bool
	// plain turns off the byte-level rejection of records of no interest:
	// every record is decoded with encoding/json first. Tests compare the
	// two paths.
	plain bool
}

// maxNesting bounds envelopes within envelopes (an S3 notification in an SNS
// message in an SQS body is three).
const maxNesting = 4

// ctxCheckEvery is how many log file elements pass between checks of the
// context.
const ctxCheckEvery = 256

// Decode reads every JSON value in r — one value, concatenated values or JSON
// Lines, or a top-level array of values; gzip (detected by its magic bytes)
// or plain — and calls emit for each CloudTrail record of interest, in input
// order, with the shape it was delivered in.
//
// Bad pieces of input are reported through onErr (which may be nil) as
// *DecodeError, and decoding goes on past them where the input allows. The
// returned error is non-nil only when ctx is cancelled, emit returns an
// error, or a reader fails (r, or the body of an S3 object being read).
func (d *Decoder) Decode(ctx context.Context, input string, r io.Reader, emit func(rec *Record, shape Shape) error, onErr func(*DecodeError)) (Stats, error) {
	return d.DecodePositions(ctx, input, r, func(rec *Record, shape Shape, _ Position) error { return emit(rec, shape) }, onErr)
}

// Position names where a record was read: the input (a file name, an S3
// URI, "-") and the location in it, as a DecodeError names them.
type Position struct {
	Input    string
	Location string // e.g. "Records[12]", "value[0].awslogs.data.logEvents[3]"
}

func (p Position) String() string {
	switch {
	case p.Location == "":
		return p.Input
	case p.Input == "":
		return p.Location
	}
	return p.Input + ": " + p.Location
}

// DecodePositions is Decode that also tells emit where each record was read,
// so that what is found wrong with it later can say where it came from.
func (d *Decoder) DecodePositions(ctx context.Context, input string, r io.Reader, emit func(rec *Record, shape Shape, at Position) error, onErr func(*DecodeError)) (Stats, error) {
	ru := &run{ctx: ctx, opener: d.Opener, lim: d.Limits.withDefaults(), emit: emit, onErr: onErr, plain: d.plain, inline: d.Inline}
	src := &source{run: ru, input: input}
	err := src.stream(r)
	return ru.stats, err
}

// run is the state of one Decode call.
type run struct {
	ctx    context.Context
	opener Opener
	lim    Limits
	emit   func(*Record, Shape, Position) error
	onErr  func(*DecodeError)
	stats  Stats
	plain  bool
	inline bool
}

// source is one byte stream being decoded: the input itself, an envelope's
// payload, or an S3 object named by a notification.
type source struct {
	run    *run
	input  string // DecodeError.Input
	prefix string // prepended to locations within an envelope's payload
	shape  Shape  // when set, the shape every record is emitted with
	level  int    // envelope nesting
	object bool   // an S3 object: notifications inside it are not followed
	reader *trackedReader
}

// Control flow between the decoding steps, never returned by Decode.
var (
	// errStop ends the current stream: its rest cannot be read.
	errStop = errors.New("stop stream")
	// errResync ends the current value; the stream resumes at the next line.
	errResync = errors.New("resynchronise")
)

// report passes one DecodeError to the caller.
func (src *source) report(loc, eventID string, kind, err error) {
	src.run.stats.Errors++
	if src.run.onErr == nil {
		return
	}
	src.run.onErr(&DecodeError{Input: src.input, Location: src.where(loc), EventID: eventID, Kind: kind, Err: err})
}

// where is the full location of loc in the input: with the prefix of the
// envelope it is in.
func (src *source) where(loc string) string {
	if loc != "" {
		return src.prefix + loc
	}
	return strings.TrimSuffix(src.prefix, ".")
}

// trackedReader remembers the error of the reader it wraps, so that a failing
// reader can be told from bad content.
type trackedReader struct {
	r   io.Reader
	err error
}

func (t *trackedReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF {
		t.err = err
	}
	return n, err
}

// errInflateLimit is returned by a cappedReader past its limit.
var errInflateLimit = errors.New("inflated size over limit")

// cappedReader fails with errInflateLimit once more than max bytes are read.
type cappedReader struct {
	r   io.Reader
	n   int64
	max int64
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, errInflateLimit
	}
	if rest := c.max + 1 - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max {
		return n, errInflateLimit
	}
	return n, err
}

// isGzip reports whether b starts with the gzip magic bytes.
func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// Buffers and gzip readers are reused across streams: a Lambda handling one
// small event at a time would otherwise allocate (and zero) the read and scan
// buffers for each event. Nothing decoded keeps a reference to them: records
// are copied out by encoding/json.
var (
	bufioPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 64<<10) }}
	gzipPool  = sync.Pool{New: func() any { return new(gunzip) }}
)

// stream decodes every value of r.
func (src *source) stream(r io.Reader) error {
	src.reader = &trackedReader{r: r}
	br := bufioPool.Get().(*bufio.Reader)
	br.Reset(src.reader)
	defer func() {
		br.Reset(nil)
		bufioPool.Put(br)
	}()
	var in io.Reader = br
	head, _ := br.Peek(2)
	if isGzip(head) {
		zr, err := newGzipReader(br)
		if err != nil {
			if err = src.readFailure(err, "byte 0"); errors.Is(err, errStop) {
				return nil
			}
			return err
		}
		defer func() {
			zr.release()
			gzipPool.Put(zr)
		}()
		var stop func()
		in, stop = readAhead(&cappedReader{r: zr, max: src.run.lim.MaxInflatedBytes}, src.run.inline)
		// Runs before zr is closed and pooled: the inflating goroutine
		// is gone by then.
		defer stop()
	}
	sc := newScanner(in, src.run.lim.MaxRecordBytes)
	defer sc.release()
	err := src.values(sc)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// newGzipReader reads the first gzip header from br with a reused reader.
func newGzipReader(br *bufio.Reader) (*gunzip, error) {
	zr := gzipPool.Get().(*gunzip)
	if err := zr.reset(br); err != nil {
		zr.release()
		gzipPool.Put(zr)
		return nil, err
	}
	return zr, nil
}

// readFailure turns an error from the reader chain into the result of the
// stream: the reader's own failure is returned; bad gzip or an inflated size
// over the limit is reported and ends the stream.
func (src *source) readFailure(err error, loc string) error {
	if src.reader != nil && src.reader.err != nil {
		return fmt.Errorf("read %s: %w", src.input, src.reader.err)
	}
	if errors.Is(err, errInflateLimit) {
		src.report(loc, "", ErrTooLarge, fmt.Errorf("gzip stream inflates to more than %d bytes", src.run.lim.MaxInflatedBytes))
		return errStop
	}
	src.report(loc, "", ErrEncoding, err)
	return errStop
}

// scanFailure handles an error from scanValue for the piece at loc.
func (src *source) scanFailure(sc *scanner, err error, loc, eventID string) error {
	switch {
	case errors.Is(err, errTruncated):
		src.report(loc, eventID, ErrMalformed, scanErrorText(err, sc.offset()))
		return errStop
	case errors.Is(err, errMismatched), errors.Is(err, errBadValue):
		src.report(loc, eventID, ErrMalformed, scanErrorText(err, sc.offset()))
		return errResync
	case errors.Is(err, errTooDeep):
		src.report(loc, eventID, ErrTooLarge, fmt.Errorf("nesting deeper than %d levels, ending at byte %d", src.run.lim.MaxDepth, sc.offset()))
		return nil
	}
	return src.readFailure(err, loc)
}

// values decodes the top-level values of a stream.
func (src *source) values(sc *scanner) error {
	index := 0
	for {
		c, ok := sc.skipSpace()
		if !ok {
			if e := sc.readErr(); e != nil {
				return src.readFailure(e, "byte "+strconv.FormatInt(sc.offset(), 10))
			}
			return nil
		}
		if err := src.run.ctx.Err(); err != nil {
			return err
		}
		var err error
		from := sc.offset()
		if c == '[' {
			err = src.topArray(sc, &index)
		} else {
			err = src.value(sc, index)
			index++
		}
		if errors.Is(err, errResync) {
			if !sc.skipLine(from) {
				return nil
			}
			continue
		}
		if err != nil {
			return err
		}
	}
}

// topArray decodes a top-level array whose elements are values.
func (src *source) topArray(sc *scanner, index *int) error {
	sc.r++ // '['
	for n := 0; ; n++ {
		c, ok := sc.skipSpace()
		if !ok {
			return src.endOfInput(sc, "value["+strconv.Itoa(*index)+"]")
		}
		if c == ']' {
			sc.r++
			return nil
		}
		if n > 0 {
			if c != ',' {
				return src.unexpected(sc, c, "value["+strconv.Itoa(*index)+"]")
			}
			sc.r++
			if _, ok := sc.skipSpace(); !ok {
				return src.endOfInput(sc, "value["+strconv.Itoa(*index)+"]")
			}
		}
		err := src.value(sc, *index)
		*index++
		if err != nil {
			return err
		}
	}
}

// endOfInput reports input that ended inside a value.
func (src *source) endOfInput(sc *scanner, loc string) error {
	if e := sc.readErr(); e != nil {
		return src.readFailure(e, loc)
	}
	src.report(loc, "", ErrMalformed, scanErrorText(errTruncated, sc.offset()))
	return errStop
}

// unexpected reports a byte that does not belong where it is.
func (src *source) unexpected(sc *scanner, c byte, loc string) error {
	src.report(loc, "", ErrMalformed, fmt.Errorf("unexpected %q at byte %d", c, sc.offset()))
	return errResync
}

// Top-level keys that tell the shapes apart.
const (
	hasRecords = 1 << iota
	hasDetailType
	hasAWSLogs
	hasMessageType
	hasLogEvents
	hasDigest
	hasType
	hasMessage
	hasEvent
	hasEventVersion
	hasEventName
	hasEventSource
	hasS3Bucket
	hasS3ObjectKey
)

// keyFlag maps a quoted top-level key to its flag.
func keyFlag(quoted []byte) int {
	switch string(quoted) {
	case `"Records"`:
		return hasRecords
	case `"detail-type"`:
		return hasDetailType
	case `"awslogs"`:
		return hasAWSLogs
	case `"messageType"`:
		return hasMessageType
	case `"logEvents"`:
		return hasLogEvents
	case `"digestStartTime"`, `"digestEndTime"`, `"digestS3Bucket"`, `"digestS3Object"`,
		`"digestPublicKeyFingerprint"`, `"digestSignatureAlgorithm"`, `"logFiles"`:
		return hasDigest
	case `"Type"`:
		return hasType
	case `"Message"`:
		return hasMessage
	case `"Event"`:
		return hasEvent
	case `"eventVersion"`:
		return hasEventVersion
	case `"eventName"`:
		return hasEventName
	case `"eventSource"`:
		return hasEventSource
	case `"s3Bucket"`:
		return hasS3Bucket
	case `"s3ObjectKey"`:
		return hasS3ObjectKey
	}
	return 0
}

// value decodes one top-level value. An object is read member by member so
// that a "Records" or "logEvents" array is streamed, never held whole; the
// other members are kept (up to MaxRecordBytes) to tell the shape.
func (src *source) value(sc *scanner, index int) error {
	lim := src.run.lim
	loc := "value[" + strconv.Itoa(index) + "]"
	c, _ := sc.skipSpace()
	if c != '{' {
		res, err := sc.scanValue(lim.MaxRecordBytes, lim.MaxDepth)
		if err != nil {
			return src.scanFailure(sc, err, loc, "")
		}
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("a %s, not an object, at byte %d", jsonKind(c), res.start))
		return nil
	}
	start := sc.offset()
	sc.r++ // '{'
	rest := make([]byte, 0, 1024)
	rest = append(rest, '{')
	flags := 0
	messageType := ""
	overLimit := false
	streamed := false // a Records or logEvents array was decoded in place
	// detail is where the last "detail" member's value lies in rest: an
	// EventBridge event's record, decoded on its own (eventBridge).
	detail := [2]int{-1, -1}
	for n := 0; ; n++ {
		c, ok := sc.skipSpace()
		if !ok {
			return src.endOfInput(sc, loc)
		}
		if c == '}' {
			sc.r++
			break
		}
		if n > 0 {
			if c != ',' {
				return src.unexpected(sc, c, loc)
			}
			sc.r++
			if c, ok = sc.skipSpace(); !ok {
				return src.endOfInput(sc, loc)
			}
		}
		if c != '"' {
			return src.unexpected(sc, c, loc)
		}
		kres, err := sc.scanValue(1024, 1)
		if err != nil {
			return src.scanFailure(sc, err, loc, "")
		}
		if kres.tooLarge {
			src.report(loc, "", ErrTooLarge, fmt.Errorf("object key over 1024 bytes at byte %d", kres.start))
			return errResync
		}
		flag := keyFlag(kres.raw)
		flags |= flag
		keyEnd := len(rest)
		if !overLimit {
			if len(rest) > 1 {
				rest = append(rest, ',')
			}
			rest = append(rest, kres.raw...)
			rest = append(rest, ':')
		}
		if c, ok = sc.skipSpace(); !ok {
			return src.endOfInput(sc, loc)
		}
		if c != ':' {
			return src.unexpected(sc, c, loc)
		}
		sc.r++
		if c, ok = sc.skipSpace(); !ok {
			return src.endOfInput(sc, loc)
		}
		switch {
		case flag == hasRecords && c == '[':
			rest = rest[:keyEnd]
			streamed = true
			if err := src.records(sc); err != nil {
				return err
			}
			continue
		case flag == hasLogEvents && c == '[' && messageType == messageTypeData:
			rest = rest[:keyEnd]
			streamed = true
			if err := src.logEvents(newElements(sc, src, "logEvents")); err != nil {
				return err
			}
			continue
		}
		res, err := sc.scanValue(lim.MaxRecordBytes, lim.MaxDepth-1)
		if err != nil {
			return src.scanFailure(sc, err, loc, "")
		}
		if flag == hasMessageType && res.raw != nil {
			_ = json.Unmarshal(res.raw, &messageType)
		}
		if overLimit {
			continue
		}
		if (flag == hasDigest || flag == hasLogEvents && messageType == messageTypeControl) && res.raw != nil {
			// Not needed to tell the shape; may be long.
			rest = append(rest, "null"...)
			continue
		}
		if res.tooLarge || len(rest)+len(res.raw) > lim.MaxRecordBytes {
			overLimit = true
			continue
		}
		if string(kres.raw) == `"detail"` {
			detail = [2]int{len(rest), len(rest) + len(res.raw)}
		}
		rest = append(rest, res.raw...)
	}
	rest = append(rest, '}')

	switch {
	case streamed:
		return nil
	case flags&hasMessageType != 0 && messageType == messageTypeControl:
		src.run.stats.Control++
		return nil
	case flags&hasDigest != 0:
		src.run.stats.Digests++
		return nil
	case overLimit:
		src.report(loc, "", ErrTooLarge, fmt.Errorf("object at byte %d over %d bytes", start, lim.MaxRecordBytes))
		return nil
	case flags&(hasMessageType|hasLogEvents) == hasMessageType|hasLogEvents:
		if messageType != messageTypeData {
			src.report(loc, "", ErrUnknownShape, fmt.Errorf("CloudWatch Logs messageType %q", messageType))
			return nil
		}
		// logEvents came before messageType, so it was kept: decode it now.
		return src.logEventsFrom(rest, loc)
	case flags&hasDetailType != 0:
		return src.eventBridge(rest, detail, loc)
	case flags&hasAWSLogs != 0:
		return src.awsLogs(rest, loc)
	case flags&(hasType|hasMessage) == hasType|hasMessage:
		return src.snsNotification(rest, loc)
	case flags&(hasS3Bucket|hasS3ObjectKey) == hasS3Bucket|hasS3ObjectKey:
		return src.cloudTrailNotice(rest, loc)
	case flags&hasEvent != 0 && bytes.Contains(rest, []byte(`"s3:TestEvent"`)):
		return nil
	case flags&(hasEventVersion|hasEventName|hasEventSource) != 0:
		return src.singleRecord(rest, loc, ShapeRecord, nil)
	}
	src.report(loc, "", ErrUnknownShape, fmt.Errorf("object at byte %d matches no delivery shape", start))
	return nil
}

// jsonKind names the kind of JSON value that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// elements iterates over the elements of a JSON array, streaming them.
type elements struct {
	sc    *scanner
	src   *source
	name  string // "Records", "logEvents"
	index int
	done  bool
}

func newElements(sc *scanner, src *source, name string) *elements {
	sc.r++ // '['
	return &elements{sc: sc, src: src, name: name, index: -1}
}

// loc is the location of the current element.
func (e *elements) loc() string { return e.at().String() }

// at is the location of the current element, formatted only when needed.
func (e *elements) at() location { return location{name: e.name, index: e.index} }

// location names a piece of input: name[index], or name alone when index is
// negative.
type location struct {
	name  string
	index int
}

func (l location) String() string {
	if l.index < 0 {
		return l.name
	}
	return l.name + "[" + strconv.Itoa(l.index) + "]"
}

// at is the location named s.
func at(s string) location { return location{name: s, index: -1} }

// next scans the next element. It returns ok false after the last one, or
// a non-nil error when the array cannot be read on.
func (e *elements) next() (res scanResult, ok bool, err error) {
	if e.done {
		return res, false, nil
	}
	e.index++
	c, more := e.sc.skipSpace()
	if !more {
		return res, false, e.src.endOfInput(e.sc, e.loc())
	}
	if c == ']' {
		e.sc.r++
		e.done = true
		return res, false, nil
	}
	if e.index > 0 {
		if c != ',' {
			return res, false, e.src.unexpected(e.sc, c, e.loc())
		}
		e.sc.r++
		if _, more = e.sc.skipSpace(); !more {
			return res, false, e.src.endOfInput(e.sc, e.loc())
		}
	}
	lim := e.src.run.lim
	res, err = e.sc.scanValue(lim.MaxRecordBytes, lim.MaxDepth)
	if err != nil {
		if err = e.src.scanFailure(e.sc, err, e.loc(), ""); err == nil {
			// Over-deep and consumed: hand back an empty, skipped element.
			return scanResult{}, true, nil
		}
		return res, false, err
	}
	return res, true, nil
}

// envelopeError reports an envelope that does not decode.
func (src *source) envelopeError(loc, what string, err error) error {
	kind := ErrWrongType
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		kind = ErrMalformed
	}
	src.report(loc, "", kind, fmt.Errorf("%s: %w", what, err))
	return nil
}

// nested decodes an envelope's payload as a stream of its own. Locations in
// it are prefixed with prefix.
func (src *source) nested(r io.Reader, prefix string, shape Shape) error {
	if src.level+1 > maxNesting {
		src.report(prefix, "", ErrUnknownShape, fmt.Errorf("envelopes nested more than %d deep", maxNesting))
		return nil
	}
	child := &source{run: src.run, input: src.input, prefix: src.prefix + prefix, shape: src.shape,
		level: src.level + 1, object: src.object}
	if shape == ShapeCloudWatchLogs && child.shape == "" {
		child.shape = shape
	}
	return child.stream(r)
}
