package cloudtrail

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/gzip"
)

// Decoder decodes inputs of any delivery shape. The zero value is usable: it
// takes the default Limits and, having no Opener, reports S3 notifications
// as ErrObject.
type Decoder struct {
	Opener Opener
	Limits Limits
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

// EventBridge detail-types of the CloudTrail records atrest reads: API calls,
// and events AWS services record without a call (eventType AwsServiceEvent,
// such as KMS deleting expired key material or a key whose deletion was
// scheduled). Both carry one CloudTrail record as their detail.
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html
const (
	detailTypeCloudTrail   = "AWS API Call via CloudTrail"
	detailTypeServiceEvent = "AWS Service Event via CloudTrail"
)

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
	ru := &run{ctx: ctx, opener: d.Opener, lim: d.Limits.withDefaults(), emit: emit, onErr: onErr, plain: d.plain}
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
	gzipPool  sync.Pool // *gzip.Reader
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
			zr.Close()
			gzipPool.Put(zr)
		}()
		var stop func()
		in, stop = readAhead(&cappedReader{r: zr, max: src.run.lim.MaxInflatedBytes})
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

// newGzipReader reads the gzip header from r with a reused reader when one
// is free.
func newGzipReader(r io.Reader) (*gzip.Reader, error) {
	if zr, ok := gzipPool.Get().(*gzip.Reader); ok {
		if err := zr.Reset(r); err != nil {
			gzipPool.Put(zr)
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(r)
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

// CloudWatch Logs message types.
const (
	messageTypeData    = "DATA_MESSAGE"
	messageTypeControl = "CONTROL_MESSAGE"
)

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
		return src.eventBridge(rest, loc)
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

// Event sources of the envelopes that share the "Records" key with log files.
const (
	sourceS3  = "aws:s3"
	sourceSQS = "aws:sqs"
	sourceSNS = "aws:sns"
)

// records streams a "Records" array, classifying each element: a CloudTrail
// record, or an S3, SQS or SNS record of a Lambda event.
func (src *source) records(sc *scanner) error {
	els := newElements(sc, src, "Records")
	shape := src.shape
	if shape == "" {
		shape = ShapeLogFile
	}
	for {
		res, ok, err := els.next()
		if err != nil || !ok {
			return err
		}
		if els.index%ctxCheckEvery == 0 {
			if err := src.run.ctx.Err(); err != nil {
				return err
			}
		}
		if res.tooLarge {
			loc := els.loc()
			src.run.stats.Records++
			src.report(loc, "", ErrTooLarge, fmt.Errorf("record of %d bytes at byte %d over the %d-byte limit", res.size, res.start, src.run.lim.MaxRecordBytes))
			continue
		}
		if res.raw == nil {
			continue // over-deep, reported
		}
		if res.raw[0] != '{' {
			src.report(els.loc(), "", ErrWrongType, fmt.Errorf("a %s, not an object", jsonKind(res.raw[0])))
			continue
		}
		es, _ := res.info.str(res.raw, keyEventSource)
		sns, _ := res.info.str(res.raw, keySNSSource)
		switch {
		case string(es) == sourceS3:
			err = src.s3Record(res.raw, els.loc())
		case string(es) == sourceSQS:
			err = src.sqsRecord(res.raw, els.loc())
		case string(sns) == sourceSNS:
			err = src.snsRecord(res.raw, els.loc())
		default:
			err = src.record(res.raw, &res.info, els.at(), "", shape, nil)
		}
		if err != nil {
			return err
		}
	}
}

// interestingNames holds every event name of interest, for the byte scan.
var interestingNames = func() map[string]bool {
	m := map[string]bool{}
	for _, names := range interest {
		for n := range names {
			m[n] = true
		}
	}
	return m
}()

// envelopeCheck compares a record with the EventBridge event it came in.
type envelopeCheck struct {
	id, account, region string
}

// record decodes one CloudTrail record of raw and emits it if it is of
// interest. Records of no interest are counted and dropped on the byte scan
// alone when their eventName or eventSource says so.
func (src *source) record(raw []byte, info *keyInfo, at location, note string, shape Shape, env *envelopeCheck) error {
	ru := src.run
	ru.stats.Records++
	if info.dup != 0 {
		eventID := ""
		if id, ok := info.str(raw, keyEventID); ok {
			eventID = string(id)
		}
		src.report(at.String(), eventID, ErrMalformed, notePrefix(note,
			fmt.Errorf("duplicate key %s: the record is ambiguous", keyNames[info.dup-1])))
		return nil
	}
	var name, source []byte
	nameOK, sourceOK := false, false
	if !info.unsure && !ru.plain {
		name, nameOK = info.str(raw, keyEventName)
		source, sourceOK = info.str(raw, keyEventSource)
		if nameOK && !interestingNames[string(name)] || sourceOK && interest[string(source)] == nil {
			ru.stats.Skipped++
			return nil
		}
	}
	// Past the byte scan: the record may be of interest.
	loc := at.String()
	eventID := ""
	if id, ok := info.str(raw, keyEventID); ok {
		eventID = string(id)
	}
	if !info.unsure && !ru.plain {
		switch {
		case !info.v[keyEventName].present:
			if !sourceOK {
				ru.stats.Skipped++
				return nil
			}
			src.report(loc, eventID, ErrMissingField, notePrefix(note, errors.New("eventName")))
			return nil
		case !info.v[keyEventName].isString:
			src.report(loc, eventID, ErrWrongType, notePrefix(note, fmt.Errorf("eventName is %s, not a string", withArticle(fieldKind(raw, "eventName")))))
			return nil
		}
	}
	if !utf8.Valid(raw) {
		ru.countInvalid(raw)
		src.report(loc, eventID, ErrMalformed, notePrefix(note, errors.New("invalid UTF-8")))
		return nil
	}
	rec := new(Record)
	if err := json.Unmarshal(raw, rec); err != nil {
		ru.countInvalid(raw)
		kind, err := explainUnmarshal(raw, err)
		src.report(loc, eventID, kind, notePrefix(note, err))
		return nil
	}
	if rec.EventID != "" {
		eventID = rec.EventID
	}
	if !Interesting(rec.EventSource, rec.EventName) {
		if rec.EventSource != "" && rec.EventName != "" || !InterestingName(rec.EventName) {
			ru.stats.Skipped++
			return nil
		}
	}
	var missing []string
	for _, f := range []struct {
		name    string
		missing bool
	}{
		{"eventID", rec.EventID == ""},
		{"eventName", rec.EventName == ""},
		{"eventSource", rec.EventSource == ""},
		{"eventTime", rec.EventTime.IsZero()},
	} {
		if f.missing {
			missing = append(missing, f.name)
		}
	}
	if missing != nil {
		ru.invalid(rec.EventSource, rec.EventName)
		src.report(loc, eventID, ErrMissingField, notePrefix(note, errors.New(strings.Join(missing, ", "))))
		return nil
	}
	// CloudTrail record fields are stable within major version 1; another
	// major version may change them, so it is reported, not guessed at.
	if rec.EventVersion != "" && !strings.HasPrefix(rec.EventVersion, "1.") {
		ru.invalid(rec.EventSource, rec.EventName)
		src.report(loc, eventID, ErrVersion, notePrefix(note, fmt.Errorf("eventVersion %q: atrest reads version 1.x records", rec.EventVersion)))
		return nil
	}
	if env != nil {
		if rec.RecipientAccountID == "" {
			rec.RecipientAccountID = env.account
		} else if env.account != "" && env.account != rec.RecipientAccountID {
			src.report(loc, eventID, ErrMismatch, fmt.Errorf("event %s: account %s, record's recipientAccountId %s", env.id, env.account, rec.RecipientAccountID))
		}
		if env.region != "" && rec.AWSRegion != env.region {
			src.report(loc, eventID, ErrMismatch, fmt.Errorf("event %s: region %s, record's awsRegion %s", env.id, env.region, rec.AWSRegion))
		}
	}
	ru.stats.Relevant++
	if err := ru.emit(rec, shape, Position{Input: src.input, Location: src.where(loc)}); err != nil {
		return fmt.Errorf("emit record %s: %w", rec.EventID, err)
	}
	return nil
}

// invalid counts a record that is reported as bad instead of emitted, as of
// interest when its event source and name (or its name alone, when the
// source is missing) are.
func (ru *run) invalid(source, name string) {
	if Interesting(source, name) || source == "" && InterestingName(name) {
		ru.stats.Relevant++
		ru.stats.Invalid++
	}
}

// countInvalid counts a record that did not decode by the event source and
// name it carries, read on their own.
func (ru *run) countInvalid(raw []byte) {
	var id struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
	}
	_ = json.Unmarshal(raw, &id) // a field of the wrong type stays empty
	ru.invalid(id.EventSource, id.EventName)
}

// explainUnmarshal turns the error of decoding a record into its kind and a
// message that names the field: a syntax error is malformed JSON, a value of
// the wrong JSON type is a wrong type, and an eventTime string that is not an
// RFC 3339 time is a wrong format.
func explainUnmarshal(raw []byte, err error) (error, error) {
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) {
		return ErrMalformed, err
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return ErrWrongType, fmt.Errorf("%s is %s, not %s", typeErr.Field, withArticle(typeErr.Value), goKindName(typeErr.Type))
	}
	// time.Time's own decoding failed: eventTime is the record's only time.
	var t struct {
		EventTime json.RawMessage `json:"eventTime"`
	}
	if json.Unmarshal(raw, &t) == nil && len(t.EventTime) > 0 {
		var s string
		if json.Unmarshal(t.EventTime, &s) != nil {
			return ErrWrongType, fmt.Errorf("eventTime is %s, not a string", withArticle(jsonKind(t.EventTime[0])))
		}
		if _, perr := time.Parse(time.RFC3339, s); perr != nil {
			return ErrWrongFormat, fmt.Errorf("eventTime %q is not an RFC 3339 time such as 2006-01-02T15:04:05Z", s)
		}
	}
	return ErrWrongType, err
}

// fieldKind names the kind of JSON value a top-level field of raw holds.
func fieldKind(raw []byte, field string) string {
	var fields map[string]json.RawMessage
	if json.Unmarshal(raw, &fields) != nil || len(fields[field]) == 0 {
		return "value of another type"
	}
	return jsonKind(fields[field][0])
}

// withArticle puts "a" or "an" before the name of a kind of JSON value.
func withArticle(kind string) string {
	switch kind {
	case "bool", "boolean":
		return "a boolean"
	case "array", "object":
		return "an " + kind
	}
	return "a " + kind
}

// goKindName names the JSON value a Go type decodes from.
func goKindName(t reflect.Type) string {
	if t == nil {
		return "a value of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a " + t.String()
}

// notePrefix puts a note (such as a log event id) before err.
func notePrefix(note string, err error) error {
	if note == "" {
		return err
	}
	return fmt.Errorf("%s: %w", note, err)
}

// singleRecord decodes raw, held in memory, as one CloudTrail record.
func (src *source) singleRecord(raw []byte, loc string, shape Shape, env *envelopeCheck) error {
	return src.recordBytes(raw, loc, "", shape, env)
}

// recordBytes scans raw for its keys and decodes it as a record.
func (src *source) recordBytes(raw []byte, loc, note string, shape Shape, env *envelopeCheck) error {
	if src.shape != "" {
		shape = src.shape
	}
	sc := newBytesScanner(raw)
	c, ok := sc.skipSpace()
	if !ok {
		src.report(loc, "", ErrMalformed, notePrefix(note, errors.New("empty record")))
		return nil
	}
	if c != '{' {
		src.report(loc, "", ErrWrongType, notePrefix(note, fmt.Errorf("record is a %s, not an object", jsonKind(c))))
		return nil
	}
	res, err := sc.scanValue(len(raw), src.run.lim.MaxDepth)
	if err != nil {
		src.report(loc, "", ErrMalformed, notePrefix(note, scanErrorText(err, sc.offset())))
		return nil
	}
	if _, ok := sc.skipSpace(); ok {
		src.report(loc, "", ErrMalformed, notePrefix(note, fmt.Errorf("data after the record at byte %d", sc.offset())))
		return nil
	}
	return src.record(res.raw, &res.info, at(loc), note, shape, env)
}

// eventBridgeEvent is an EventBridge event carrying a CloudTrail record: an
// API call or an AWS service event.
// https://docs.aws.amazon.com/eventbridge/latest/ref/events-structure.html
type eventBridgeEvent struct {
	Version    string          `json:"version"`
	ID         string          `json:"id"`
	DetailType string          `json:"detail-type"`
	Source     string          `json:"source"`
	Account    string          `json:"account"`
	Time       string          `json:"time"`
	Region     string          `json:"region"`
	Resources  []string        `json:"resources"`
	Detail     json.RawMessage `json:"detail"`
}

func (src *source) eventBridge(raw []byte, loc string) error {
	var ev eventBridgeEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return src.envelopeError(loc, "EventBridge event", err)
	}
	if ev.DetailType != detailTypeCloudTrail && ev.DetailType != detailTypeServiceEvent {
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("EventBridge event %s: detail-type %q", ev.ID, ev.DetailType))
		return nil
	}
	if len(ev.Detail) == 0 || string(ev.Detail) == "null" {
		src.run.stats.Records++
		src.report(loc, "", ErrMissingField, fmt.Errorf("detail (EventBridge event %s)", ev.ID))
		return nil
	}
	env := &envelopeCheck{id: ev.ID, account: ev.Account, region: ev.Region}
	return src.recordBytes(ev.Detail, loc, "", ShapeEventBridge, env)
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

// awsLogsEvent is the event a CloudWatch Logs subscription passes to Lambda:
// data is the base64 of a gzip-compressed JSON payload.
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/SubscriptionFilters.html
type awsLogsEvent struct {
	AWSLogs struct {
		Data string `json:"data"`
	} `json:"awslogs"`
}

func (src *source) awsLogs(raw []byte, loc string) error {
	var ev awsLogsEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		return src.envelopeError(loc, "awslogs event", err)
	}
	loc += ".awslogs.data"
	data, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil {
		src.report(loc, "", ErrEncoding, fmt.Errorf("base64: %w", err))
		return nil
	}
	if !isGzip(data) {
		src.report(loc, "", ErrEncoding, errors.New("payload is not gzip"))
		return nil
	}
	return src.nested(bytes.NewReader(data), loc+".", ShapeCloudWatchLogs)
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

// logEvent is one entry of a CloudWatch Logs payload's logEvents.
type logEvent struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
}

// logEvents decodes the elements of a logEvents array; each message is one
// CloudTrail record.
func (src *source) logEvents(els *elements) error {
	for {
		res, ok, err := els.next()
		if err != nil || !ok {
			return err
		}
		loc := els.loc()
		if res.tooLarge {
			src.report(loc, "", ErrTooLarge, fmt.Errorf("log event of %d bytes over the %d-byte limit", res.size, src.run.lim.MaxRecordBytes))
			continue
		}
		if res.raw == nil {
			continue
		}
		var le logEvent
		if err := json.Unmarshal(res.raw, &le); err != nil {
			src.envelopeError(loc, "log event", err)
			continue
		}
		note := ""
		if le.ID != "" {
			note = "log event " + le.ID
		}
		if err := src.recordBytes([]byte(le.Message), loc, note, ShapeCloudWatchLogs, nil); err != nil {
			return err
		}
	}
}

// logEventsFrom decodes the logEvents member of a payload held in memory.
func (src *source) logEventsFrom(raw []byte, loc string) error {
	var payload struct {
		LogEvents json.RawMessage `json:"logEvents"`
	}
	if err := json.Unmarshal(raw, &payload); err != nil {
		return src.envelopeError(loc, "CloudWatch Logs payload", err)
	}
	sc := newBytesScanner(payload.LogEvents)
	if c, ok := sc.skipSpace(); !ok || c != '[' {
		src.report(loc, "", ErrWrongType, errors.New("logEvents is not an array"))
		return nil
	}
	err := src.logEvents(newElements(sc, src, "logEvents"))
	if errors.Is(err, errStop) || errors.Is(err, errResync) {
		return nil
	}
	return err
}

// S3EventRecord is one record of an S3 event notification.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
type S3EventRecord struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key  string `json:"key"`
			Size int64  `json:"size"`
		} `json:"object"`
	} `json:"s3"`
}

func (src *source) s3Record(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("S3 notification inside an S3 object"))
		return nil
	}
	var rec S3EventRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return src.envelopeError(loc, "S3 event record", err)
	}
	if !strings.HasPrefix(rec.EventName, "ObjectCreated:") {
		return nil
	}
	key, err := url.QueryUnescape(rec.S3.Object.Key)
	if err != nil {
		src.report(loc, "", ErrEncoding, fmt.Errorf("object key %q: %w", rec.S3.Object.Key, err))
		return nil
	}
	return src.openObject(rec.S3.Bucket.Name, key, loc)
}

// digestPath marks the keys of CloudTrail digest files.
const digestPath = "/CloudTrail-Digest/"

// openObject decodes the log file s3://bucket/key.
func (src *source) openObject(bucket, key, loc string) error {
	if strings.Contains(key, digestPath) {
		src.run.stats.Digests++
		return nil
	}
	uri := "s3://" + bucket + "/" + key
	if err := src.run.ctx.Err(); err != nil {
		return err
	}
	if bucket == "" || key == "" {
		src.report(loc, "", ErrMissingField, fmt.Errorf("S3 notification without bucket or key (%s)", uri))
		return nil
	}
	if src.run.opener == nil {
		src.report(loc, "", ErrObject, fmt.Errorf("%s: no opener for S3 objects", uri))
		return nil
	}
	body, err := src.run.opener.Open(src.run.ctx, bucket, key)
	if err != nil {
		if ctxErr := src.run.ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		src.report(loc, "", ErrObject, fmt.Errorf("%s: %w", uri, err))
		return nil
	}
	defer body.Close()
	child := &source{run: src.run, input: uri, shape: ShapeS3Notification, level: src.level + 1, object: true}
	return child.stream(body)
}

// sqsRecord is one message of a Lambda SQS event.
// https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
type sqsRecord struct {
	MessageID string `json:"messageId"`
	Body      string `json:"body"`
}

func (src *source) sqsRecord(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SQS message inside an S3 object"))
		return nil
	}
	var m sqsRecord
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SQS message", err)
	}
	return src.nested(strings.NewReader(m.Body), loc+".body.", "")
}

// snsLambdaRecord is one record of a Lambda SNS event.
// https://docs.aws.amazon.com/lambda/latest/dg/with-sns.html
type snsLambdaRecord struct {
	SNS snsMessage `json:"Sns"`
}

// snsMessage is an SNS notification, as delivered over HTTP, SQS or Lambda.
// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html
type snsMessage struct {
	Type      string `json:"Type"`
	MessageID string `json:"MessageId"`
	TopicArn  string `json:"TopicArn"`
	Message   string `json:"Message"`
}

func (src *source) snsRecord(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SNS message inside an S3 object"))
		return nil
	}
	var m snsLambdaRecord
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SNS record", err)
	}
	return src.nested(strings.NewReader(m.SNS.Message), loc+".Sns.Message.", "")
}

func (src *source) snsNotification(raw []byte, loc string) error {
	var m snsMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return src.envelopeError(loc, "SNS notification", err)
	}
	if m.Type != "Notification" {
		src.report(loc, "", ErrUnknownShape, fmt.Errorf("SNS message of type %q", m.Type))
		return nil
	}
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("SNS message inside an S3 object"))
		return nil
	}
	return src.nested(strings.NewReader(m.Message), loc+".Message.", "")
}

// cloudTrailNotice is the SNS message CloudTrail sends when it delivers log
// files: the bucket and the keys of the new objects.
// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/configure-sns-notifications-for-cloudtrail.html
type cloudTrailNotice struct {
	S3Bucket    string   `json:"s3Bucket"`
	S3ObjectKey []string `json:"s3ObjectKey"`
}

func (src *source) cloudTrailNotice(raw []byte, loc string) error {
	if src.object {
		src.report(loc, "", ErrUnknownShape, errors.New("CloudTrail notification inside an S3 object"))
		return nil
	}
	var n cloudTrailNotice
	if err := json.Unmarshal(raw, &n); err != nil {
		return src.envelopeError(loc, "CloudTrail notification", err)
	}
	for i, key := range n.S3ObjectKey {
		if err := src.openObject(n.S3Bucket, key, loc+".s3ObjectKey["+strconv.Itoa(i)+"]"); err != nil {
			return err
		}
	}
	return nil
}
