package keyverify

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/awstest"
)

// local-kms (github.com/nsmithuk/local-kms) enforces key state, key usage
// and encryption context the way KMS does, which moto's KMS does not. The
// tests start one for the package on a free port and stop it at the end.
// The binary comes from ATREST_LOCAL_KMS, else bin/local-kms at the module
// root (make deps installs it there), else PATH; without it the tests fail.

const (
	testRegion  = "us-east-1"
	testAccount = "111122223333"
)

var localKMS struct {
	once sync.Once
	cmd  *exec.Cmd
	dir  string
	url  string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	stopLocalKMS()
	os.Exit(code)
}

func stopLocalKMS() {
	if c := localKMS.cmd; c != nil && c.Process != nil {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	if localKMS.dir != "" {
		_ = os.RemoveAll(localKMS.dir)
	}
}

func localKMSBinary() (string, error) {
	if p := os.Getenv("ATREST_LOCAL_KMS"); p != "" {
		return exec.LookPath(p)
	}
	if p, err := filepath.Abs(filepath.Join("..", "..", "bin", "local-kms")); err == nil {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("local-kms")
}

// startLocalKMS returns the endpoint of the package's local-kms.
func startLocalKMS(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("needs local-kms: skipped under -short (make check); make test runs it")
	}
	localKMS.once.Do(func() {
		bin, err := localKMSBinary()
		if err != nil {
			localKMS.err = fmt.Errorf("local-kms not found (install it with `make deps` or set ATREST_LOCAL_KMS): %w", err)
			return
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			localKMS.err = err
			return
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		dir, err := os.MkdirTemp("", "atrest-local-kms-")
		if err != nil {
			localKMS.err = err
			return
		}
		localKMS.dir = dir
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(),
			"PORT="+strconv.Itoa(port),
			"KMS_ACCOUNT_ID="+testAccount,
			"KMS_REGION="+testRegion,
			"KMS_DATA_PATH="+filepath.Join(dir, "data"),
			"KMS_SEED_PATH="+filepath.Join(dir, "no-seed.yaml"),
		)
		logFile, err := os.Create(filepath.Join(dir, "local-kms.log"))
		if err == nil {
			cmd.Stdout, cmd.Stderr = logFile, logFile
		}
		if err := cmd.Start(); err != nil {
			localKMS.err = fmt.Errorf("start local-kms: %w", err)
			return
		}
		localKMS.cmd = cmd
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		if err := awstest.WaitListening("127.0.0.1:"+strconv.Itoa(port), 30*time.Second); err != nil {
			localKMS.err = fmt.Errorf("local-kms did not listen on %s: %w", url, err)
			return
		}
		localKMS.url = url
	})
	if localKMS.err != nil {
		t.Fatal(localKMS.err)
	}
	return localKMS.url
}

// countingClient counts the HTTP requests, each one a KMS API call, and the
// most in flight at once. With holdUntil set, each request waits until that
// many are in flight at once (then none waits any more), so an overlap the
// caller allows is certain to happen rather than left to timing; a request
// still waiting after holdLimit gives up and goes on, and the count shows
// the overlap never came.
type countingClient struct {
	base        *http.Client
	calls       atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64

	mu        sync.Mutex
	holdUntil int64
	reached   chan struct{} // closed once holdUntil requests were in flight
}

// holdLimit bounds how long a held request waits for the others.
const holdLimit = 5 * time.Second

// hold makes each request wait until n are in flight at once; n <= 0 stops
// holding.
func (c *countingClient) hold(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holdUntil = n
	c.reached = make(chan struct{})
	if n <= 0 {
		close(c.reached)
	}
}

func (c *countingClient) Do(req *http.Request) (*http.Response, error) {
	c.calls.Add(1)
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		m := c.maxInFlight.Load()
		if n <= m || c.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	c.mu.Lock()
	reached := c.reached
	if reached != nil && c.holdUntil > 0 && n >= c.holdUntil {
		select {
		case <-reached:
		default:
			close(reached)
		}
	}
	c.mu.Unlock()
	if reached != nil {
		timeout := time.NewTimer(holdLimit)
		select {
		case <-reached:
		case <-timeout.C:
		}
		timeout.Stop()
	}
	return c.base.Do(req)
}

// testConfig is an SDK configuration for local-kms with dummy credentials and
// a request counter.
func testConfig(t testing.TB) (aws.Config, *countingClient) {
	t.Helper()
	url := startLocalKMS(t)
	counter := &countingClient{base: &http.Client{Timeout: 30 * time.Second}}
	return aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   counter,
	}, counter
}

// testKMS is a plain KMS client for setting up keys.
func testKMS(t testing.TB) *kms.Client {
	t.Helper()
	cfg, _ := testConfig(t)
	return kms.NewFromConfig(cfg)
}

// createKey creates a key and returns its ARN.
func createKey(t testing.TB, client *kms.Client, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey %s %s: %v", spec, usage, err)
	}
	return aws.ToString(out.KeyMetadata.Arn)
}
