// Package awstest starts the AWS emulators atrest's integration tests run
// against (moto in server mode) on 127.0.0.1 and builds SDK configurations
// that point at them with dummy credentials. It is imported by tests only.
//
// A package whose tests use it calls awstest.Main from TestMain, which stops
// the servers it started once the tests are done. When the emulator binary is
// missing the tests fail: they never skip silently.
package awstest

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
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Region is the region every emulated client uses.
const Region = "us-east-1"

// Account is the account id moto reports.
const Account = "123456789012"

var (
	mu      sync.Mutex
	started []*exec.Cmd
	stops   []func()
	motoURL string
	motoErr error
	once    sync.Once
)

// Main runs the package's tests and stops any server they started.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop ends every server this process started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	for _, stop := range stops {
		stop()
	}
	stops = nil
	for _, c := range started {
		if c.Process != nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	started = nil
}

// FreePort asks the kernel for a free TCP port on 127.0.0.1.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// SkipShort skips t under -short (make check) and names the server it
// would have started; make test runs every test without -short.
func SkipShort(t testing.TB, server string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("needs %s: skipped under -short (make check); make test runs it", server)
	}
}

// Moto returns the endpoint of a moto server: ATREST_MOTO_URL when set,
// otherwise one started for this test binary (moto_server from
// ATREST_MOTO_SERVER or PATH) on a free loopback port. Either is reached
// through a front on 127.0.0.1 that answers with moto's responses read
// whole (front.go).
//
// Under -short (make check) the test is skipped, saying so: the fast loop
// runs no server. make test runs without -short, where a missing server
// fails the test.
func Moto(t testing.TB) string {
	t.Helper()
	SkipShort(t, "moto")
	once.Do(func() {
		if u := os.Getenv("ATREST_MOTO_URL"); u != "" {
			motoURL, motoErr = withFront(u)
			return
		}
		bin := os.Getenv("ATREST_MOTO_SERVER")
		if bin == "" {
			bin = "moto_server"
		}
		path, err := exec.LookPath(bin)
		if err != nil {
			motoErr = fmt.Errorf("moto_server not found (install it with `make deps` or set ATREST_MOTO_URL): %w", err)
			return
		}
		port, err := FreePort()
		if err != nil {
			motoErr = err
			return
		}
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		logPath := filepath.Join(os.TempDir(), fmt.Sprintf("atrest-moto-%d.log", port))
		if f, err := os.Create(logPath); err == nil {
			cmd.Stdout, cmd.Stderr = f, f
		}
		if err := cmd.Start(); err != nil {
			motoErr = fmt.Errorf("start moto_server: %w", err)
			return
		}
		mu.Lock()
		started = append(started, cmd)
		mu.Unlock()
		url := "http://127.0.0.1:" + strconv.Itoa(port)
		if err := WaitListening("127.0.0.1:"+strconv.Itoa(port), 30*time.Second); err != nil {
			motoErr = fmt.Errorf("moto_server did not start (log %s): %w", logPath, err)
			return
		}
		motoURL, motoErr = withFront(url)
	})
	if motoErr != nil {
		t.Fatal(motoErr)
	}
	return motoURL
}

// withFront starts a front to upstream, stopped by Stop.
func withFront(upstream string) (string, error) {
	u, stop, err := startFront(upstream)
	if err != nil {
		return "", err
	}
	mu.Lock()
	stops = append(stops, stop)
	mu.Unlock()
	return u, nil
}

// Reset clears all of moto's state.
func Reset(t testing.TB, endpoint string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
}

// WaitListening waits until addr (host:port) accepts a TCP connection or
// limit has passed, returning the last dial error then. The emulators run
// as processes (moto_server, local-kms, the Lambda Runtime Interface
// Emulator) and none signals that it is ready: the one signal there is, is
// the port accepting, so this polls it, every 50 ms, against a deadline.
// Tests use it only to wait for such a process, never for a goroutine.
func WaitListening(addr string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Config returns an SDK configuration for endpoint with dummy credentials.
// Retries are kept low so a broken emulator fails a test quickly.
func Config(t testing.TB, endpoint string) aws.Config {
	t.Helper()
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(),
		awsconfig.WithRegion(Region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("testing", "testing", "")),
		awsconfig.WithBaseEndpoint(endpoint),
		awsconfig.WithRetryMaxAttempts(2),
	)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}
