package keyverify

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

const testFS = "arn:aws:elasticfilesystem:us-east-1:111122223333:file-system/fs-0123456789abcdef0"

// fakeClock is a settable clock for the interval cache.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func stepNames(r Result) []Step {
	var out []Step
	for _, s := range r.Steps {
		out = append(out, s.Step)
	}
	return out
}

func TestVerifyOutcomes(t *testing.T) {
	ctx := context.Background()
	admin := testKMS(t)
	enabled := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	disabled := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	if _, err := admin.DisableKey(ctx, &kms.DisableKeyInput{KeyId: aws.String(disabled)}); err != nil {
		t.Fatal(err)
	}
	deleting := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	if _, err := admin.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(deleting), PendingWindowInDays: aws.Int32(7)}); err != nil {
		t.Fatal(err)
	}
	rsa := createKey(t, admin, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	missing := "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"

	all := []Step{StepDescribe, StepEncrypt, StepInspect, StepDecrypt, StepCompare}
	tests := []struct {
		name      string
		key       string
		ok        bool
		performed bool
		reason    Reason
		failed    Step
		steps     []Step
		state     string
		calls     int64
		detail    string
	}{
		{name: "enabled symmetric key", key: enabled, ok: true, performed: true, steps: all, state: "Enabled", calls: 3},
		{name: "disabled key", key: disabled, performed: true, reason: ReasonDisabled, failed: StepEncrypt,
			steps: all[:2], state: "Disabled", calls: 2, detail: "DisabledException: "},
		{name: "key pending deletion", key: deleting, performed: true, reason: ReasonPendingDeletion, failed: StepEncrypt,
			steps: all[:2], state: "PendingDeletion", calls: 2, detail: "KMSInvalidStateException: "},
		{name: "asymmetric RSA key", key: rsa, performed: true, reason: ReasonInvalidKeyUsage, failed: StepDescribe,
			steps: all[:1], state: "Enabled", calls: 1, detail: "spec RSA_2048, usage ENCRYPT_DECRYPT"},
		{name: "key that does not exist", key: missing, performed: true, reason: ReasonNotFound, failed: StepDescribe,
			steps: all[:1], calls: 1, detail: "NotFoundException: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, counter := testConfig(t)
			v, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			before := counter.calls.Load()
			r := v.Verify(ctx, tt.key, []string{testFS})
			if got := counter.calls.Load() - before; got != tt.calls {
				t.Errorf("KMS calls = %d, want %d", got, tt.calls)
			}
			if r.OK != tt.ok || r.Performed != tt.performed || r.Reason != tt.reason || r.FailedStep != tt.failed {
				t.Errorf("ok=%v performed=%v reason=%q failed=%q, want ok=%v performed=%v reason=%q failed=%q (detail %q)",
					r.OK, r.Performed, r.Reason, r.FailedStep, tt.ok, tt.performed, tt.reason, tt.failed, r.Detail)
			}
			if got := stepNames(r); !slices.Equal(got, tt.steps) {
				t.Errorf("steps = %v, want %v", got, tt.steps)
			}
			for i, s := range r.Steps {
				wantOK := tt.ok || i < len(r.Steps)-1
				if s.OK != wantOK || s.Duration <= 0 {
					t.Errorf("step %s: ok=%v duration=%v, want ok=%v and a positive duration", s.Step, s.OK, s.Duration, wantOK)
				}
			}
			if r.KeyState != tt.state {
				t.Errorf("key state = %q, want %q", r.KeyState, tt.state)
			}
			if !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("detail = %q, want it to contain %q", r.Detail, tt.detail)
			}
			if r.Cached || r.AlgorithmSuite != "0x0478" || !slices.Equal(r.FileSystems, []string{testFS}) {
				t.Errorf("cached=%v suite=%s file systems=%v", r.Cached, r.AlgorithmSuite, r.FileSystems)
			}
			if tt.ok && r.KeyARN != tt.key {
				t.Errorf("key ARN = %q, want %q", r.KeyARN, tt.key)
			}
		})
	}
}

func TestVerifySigningSuite(t *testing.T) {
	cfg, counter := testConfig(t)
	key := createKey(t, testKMS(t), types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	v, err := New(cfg, WithSigningSuite())
	if err != nil {
		t.Fatal(err)
	}
	before := counter.calls.Load()
	r := v.Verify(context.Background(), key, nil)
	if !r.OK || r.AlgorithmSuite != "0x0578" || counter.calls.Load()-before != 3 {
		t.Fatalf("ok=%v suite=%s calls=%d reason=%s detail=%s", r.OK, r.AlgorithmSuite, counter.calls.Load()-before, r.Reason, r.Detail)
	}
}

// message encrypts a canary under key with v's settings and returns the
// message and its encryption context.
func message(t *testing.T, v *Verifier, key, nonce string) (msg []byte, ec map[string]string) {
	t.Helper()
	ctx := context.Background()
	client := v.kmsClient(ctx)
	kr, err := v.keyring(ctx, client, key)
	if err != nil {
		t.Fatal(err)
	}
	ec = encryptionContext(key, []string{"fs-0123456789abcdef0"}, nonce)
	msg, suite, err := v.encrypt(ctx, kr, []byte("canary-canary-canary-canary-0032"), ec)
	if err != nil || suite != SuiteCommitKey {
		t.Fatalf("encrypt: suite %s: %v", suiteName(suite), err)
	}
	return msg, ec
}

func TestDecryptFailures(t *testing.T) {
	ctx := context.Background()
	cfg, _ := testConfig(t)
	admin := testKMS(t)
	keyA := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	keyB := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgA, ecA := message(t, v, keyA, "00112233445566778899aabbccddeeff")
	msgB, ecB := message(t, v, keyB, "00112233445566778899aabbccddeeff")
	h, err := ParseHeader(msgA)
	if err != nil {
		t.Fatal(err)
	}
	client := v.kmsClient(ctx)
	keyringA, err := v.keyring(ctx, client, keyA)
	if err != nil {
		t.Fatal(err)
	}

	otherNonce := withPair(ecA, ContextNonce, "ffeeddccbbaa99887766554433221100")
	flipLast := slices.Clone(msgA)
	flipLast[len(flipLast)-1] ^= 0x01
	// A byte inside the wrapped data key: KMS rejects the ciphertext.
	flipEDK := slices.Clone(msgA)
	flipEDK[edkOffset(t, msgA)+10] ^= 0x01
	// A byte of the header's message id: the header no longer authenticates.
	flipHeader := slices.Clone(msgA)
	flipHeader[5] ^= 0x01

	tests := []struct {
		name   string
		msg    []byte
		ec     map[string]string
		reason Reason
	}{
		{name: "intact message", msg: msgA, ec: ecA, reason: ReasonNone},
		{name: "required encryption context differs", msg: msgA, ec: otherNonce, reason: ReasonContextMismatch},
		{name: "body tampered", msg: flipLast, ec: ecA, reason: ReasonTampered},
		{name: "wrapped data key tampered", msg: flipEDK, ec: ecA, reason: ReasonTampered},
		{name: "header tampered", msg: flipHeader, ec: ecA, reason: ReasonTampered},
		{name: "wrapped by a different key", msg: msgB, ec: ecB, reason: ReasonWrongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plain, reason, detail := v.decrypt(ctx, keyringA, tt.msg, keyA, tt.ec, "Enabled")
			if reason != tt.reason {
				t.Fatalf("reason = %q (%s), want %q", reason, detail, tt.reason)
			}
			if tt.reason == ReasonNone && string(plain) != "canary-canary-canary-canary-0032" {
				t.Fatalf("plaintext differs")
			}
			if tt.reason != ReasonNone && plain != nil {
				t.Fatalf("a failed decryption returned plaintext")
			}
		})
	}
	if len(h.DataKeys) != 1 || h.DataKeys[0].ProviderInfo != keyA {
		t.Fatalf("header data keys %+v", h.DataKeys)
	}
}

func TestInspect(t *testing.T) {
	cfg, _ := testConfig(t)
	admin := testKMS(t)
	keyA := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	keyB := createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	msgA, ecA := message(t, v, keyA, "00112233445566778899aabbccddeeff")
	msgB, _ := message(t, v, keyB, "00112233445566778899aabbccddeeff")
	signing, err := New(cfg, WithSigningSuite())
	if err != nil {
		t.Fatal(err)
	}
	withExtra := withPair(ecA, "atrest-extra", "x")

	tests := []struct {
		name   string
		v      *Verifier
		msg    []byte
		key    string
		ec     map[string]string
		reason Reason
		detail string
	}{
		{name: "intact", v: v, msg: msgA, key: keyA, ec: ecA, reason: ReasonNone},
		{name: "another nonce", v: v, msg: msgA, key: keyA, ec: withPair(ecA, ContextNonce, "00"), reason: ReasonContextMismatch, detail: `"atrest-nonce"`},
		{name: "another file system", v: v, msg: msgA, key: keyA, ec: withPair(ecA, ContextFileSystems, "fs-1"), reason: ReasonContextMismatch, detail: `"atrest-file-systems"`},
		{name: "a pair the message lacks", v: v, msg: msgA, key: keyA, ec: withExtra, reason: ReasonContextMismatch, detail: `lacks "atrest-extra"`},
		{name: "wrapped by a different key", v: v, msg: msgB, key: keyA, ec: ecA, reason: ReasonWrongKey, detail: "wrapped by " + keyB},
		{name: "suite other than asked for", v: signing, msg: msgA, key: keyA, ec: ecA, reason: ReasonWrongAlgorithm, detail: "suite 0x0478"},
		{name: "truncated header", v: v, msg: msgA[:60], key: keyA, ec: ecA, reason: ReasonTampered, detail: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, detail := tt.v.inspect(tt.msg, tt.key, tt.ec)
			if reason != tt.reason || !strings.Contains(detail, tt.detail) {
				t.Fatalf("inspect = %q %q, want %q containing %q", reason, detail, tt.reason, tt.detail)
			}
		})
	}
}

func TestIntervalCache(t *testing.T) {
	ctx := context.Background()
	cfg, counter := testConfig(t)
	key := createKey(t, testKMS(t), types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	clock := &fakeClock{now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	v, err := New(cfg, WithInterval(10*time.Minute), WithClock(clock.Now))
	if err != nil {
		t.Fatal(err)
	}
	calls := func(f func() Result) (Result, int64) {
		before := counter.calls.Load()
		r := f()
		return r, counter.calls.Load() - before
	}
	verify := func() Result { return v.Verify(ctx, key, []string{testFS}) }

	first, n := calls(verify)
	if !first.OK || first.Cached || n != 3 {
		t.Fatalf("first: ok=%v cached=%v calls=%d", first.OK, first.Cached, n)
	}
	clock.Advance(9 * time.Minute)
	second, n := calls(verify)
	if !second.OK || !second.Cached || n != 0 || !second.CheckedAt.Equal(first.CheckedAt) {
		t.Fatalf("within the interval: ok=%v cached=%v calls=%d checked=%v", second.OK, second.Cached, n, second.CheckedAt)
	}
	clock.Advance(time.Minute)
	third, n := calls(verify)
	if !third.OK || third.Cached || n != 3 || !third.CheckedAt.Equal(first.CheckedAt.Add(10*time.Minute)) {
		t.Fatalf("after the interval: ok=%v cached=%v calls=%d", third.OK, third.Cached, n)
	}
	v.Invalidate(key)
	fourth, n := calls(verify)
	if !fourth.OK || fourth.Cached || n != 3 {
		t.Fatalf("after Invalidate: ok=%v cached=%v calls=%d", fourth.OK, fourth.Cached, n)
	}

	// Concurrent callers for one key share one verification.
	v.Invalidate(key)
	var wg sync.WaitGroup
	before := counter.calls.Load()
	results := make([]Result, 8)
	for i := range results {
		wg.Go(func() { results[i] = v.Verify(ctx, key, nil) })
	}
	wg.Wait()
	fresh := 0
	for _, r := range results {
		if !r.OK {
			t.Fatalf("concurrent result not OK: %s", r.Reason)
		}
		if !r.Cached {
			fresh++
		}
	}
	if n := counter.calls.Load() - before; n != 3 || fresh != 1 {
		t.Fatalf("8 concurrent calls: %d KMS calls, %d fresh results; want 3 and 1", n, fresh)
	}
}

func TestVerifyCanceled(t *testing.T) {
	cfg, counter := testConfig(t)
	key := createKey(t, testKMS(t), types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	before := counter.calls.Load()
	r := v.Verify(ctx, key, nil)
	if r.OK || r.Performed || r.Reason != ReasonCanceled || counter.calls.Load() != before {
		t.Fatalf("ok=%v performed=%v reason=%q calls=%d", r.OK, r.Performed, r.Reason, counter.calls.Load()-before)
	}
	// Nothing was learned, so nothing was cached.
	r = v.Verify(context.Background(), key, nil)
	if !r.OK || r.Cached {
		t.Fatalf("after a canceled call: ok=%v cached=%v reason=%s", r.OK, r.Cached, r.Reason)
	}
}

func TestConcurrencyBound(t *testing.T) {
	cfg, counter := testConfig(t)
	admin := testKMS(t)
	keys := make([]string, 6)
	for i := range keys {
		keys[i] = createKey(t, admin, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	}
	for _, limit := range []int{1, 2} {
		t.Run(fmt.Sprintf("limit %d", limit), func(t *testing.T) {
			v, err := New(cfg, WithConcurrency(limit), WithInterval(0))
			if err != nil {
				t.Fatal(err)
			}
			counter.maxInFlight.Store(0)
			counter.hold(int64(limit))
			defer counter.hold(0)
			var wg sync.WaitGroup
			for _, k := range keys {
				wg.Go(func() {
					if r := v.Verify(context.Background(), k, nil); !r.OK {
						t.Errorf("%s: %s %s", k, r.Reason, r.Detail)
					}
				})
			}
			wg.Wait()
			if got := counter.maxInFlight.Load(); got != int64(limit) {
				t.Fatalf("at most %d KMS requests in flight, want %d", got, limit)
			}
		})
	}
}

func withPair(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for kk, vv := range m {
		out[kk] = vv
	}
	out[k] = v
	return out
}

// edkOffset is the offset of the first wrapped data key's ciphertext.
func edkOffset(t *testing.T, msg []byte) int {
	t.Helper()
	h, err := ParseHeader(msg)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(msg), string(h.DataKeys[0].Ciphertext))
	if i < 0 {
		t.Fatal("data key ciphertext not found in the message")
	}
	return i
}
