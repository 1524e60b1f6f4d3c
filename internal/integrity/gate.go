package integrity

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// ErrNotJudged wraps the reason a log file was refused: with integrity
// required, only a file a valid digest proves intact is read.
var ErrNotJudged = errors.New("not judged: integrity required")

// Gate is a cloudtrail.Opener that validates each log file before Next reads
// it. With Require, a file not proven intact is refused (the decoder reports
// the error with the file's name); otherwise it is read and the verdict is
// only reported. It is not safe for concurrent use.
type Gate struct {
	Next      cloudtrail.Opener
	Validator *Validator
	Require   bool
	// TTL, when positive, is how long what the validator read is reused: a
	// long-lived process then sees digests delivered since.
	TTL time.Duration
	// OnVerdict, when set, is told each verdict and any error that kept
	// validation from running.
	OnVerdict func(Verdict, error)
	// Now is the clock for TTL; time.Now when nil.
	Now func() time.Time
	// MaxObjectBytes bounds the object a Require gate reads into memory to
	// validate and judge one copy; zero is DefaultMaxInflatedBytes.
	MaxObjectBytes int64

	since time.Time
	taken map[string]bool
}

var _ cloudtrail.Opener = (*Gate)(nil)

// Open implements cloudtrail.Opener.
func (g *Gate) Open(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	if t := now(); g.TTL > 0 && t.Sub(g.since) > g.TTL {
		g.Validator.Forget()
		g.since, g.taken = t, nil
	}
	if !g.Require {
		vd, err := g.Validator.Check(ctx, bucket, key)
		if g.OnVerdict != nil {
			g.OnVerdict(vd, err)
		}
		return g.Next.Open(ctx, bucket, key)
	}
	// With integrity required, the bytes judged are the bytes hashed: the
	// object is read once, through Next (and its size bound), and validated
	// and decoded from that one copy, so an object overwritten between a
	// check and a read is never judged.
	content, err := g.read(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	vd, err := g.Validator.CheckContent(ctx, bucket, key, content)
	if g.OnVerdict != nil {
		g.OnVerdict(vd, err)
	}
	if !vd.OK() {
		return nil, fmt.Errorf("%w: %s: %s", ErrNotJudged, vd.Status, vd.Reason)
	}
	return io.NopCloser(bytes.NewReader(content)), nil
}

// read reads a whole object through Next, at most MaxObjectBytes of it
// (DefaultMaxInflatedBytes when zero: a gzip object is no larger than what
// it inflates to).
func (g *Gate) read(ctx context.Context, bucket, key string) ([]byte, error) {
	body, err := g.Next.Open(ctx, bucket, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	limit := cmp.Or(g.MaxObjectBytes, DefaultMaxInflatedBytes)
	content, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	if int64(len(content)) > limit {
		return nil, fmt.Errorf("%w: s3://%s/%s is larger than %d bytes", ErrNotJudged, bucket, key, limit)
	}
	return content, nil
}

// TakeFailures returns the integrity failures found since the last call.
func (g *Gate) TakeFailures() []Failure {
	var out []Failure
	for _, f := range g.Validator.Failures() {
		id := f.Kind + " " + f.Object + " " + f.Trail
		if g.taken[id] {
			continue
		}
		if g.taken == nil {
			g.taken = map[string]bool{}
		}
		g.taken[id] = true
		out = append(out, f)
	}
	return out
}

// ByTrail groups failures' summaries by trail ARN.
func ByTrail(fs []Failure) map[string][]string {
	out := map[string][]string{}
	for _, f := range fs {
		out[f.Trail] = append(out[f.Trail], f.Summary())
	}
	return out
}
