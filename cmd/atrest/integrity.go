package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	cloudtrailsdk "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/integrity"
)

// integrityCheck validates the log files evaluate reads against the digest
// files beside them (--validate-integrity), and with --require-integrity
// refuses what it cannot prove intact.
type integrityCheck struct {
	v       *integrity.Validator
	require bool
	root    string // --s3-root, "" for S3
	stderr  io.Writer
	counts  map[integrity.Status]int
	refused int
}

// newIntegrityCheck reads digests from the --s3-root copy of the bucket, or
// from S3, and public keys with CloudTrail ListPublicKeys (the standard AWS
// configuration; AWS_ENDPOINT_URL_CLOUDTRAIL points it elsewhere).
func newIntegrityCheck(ctx context.Context, s3Root string, require bool, stderr io.Writer) (*integrityCheck, error) {
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return nil, err
	}
	var src integrity.Source = integrity.S3Source{Client: s3.NewFromConfig(cfg)}
	if s3Root != "" {
		src = integrity.DirSource{Root: s3Root}
	}
	return &integrityCheck{
		v:       &integrity.Validator{Source: src, Keys: &integrity.PublicKeys{Client: cloudtrailsdk.NewFromConfig(cfg)}},
		require: require, root: s3Root, stderr: stderr, counts: map[integrity.Status]int{},
	}, nil
}

// opener checks each S3 object a notification names before it is read.
func (c *integrityCheck) opener(next cloudtrail.Opener) cloudtrail.Opener {
	return &integrity.Gate{Next: next, Validator: c.v, Require: c.require, OnVerdict: c.verdict}
}

// admitObject validates a log file given as a local file under --s3-root
// and says whether it may be judged.
func (c *integrityCheck) admitObject(ctx context.Context, bucket, key string) error {
	vd, err := c.v.Check(ctx, bucket, key)
	c.verdict(vd, err)
	if c.require && !vd.OK() {
		return fmt.Errorf("%w: %s: %s", integrity.ErrNotJudged, vd.Status, vd.Reason)
	}
	return nil
}

// verdict counts and reports one log file's verdict.
func (c *integrityCheck) verdict(vd integrity.Verdict, err error) {
	if err != nil {
		fmt.Fprintf(c.stderr, "atrest: integrity: %s: %v\n", vd.Object(), err)
	}
	c.counts[vd.Status]++
	switch {
	case vd.OK():
	case c.require:
		c.refused++
	case vd.Status == integrity.Unvalidated:
		fmt.Fprintf(c.stderr, "atrest: integrity: %s: not validated: %s\n", vd.Object(), vd.Reason)
	}
}

// admitInput decides about one input file before it is read: a log file or
// digest in the --s3-root layout is validated; with --require-integrity any
// other input is judged only when it names S3 objects (an S3 notification,
// whose objects are checked as they are opened) rather than carrying
// records itself, which no digest covers.
func (c *integrityCheck) admitInput(ctx context.Context, path string) error {
	if bucket, key, ok := c.locate(path); ok {
		if _, isLog := integrity.ParseLogKey(key); isLog {
			return c.admitObject(ctx, bucket, key)
		}
		if _, isDigest := integrity.ParseDigestKey(key); isDigest {
			return c.v.CheckDigest(ctx, bucket, key)
		}
	}
	const outside = "its CloudTrail records are not a log file of a trail bucket (give log files under --s3-root, or S3 notifications), so no digest covers them"
	if path == "-" {
		if !c.require {
			fmt.Fprintf(c.stderr, "atrest: integrity: standard input: not validated: it is in no trail bucket\n")
			return nil
		}
		c.refused++
		return fmt.Errorf("%w: standard input is in no trail bucket, so no digest covers it", integrity.ErrNotJudged)
	}
	direct, err := carriesRecords(ctx, path)
	if err != nil {
		return err
	}
	switch {
	case !direct:
		return nil
	case c.require:
		c.refused++
		return fmt.Errorf("%w: %s", integrity.ErrNotJudged, outside)
	}
	fmt.Fprintf(c.stderr, "atrest: integrity: %s: not validated: %s\n", path, outside)
	return nil
}

// locate maps a file under --s3-root to its bucket and key.
func (c *integrityCheck) locate(path string) (bucket, key string, ok bool) {
	if c.root == "" || path == "-" {
		return "", "", false
	}
	root, err1 := filepath.Abs(c.root)
	abs, err2 := filepath.Abs(path)
	if err1 != nil || err2 != nil {
		return "", "", false
	}
	rel, err := filepath.Rel(root, abs)
	if err != nil || !filepath.IsLocal(rel) {
		return "", "", false
	}
	bucket, key, ok = strings.Cut(filepath.ToSlash(rel), "/")
	return bucket, key, ok && key != ""
}

// errSniffed stops the decoder at the first record.
var errSniffed = errors.New("sniffed")

// carriesRecords reports whether a file holds CloudTrail records of
// interest itself (an EventBridge event, a CloudWatch Logs payload, a log
// file, a record) rather than naming S3 objects.
func carriesRecords(ctx context.Context, path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	direct := false
	dec := &cloudtrail.Decoder{Opener: refuseOpener{}}
	_, err = dec.Decode(ctx, path, f, func(*cloudtrail.Record, cloudtrail.Shape) error {
		direct = true
		return errSniffed
	}, func(*cloudtrail.DecodeError) {})
	if err != nil && !errors.Is(err, errSniffed) {
		return false, err
	}
	return direct, nil
}

// refuseOpener opens nothing: carriesRecords only looks.
type refuseOpener struct{}

func (refuseOpener) Open(context.Context, string, string) (io.ReadCloser, error) {
	return nil, errors.New("not opened")
}

// finish reports every integrity failure (an error naming the file) and
// judges each trail with failures (cloudtrail_monitoring_intact).
func (c *integrityCheck) finish(ctx context.Context, s *session) {
	failures := c.v.Failures()
	for _, f := range failures {
		s.fail("integrity: %s: %s: %s", f.Object, f.Kind, f.Reason)
	}
	byTrail := integrity.ByTrail(failures)
	for _, trail := range slices.Sorted(maps.Keys(byTrail)) {
		rep, err := s.run.Integrity(ctx, trail, byTrail[trail])
		s.report(trail, rep)
		if err != nil {
			s.fail("%s: %v", trail, err)
		}
	}
	var parts []string
	for _, st := range []integrity.Status{integrity.Valid, integrity.Altered, integrity.Missing, integrity.Unlisted, integrity.Unvalidated} {
		parts = append(parts, fmt.Sprintf("%d %s", c.counts[st], st))
	}
	fmt.Fprintf(c.stderr, "atrest: integrity: log files read: %s; %d integrity failures; %d inputs or log files not judged\n",
		strings.Join(parts, ", "), len(failures), c.refused)
}
