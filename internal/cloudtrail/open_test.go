package cloudtrail

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// trackedBody records whether an object's body was read or closed.
type trackedBody struct {
	r              io.Reader
	read, isClosed bool
}

func (b *trackedBody) Read(p []byte) (int, error) { b.read = true; return b.r.Read(p) }
func (b *trackedBody) Close() error               { b.isClosed = true; return nil }

type sizedGetter struct {
	length *int64
	body   *trackedBody
}

// GetObject answers as S3 does: ContentLength in the response, the body
// still unread
// (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html).
func (g sizedGetter) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return &s3.GetObjectOutput{ContentLength: g.length, Body: g.body}, nil
}

func TestS3OpenerChecksContentLengthBeforeReading(t *testing.T) {
	tests := []struct {
		name    string
		max     int64
		length  *int64
		wantErr string
	}{
		{name: "under the limit", max: 100, length: aws.Int64(99)},
		{name: "at the limit", max: 100, length: aws.Int64(100)},
		{name: "over the limit", max: 100, length: aws.Int64(101),
			wantErr: "get s3://trail/AWSLogs/x.json.gz: object of 101 bytes, over the 100-byte limit: object over the size limit"},
		{name: "unknown length", max: 100, length: nil,
			wantErr: "get s3://trail/AWSLogs/x.json.gz: object of unknown size, over the 100-byte limit: object over the size limit"},
		{name: "no limit", max: 0, length: aws.Int64(1 << 40)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := &trackedBody{r: strings.NewReader("{}")}
			o := S3Opener{Client: sizedGetter{length: tt.length, body: body}, MaxBytes: tt.max}
			rc, err := o.Open(context.Background(), "trail", "AWSLogs/x.json.gz")
			if tt.wantErr == "" {
				if err != nil || rc != body {
					t.Fatalf("open: %v", err)
				}
				return
			}
			if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrObjectTooLarge) {
				t.Fatalf("error %v, want %q", err, tt.wantErr)
			}
			if body.read || !body.isClosed {
				t.Errorf("body read %v closed %v, want unread and closed", body.read, body.isClosed)
			}
		})
	}
}
