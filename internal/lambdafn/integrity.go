package lambdafn

import (
	"log/slog"
	"time"

	awscloudtrail "github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/integrity"
)

// IntegrityTTL is how long trail-archive reuses what it read of a bucket's
// digests: a message delivered again after it sees digests delivered since.
const IntegrityTTL = 5 * time.Minute

// integrityGate builds the gate ATREST_REQUIRE_INTEGRITY asks for: digests
// from the same bucket (or ATREST_S3_ROOT), public keys from CloudTrail
// ListPublicKeys. A log file refused is reported by the decoder as an
// object that could not be read, so its message is failed: delivered again
// (its digest is delivered up to an hour after it) and, after the queue's
// maxReceiveCount, kept in the dead-letter queue.
func integrityGate(s Settings, awsCfg awsConfig, next cloudtrail.Opener, log *slog.Logger) (*integrity.Gate, error) {
	c, err := awsCfg()
	if err != nil {
		return nil, err
	}
	var src integrity.Source = integrity.S3Source{Client: s3.NewFromConfig(c), ExpectedBucketOwner: s.TrailBucketOwner}
	if s.S3Root != "" {
		src = integrity.DirSource{Root: s.S3Root}
	}
	return &integrity.Gate{
		Next: next,
		// Hashing a log file inflates it as the decoder would: within the
		// function's own bound, not the validator's default of 1 GiB.
		Validator: &integrity.Validator{Source: src, Keys: &integrity.PublicKeys{Client: awscloudtrail.NewFromConfig(c)},
			MaxInflatedBytes: s.MaxInflatedBytes},
		Require:        true,
		MaxObjectBytes: s.MaxInflatedBytes,
		TTL:            IntegrityTTL,
		OnVerdict: func(v integrity.Verdict, err error) {
			if err != nil {
				log.Warn("integrity validation did not run", "object", v.Object(), "error", err.Error())
			}
			if !v.OK() {
				log.Warn("log file not proven intact: not judged", "object", v.Object(), "status", string(v.Status), "reason", v.Reason)
			}
		},
	}, nil
}
