package lambdafn

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/atrest/atrest/internal/cloudtrail"
)

// MaxObjectsPerMessage is the most S3 objects one trail-archive message may
// name. S3 puts one record in each notification; a message naming more is
// refused whole.
const MaxObjectsPerMessage = 10

// ErrArchiveMessage marks an SQS message trail-archive refuses to read.
var ErrArchiveMessage = errors.New("message refused")

// s3Notification is an S3 event notification, the only message body
// trail-archive reads, and s3TestEvent the one S3 sends when a
// notification is configured.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
type s3Notification struct {
	Records []cloudtrail.S3EventRecord `json:"Records"`
	// Event and Bucket are set in the test event.
	Event  string `json:"Event"`
	Bucket string `json:"Bucket"`
}

// archiveBody checks an SQS message body of trail-archive and returns the
// body the pipeline is to read: only the S3 ObjectCreated notifications of
// bucket for keys under AWSLogs/ (at the start of the key or after a
// prefix), at most MaxObjectsPerMessage of them, without the objects seen
// holds already (which it records). A body of anything else, CloudTrail
// records placed in the message included, is refused with an error naming
// what was wrong and where; nothing of it is judged. The body is nil when
// nothing is left to read (the S3 test event, repeated references), with
// dropped counting the references left out.
func archiveBody(bucket string, body []byte, seen map[string]bool) (out []byte, dropped int, err error) {
	if bucket == "" {
		return nil, 0, fmt.Errorf("%w: %s is not set, so no bucket's notifications are read", ErrArchiveMessage, EnvTrailBucket)
	}
	var n s3Notification
	if err := json.Unmarshal(body, &n); err != nil {
		return nil, 0, fmt.Errorf("%w: body is not an S3 event notification: %w", ErrArchiveMessage, err)
	}
	if n.Event == "s3:TestEvent" && len(n.Records) == 0 {
		if n.Bucket != bucket {
			return nil, 0, fmt.Errorf("%w: S3 test event of bucket %q, not the trail bucket", ErrArchiveMessage, n.Bucket)
		}
		return nil, 0, nil
	}
	switch {
	case len(n.Records) == 0:
		return nil, 0, fmt.Errorf("%w: body is not an S3 event notification (no Records)", ErrArchiveMessage)
	case len(n.Records) > MaxObjectsPerMessage:
		return nil, 0, fmt.Errorf("%w: %d records, more than the %d a message may name", ErrArchiveMessage, len(n.Records), MaxObjectsPerMessage)
	}
	keep := make([]cloudtrail.S3EventRecord, 0, len(n.Records))
	var keys []string
	for i, r := range n.Records {
		at := fmt.Sprintf("Records[%d]", i)
		if r.EventSource != "aws:s3" {
			return nil, 0, fmt.Errorf("%w: %s has eventSource %q, not aws:s3: CloudTrail records are read only from the trail bucket's log files", ErrArchiveMessage, at, r.EventSource)
		}
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			return nil, 0, fmt.Errorf("%w: %s is a %q notification, not ObjectCreated", ErrArchiveMessage, at, r.EventName)
		}
		if r.S3.Bucket.Name != bucket {
			return nil, 0, fmt.Errorf("%w: %s names bucket %q, not the trail bucket", ErrArchiveMessage, at, r.S3.Bucket.Name)
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return nil, 0, fmt.Errorf("%w: %s object key %q: %w", ErrArchiveMessage, at, r.S3.Object.Key, err)
		}
		if !strings.HasPrefix(key, "AWSLogs/") && !strings.Contains(key, "/AWSLogs/") {
			return nil, 0, fmt.Errorf("%w: %s object key %q is not under AWSLogs/", ErrArchiveMessage, at, key)
		}
		if seen[key] || slices.Contains(keys, key) {
			dropped++
			continue
		}
		keys = append(keys, key)
		keep = append(keep, r)
	}
	// Only a message read whole marks its objects as seen.
	for _, k := range keys {
		seen[k] = true
	}
	if len(keep) == 0 {
		return nil, dropped, nil
	}
	// The pipeline reads only what was checked: the records rebuilt from
	// their checked fields.
	type object struct {
		Key  string `json:"key"`
		Size int64  `json:"size"`
	}
	type record struct {
		EventSource string `json:"eventSource"`
		EventName   string `json:"eventName"`
		S3          struct {
			Bucket struct {
				Name string `json:"name"`
			} `json:"bucket"`
			Object object `json:"object"`
		} `json:"s3"`
	}
	clean := struct {
		Records []record `json:"Records"`
	}{}
	for _, r := range keep {
		var c record
		c.EventSource, c.EventName = r.EventSource, r.EventName
		c.S3.Bucket.Name = r.S3.Bucket.Name
		c.S3.Object = object{Key: r.S3.Object.Key, Size: r.S3.Object.Size}
		clean.Records = append(clean.Records, c)
	}
	out, err = json.Marshal(clean)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: %w", ErrArchiveMessage, err)
	}
	return out, dropped, nil
}
