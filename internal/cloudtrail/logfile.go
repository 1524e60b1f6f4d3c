package cloudtrail

import "fmt"

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
