package lambdafn_test

// These tests build every function's bootstrap for this machine and invoke
// it under the Lambda Runtime Interface Emulator (bin/aws-lambda-rie,
// installed by `make deps`) on 127.0.0.1, with the sample events
// of events/, as `sam local invoke` would but without Docker. Functions that
// read AWS (sweep, remediate) are pointed at moto on 127.0.0.1.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
)

var (
	bootstraps = map[string]string{} // function name -> bootstrap path
	rieBinary  string
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		// make check: no emulator, so no bootstraps to build either;
		// startFunction skips each test that needs one.
		return m.Run()
	}
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	dir, err := os.MkdirTemp("", "atrest-functions-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{lambdafn.FunctionTrailEvents, lambdafn.FunctionTrailLogs, lambdafn.FunctionTrailArchive, lambdafn.FunctionSweep, lambdafn.FunctionRemediate, lambdafn.FunctionVerify, lambdafn.FunctionSettle} {
		out := filepath.Join(dir, name, "bootstrap")
		cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-o", out, "./functions/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", name, err, b)
			return 1
		}
		bootstraps[name] = out
	}
	// The tests never write into the repository: the pinned emulator is
	// installed by `make deps` (make test depends on it), not from here.
	rieBinary = filepath.Join(root, "bin", "aws-lambda-rie")
	if _, err := os.Stat(rieBinary); err != nil {
		fmt.Fprintf(os.Stderr, "the Lambda Runtime Interface Emulator is missing (%v): run `make deps` to install it into bin/\n", err)
		return 1
	}
	code := m.Run()
	awstest.Stop()
	return code
}

// output collects a process's output, safe for concurrent writes; written
// receives after each write, so a reader waits for output instead of
// polling.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	written chan struct{} // capacity 1: a pending signal covers every write since
}

func newOutput() *output { return &output{written: make(chan struct{}, 1)} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	select {
	case o.written <- struct{}{}:
	default:
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// emulated is one function running under the emulator.
type emulated struct {
	name    string
	url     string
	out     *output
	invoked int
	seen    int // bytes of output already handed to an invocation
}

// startFunction runs a function's bootstrap under the emulator with env
// (and nothing else from this process's environment but PATH and HOME).
func startFunction(t *testing.T, name string, env map[string]string) *emulated {
	t.Helper()
	awstest.SkipShort(t, "the Lambda Runtime Interface Emulator")
	cmd, addr, out := startEmulator(t, bootstraps[name], name, env, lambdafn.EnvTraceAWSCalls+"=true")
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		checkCallsAndSecrets(t, name, out.String())
		if t.Failed() {
			t.Logf("%s output:\n%s", name, out.String())
		}
	})
	if err := awstest.WaitListening(addr, 10*time.Second); err != nil {
		t.Fatalf("emulator for %s not listening: %v\n%s", name, err, out.String())
	}
	return &emulated{name: name, url: "http://" + addr + "/2015-03-31/functions/function/invocations", out: out}
}

// startEmulator starts bootstrap as function name under the emulator on
// two free loopback ports, with env and extra (KEY=VALUE) and nothing else
// from this process's environment but PATH and HOME, and returns the
// command, the address invocations go to and the output.
func startEmulator(tb testing.TB, bootstrap, name string, env map[string]string, extra ...string) (*exec.Cmd, string, *output) {
	tb.Helper()
	port, err := awstest.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	apiPort, err := awstest.FreePort()
	if err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(rieBinary,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	cmd.Dir = tb.TempDir()
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AWS_LAMBDA_FUNCTION_NAME=" + name}, extra...)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := newOutput()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start emulator: %v", err)
	}
	return cmd, "127.0.0.1:" + strconv.Itoa(port), out
}

// result is what one invocation returned and printed.
type result struct {
	Response   json.RawMessage
	Findings   []finding.Finding
	Logs       []map[string]any // JSON log lines other than findings and EMF
	EMF        []map[string]any
	Report     string  // the emulator's REPORT line
	InitMS     float64 // the runtime's init phase, from the emulator's INIT REPORT (first invocation only)
	DurationMS float64
}

var (
	reportRE     = regexp.MustCompile(`REPORT RequestId: \S+\s+(?:Init Duration: [\d.]+ ms\s+)?Duration: ([\d.]+) ms`)
	initReportRE = regexp.MustCompile(`INIT REPORT\(durationMs: ([\d.]+)\)`)
)

// invoke posts payload and returns the invocation's response and output.
func (e *emulated) invoke(t *testing.T, payload []byte) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.url, bytes.NewReader(payload))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("invoke %s: %v", e.name, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.invoked++
	// The REPORT line follows the response; wait for the output to hold it.
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	var text string
	for {
		all := e.out.String()
		text = all[e.seen:]
		if strings.Count(text, "\nREPORT RequestId:") >= 1 || strings.HasPrefix(text, "REPORT RequestId:") {
			i := strings.Index(text, "REPORT RequestId:")
			j := strings.IndexByte(text[i:], '\n')
			if j >= 0 {
				text = text[:i+j+1]
				e.seen += len(text)
				break
			}
		}
		select {
		case <-e.out.written:
		case <-deadline.C:
			t.Fatalf("no REPORT line after invocation %d of %s:\n%s", e.invoked, e.name, text)
		}
	}
	r := result{Response: body}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if m := reportRE.FindStringSubmatch(line); m != nil {
			r.Report = line
			r.DurationMS, _ = strconv.ParseFloat(m[1], 64)
			continue
		}
		if m := initReportRE.FindStringSubmatch(line); m != nil {
			r.InitMS, _ = strconv.ParseFloat(m[1], 64)
			continue
		}
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%s printed a line that is not JSON: %s", e.name, line)
		}
		switch {
		case v["_aws"] != nil:
			r.EMF = append(r.EMF, v)
		case v["msg"] == "finding":
			var l struct {
				Finding finding.Finding `json:"finding"`
			}
			if err := json.Unmarshal([]byte(line), &l); err != nil {
				t.Fatal(err)
			}
			r.Findings = append(r.Findings, l.Finding)
		default:
			r.Logs = append(r.Logs, v)
		}
	}
	return r
}

// invokeFile invokes with a sample event of events/.
func (e *emulated) invokeFile(t *testing.T, name string) result {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return e.invoke(t, data)
}

// logTiming records the emulator's timings for the report.
func logTiming(t *testing.T, fn string, results []result) {
	t.Helper()
	if len(results) == 0 {
		return
	}
	var warm []string
	for _, r := range results[1:] {
		warm = append(warm, fmt.Sprintf("%.2f", r.DurationMS))
	}
	t.Logf("%s: INIT %.2f ms, first invocation %.2f ms, warm invocations %s ms", fn, results[0].InitMS, results[0].DurationMS, strings.Join(warm, ", "))
}

// emfValue returns the value of metric name in the EMF documents whose
// dimension dim has value val.
func emfValue(docs []map[string]any, name, dim, val string) (any, bool) {
	for _, d := range docs {
		if d[dim] == val {
			if v, ok := d[name]; ok {
				return v, true
			}
		}
	}
	return nil, false
}

func hasLog(r result, msg string) map[string]any {
	for _, l := range r.Logs {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// delivered returns the log line of a sink's delivery of findings, nil
// when there is none.
func delivered(r result, sink string) map[string]any {
	for _, l := range r.Logs {
		if l["msg"] == "findings delivered" && l["sink"] == sink {
			return l
		}
	}
	return nil
}

// checkCallsAndSecrets reads what a function printed under the emulator:
// every AWS call it made (traced as "aws call" log lines) must be an action
// its role grants (Permissions, which the template tests hold equal to
// template.yaml), and nothing it logged may hold the credentials it ran
// with or a plaintext data key.
func checkCallsAndSecrets(t *testing.T, name, out string) {
	t.Helper()
	granted := map[string]bool{}
	for _, a := range lambdafn.Permissions[name] {
		granted[a] = true
	}
	called := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, `"msg":"aws call"`) {
			continue
		}
		var l struct{ Action string }
		if err := json.Unmarshal([]byte(line), &l); err != nil || l.Action == "" {
			t.Errorf("%s: unreadable call trace %q", name, line)
			continue
		}
		called[l.Action] = true
	}
	for a := range called {
		if !granted[a] {
			t.Errorf("%s calls %s, which its role does not grant", name, a)
		}
	}
	for _, secret := range []string{testSecretKey, testSessionToken, `"Plaintext"`, `"plaintext"`} {
		if strings.Contains(out, secret) {
			t.Errorf("%s logged %q", name, secret)
		}
	}
	if len(called) > 0 {
		var names []string
		for a := range called {
			names = append(names, a)
		}
		slices.Sort(names)
		t.Logf("%s called: %s", name, strings.Join(names, " "))
	}
}
