package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/awstest"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// TestEvaluateReadsS3 puts the sample log file in an S3 bucket on moto and
// evaluates the SQS notification for it without --s3-root: the object is
// read through the standard AWS configuration (AWS_ENDPOINT_URL).
func TestEvaluateReadsS3(t *testing.T) {
	url := awstest.Moto(t)
	cfg := awstest.Config(t, url)
	client := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	ctx := context.Background()
	const bucket = "atrest-trail-bucket"
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	root := "../../events/s3/" + bucket
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		key := strings.TrimPrefix(filepath.ToSlash(path), root+"/")
		_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL", url)
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_REGION", awstest.Region)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	sample := "../../events/11-sqs-s3-cloudtrail-log-file.json"
	live, stderr, code := runCLI(t, "", "evaluate", "--format", "json", sample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	offline, _, _ := runCLI(t, "", "evaluate", "--format", "json", "--s3-root", "../../events/s3", sample)
	liveF, offF := decodeFindings(t, live), decodeFindings(t, offline)
	if len(liveF) == 0 || len(liveF) != len(offF) {
		t.Fatalf("%d findings from S3, %d from the folder", len(liveF), len(offF))
	}
	for i := range liveF {
		if summarize(liveF[i]) != summarize(offF[i]) {
			t.Errorf("finding %d: S3 %s, folder %s", i, summarize(liveF[i]), summarize(offF[i]))
		}
	}
}
