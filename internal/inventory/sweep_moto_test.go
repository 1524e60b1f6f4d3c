package inventory

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/state"
)

// TestMotoSweep sweeps 200 keys and 200 file systems on moto, 128 keys in
// use (file systems 0-127 use keys 0-127, 128-199 share keys 0-71), then
// reads every ref as the pipeline would (for a key the file systems it
// protects, then the snapshot), counting the calls the live store made:
// every key's metadata and rotation, the policy and grants of the 128 keys
// in use only.
func TestMotoSweep(t *testing.T) {
	const n, inUse = 200, 128
	ctx := context.Background()
	e := newMotoEnv(t, "")
	e.live = NewLive(Options{Clients: e.acc}) // real clock, default TTL

	seedStart := time.Now()
	keyARNs := make([]string, n)
	seed := func(create func(i int)) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 4)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				create(i)
			}()
		}
		wg.Wait()
	}
	seed(func(i int) {
		md := must(e.kms.CreateKey(ctx, &kms.CreateKeyInput{}))
		keyARNs[i] = aws.ToString(md.KeyMetadata.Arn)
		if i%2 == 0 {
			must(e.kms.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: md.KeyMetadata.KeyId}))
		}
	})
	seed(func(i int) {
		must(awstest.CreateFileSystem(ctx, e.efs, &efs.CreateFileSystemInput{
			CreationToken: aws.String(fmt.Sprintf("fs-%d", i)), Encrypted: aws.Bool(true), KmsKeyId: aws.String(keyARNs[i%inUse]),
		}))
	})
	t.Logf("seeded %d keys and %d file systems in %v", n, n, time.Since(seedStart).Round(time.Millisecond))

	start := time.Now()
	res, err := e.live.Sweep(ctx, []string{awstest.Region})
	if err != nil {
		t.Fatal(err)
	}
	sweepTime := time.Since(start)
	if len(res.Errors) != 0 {
		t.Fatalf("sweep errors: %v", res.Errors)
	}
	if res.FileSystems != n || res.Keys != n || len(res.Refs) != 2*n {
		t.Fatalf("sweep found %d file systems, %d keys, %d refs; want %d, %d, %d", res.FileSystems, res.Keys, len(res.Refs), n, n, 2*n)
	}
	afterSweep := map[string]int{}
	ops := []string{"ListKeys", "DescribeFileSystems", "ListAliases", "DescribeKey", "GetKeyRotationStatus", "GetKeyPolicy", "ListGrants", "DescribeFileSystemPolicy"}
	for _, op := range ops {
		afterSweep[op] = e.calls.Get(op)
	}

	evalStart := time.Now()
	protected, withPolicy := 0, 0
	for _, ref := range res.Refs {
		if ref.Type == state.TypeKey {
			fss, err := e.live.FileSystemsForKey(ctx, ref.ARN)
			if err != nil {
				t.Fatal(err)
			}
			protected += len(fss)
			k, err := e.live.Key(ctx, ref.ARN)
			if err != nil || k == nil {
				t.Fatalf("Key(%s) = %v, %v", ref.ARN, k, err)
			}
			if (k.Policy != "") != (len(fss) > 0) {
				t.Errorf("Key(%s) protects %d file systems; policy read: %v", ref.ARN, len(fss), k.Policy != "")
			}
			if k.Policy != "" {
				withPolicy++
			}
			continue
		}
		fs, err := e.live.FileSystem(ctx, ref.ARN)
		if err != nil || fs == nil || !fs.Encrypted || fs.KMSKeyARN == "" {
			t.Fatalf("FileSystem(%s) = %+v, %v", ref.ARN, fs, err)
		}
	}
	evalTime := time.Since(evalStart)
	if protected != n || withPolicy != inUse {
		t.Errorf("file systems protected by the swept keys = %d, want %d; keys read with their policy %d, want %d", protected, n, withPolicy, inUse)
	}
	for _, op := range ops {
		total := e.calls.Get(op)
		t.Logf("%-26s sweep %4d, evaluation after it %4d", op, afterSweep[op], total-afterSweep[op])
	}
	t.Logf("sweep wall time %v; evaluation reads of %d refs %v", sweepTime.Round(time.Millisecond), len(res.Refs), evalTime.Round(time.Millisecond))
	// One metadata and rotation read per key (every key is a symmetric
	// customer managed key: rotation is judged for each), one policy and
	// grants read per key in use, one file-system policy read per file
	// system.
	for op, want := range map[string]int{"DescribeKey": n, "GetKeyRotationStatus": n, "GetKeyPolicy": inUse, "ListGrants": inUse, "DescribeFileSystemPolicy": n} {
		if got := e.calls.Get(op); got != want {
			t.Errorf("%s calls = %d, want %d", op, got, want)
		}
	}
	if got := e.calls.Get("DescribeFileSystems") - afterSweep["DescribeFileSystems"]; got != 0 {
		t.Errorf("DescribeFileSystems calls after the sweep = %d, want 0 (list cached)", got)
	}
	gone := res.Gone([]state.ResourceRef{{Type: state.TypeKey, ARN: keyARNs[0]}, {Type: state.TypeKey, ARN: arns.KeyARN(awstest.Region, awstest.Account, "deleted-key")}}, awstest.Account, []string{awstest.Region})
	if len(gone) != 1 || gone[0].ARN != arns.KeyARN(awstest.Region, awstest.Account, "deleted-key") {
		t.Errorf("Gone = %v, want the deleted key only", gone)
	}
}
