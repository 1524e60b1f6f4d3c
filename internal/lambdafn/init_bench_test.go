package lambdafn_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/lambdafn"
)

// buildLambdaBootstrap builds trail-events into dir as sam build does
// (sam/build.mk's LAMBDA_GOFLAGS: lambda.norpc, -trimpath, stripped), for
// this machine's architecture so the emulator can run it.
func buildLambdaBootstrap(dir string) (string, error) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "bootstrap")
	cmd := exec.Command("go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, "./functions/"+lambdafn.FunctionTrailEvents)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+runtime.GOARCH)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build %s: %w\n%s", lambdafn.FunctionTrailEvents, err, b)
	}
	return out, nil
}

// BenchmarkInitUnderEmulator starts trail-events in a new emulator for each
// iteration, invokes it once with a sample event, and reports the median of
// the emulator's INIT REPORT (from starting the bootstrap to its first
// request for an event: settings, rules compiled, clients built) as init-ms,
// and of the first invocation's duration after INIT as first-invoke-ms, so that work
// moved out of INIT into the first event would show. "memory" is the
// configuration of make invoke; "live" the deployed one (live store,
// findings bus), pointed at moto. Run it with e.g. -benchtime 9x.
func BenchmarkInitUnderEmulator(b *testing.B) {
	awstest.SkipShort(b, "the Lambda Runtime Interface Emulator")
	bootstrap, err := buildLambdaBootstrap(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	event, err := os.ReadFile(filepath.Join(repoRoot, "events", "01-eventbridge-kms-createkey-symmetric.json"))
	if err != nil {
		b.Fatal(err)
	}
	for _, bm := range []struct {
		name string
		env  func(b *testing.B) map[string]string
	}{
		{"memory", func(*testing.B) map[string]string { return localEnv() }},
		{"live", func(b *testing.B) map[string]string { return awsEnv(awstest.Moto(b)) }},
	} {
		b.Run(bm.name, func(b *testing.B) {
			env := bm.env(b)
			var inits, firsts []float64
			for b.Loop() {
				init, first := coldStart(b, bootstrap, env, event)
				inits = append(inits, init)
				firsts = append(firsts, first)
			}
			b.ReportMetric(median(inits), "init-ms")
			b.ReportMetric(median(firsts), "first-invoke-ms")
		})
	}
}

// coldStart runs bootstrap in a new emulator, invokes it once with event,
// and returns the emulator's INIT and first invocation durations in ms.
func coldStart(b *testing.B, bootstrap string, env map[string]string, event []byte) (initMS, firstMS float64) {
	b.Helper()
	cmd, addr, out := startEmulator(b, bootstrap, lambdafn.FunctionTrailEvents, env)
	defer func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	if err := awstest.WaitListening(addr, 10*time.Second); err != nil {
		b.Fatalf("emulator not listening: %v\n%s", err, out.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/2015-03-31/functions/function/invocations", bytes.NewReader(event))
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatalf("invoke: %v\n%s", err, out.String())
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	deadline := time.After(10 * time.Second)
	for {
		text := out.String()
		i, r := initReportRE.FindStringSubmatch(text), reportRE.FindStringSubmatch(text)
		if i != nil && r != nil {
			// The emulator's REPORT duration of the first invocation
			// includes INIT.
			initMS, _ = strconv.ParseFloat(i[1], 64)
			total, _ := strconv.ParseFloat(r[1], 64)
			return initMS, total - initMS
		}
		select {
		case <-out.written:
		case <-deadline:
			b.Fatalf("no INIT REPORT and REPORT lines:\n%s", text)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkNewMonitor is the cold start's work in process, without the
// emulator or the runtime's start: settings, rules compiled, store and
// clients built. Profile INIT with -cpuprofile here.
func BenchmarkNewMonitor(b *testing.B) {
	for _, bm := range []struct {
		name string
		env  map[string]string
	}{
		{"memory", localEnv()},
		// No call is made at INIT: a closed port is never dialled.
		{"live", awsEnv("http://127.0.0.1:9")},
	} {
		b.Run(bm.name, func(b *testing.B) {
			// The SDK reads its own settings from the process's
			// environment: none of this machine's, as in Lambda.
			b.Setenv("AWS_CA_BUNDLE", "")
			s, err := lambdafn.FromEnv(func(k string) string { return bm.env[k] })
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(io.Discard), io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkInitCPU runs the trail-events bootstrap alone, without a runtime
// API to ask for events: it does all of INIT (the Go runtime and package
// initialisation, settings, rules, clients) and exits where it would ask
// for the first event. It reports the median CPU time (user + system, every
// thread, the collector's included) as init-cpu-ms and the median wall
// time as init-wall-ms: on a machine shared with other work the CPU time is
// the steadier figure.
func BenchmarkInitCPU(b *testing.B) {
	bootstrap, err := buildLambdaBootstrap(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	var cpu, wall []float64
	for b.Loop() {
		cmd := exec.Command(bootstrap)
		cmd.Dir = b.TempDir()
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "AWS_LAMBDA_FUNCTION_NAME=" + lambdafn.FunctionTrailEvents}
		for k, v := range localEnv() {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		start := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(start)
		// Without AWS_LAMBDA_RUNTIME_API the runtime refuses to start, and
		// nothing else may have failed.
		if err == nil || !bytes.Contains(out, []byte("AWS_LAMBDA_RUNTIME_API")) || bytes.Contains(out, []byte(`"level":"ERROR"`)) {
			b.Fatalf("bootstrap without a runtime API: %v\n%s", err, out)
		}
		st := cmd.ProcessState
		cpu = append(cpu, float64(st.UserTime()+st.SystemTime())/float64(time.Millisecond))
		wall = append(wall, float64(elapsed)/float64(time.Millisecond))
	}
	b.ReportMetric(median(cpu), "init-cpu-ms")
	b.ReportMetric(median(wall), "init-wall-ms")
}
