// Package keyverify proves that a KMS key protecting EFS really works, by an
// envelope-encryption round trip with the AWS Encryption SDK: a fresh random
// canary is encrypted under an AWS KMS keyring on the key (KMS
// GenerateDataKey), the encrypted message's header is checked (algorithm
// suite, exactly one data key wrapped by exactly that key, encryption
// context), the message is decrypted with the same keyring (KMS Decrypt) and
// the canary compared in constant time.
//
// Algorithm suite: AES_256_GCM_HKDF_SHA512_COMMIT_KEY (0x0478) by default,
// under the REQUIRE_ENCRYPT_REQUIRE_DECRYPT commitment policy. The verifier
// both encrypts and decrypts, in one process, so the ECDSA P-384 signature of
// 0x0578 would guard against no one and only adds a signing key pair per
// call; WithSigningSuite selects 0x0578 for those who want the default suite
// of the ESDK exercised.
//
// Cost: a verification is three KMS requests (DescribeKey, GenerateDataKey,
// Decrypt). Each key is verified at most once per interval (results are
// cached by key, with an injectable clock), concurrent verifications are
// bounded, and KMS throttling is retried by the SDK's retryer. The ESDK part
// of verifications (GenerateDataKey, Decrypt and the local cryptography) runs
// one at a time: the ESDK's runtime is not safe for concurrent use.
//
// Secrets: the canary and the decrypted copy live only in buffers this
// package clears after use, and neither they nor the data key are logged or
// kept. The data key never reaches this package: the ESDK holds it.
// Copies the ESDK's runtime makes internally cannot be cleared from here;
// they are garbage.
package keyverify

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	mpl "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygenerated"
	mpltypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/mpl/awscryptographymaterialproviderssmithygeneratedtypes"
	primtypes "github.com/aws/aws-cryptographic-material-providers-library/releases/go/primitives/awscryptographyprimitivessmithygeneratedtypes"
	esdk "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygenerated"
	esdktypes "github.com/aws/aws-encryption-sdk/releases/go/encryption-sdk/awscryptographyencryptionsdksmithygeneratedtypes"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"github.com/atrest/atrest/internal/arns"
)

// Encryption context of a verification message. KMS sees it on
// GenerateDataKey and Decrypt, so a key policy can let the verifier use the
// key only for verification (kms:EncryptionContext:atrest-purpose).
const (
	ContextPurposeKey   = "atrest-purpose"
	ContextPurpose      = "key-verification"
	ContextKeyARN       = "atrest-key-arn"
	ContextFileSystems  = "atrest-file-systems"
	ContextNonce        = "atrest-nonce"
	contextNoFileSystem = "none"
	// contextPublicKey is the entry the ESDK adds for a signing suite.
	contextPublicKey = "aws-crypto-public-key"
)

// Defaults.
const (
	DefaultInterval    = time.Hour
	DefaultConcurrency = 4
	canaryLen          = 32
	nonceLen           = 16
)

// Option configures a Verifier.
type Option func(*options)

type options struct {
	interval    time.Duration
	concurrency int
	clock       func() time.Time
	suite       uint16
	maxAttempts int
	kmsOptions  []func(*kms.Options)
}

// WithInterval sets how long a key's result is reused before the key is
// verified again (default one hour; 0 verifies on every call).
func WithInterval(d time.Duration) Option { return func(o *options) { o.interval = max(d, 0) } }

// WithConcurrency bounds the verifications in flight at once (default 4).
func WithConcurrency(n int) Option { return func(o *options) { o.concurrency = max(n, 1) } }

// WithClock replaces time.Now for the interval cache and CheckedAt.
func WithClock(now func() time.Time) Option { return func(o *options) { o.clock = now } }

// WithSigningSuite selects AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384
// (0x0578) instead of the non-signing committing suite.
func WithSigningSuite() Option { return func(o *options) { o.suite = SuiteCommitKeyECDSAP384 } }

// WithMaxAttempts sets the SDK retryer's attempts per KMS request (throttling
// and transient errors are retried; default: the aws.Config's, 3 when unset).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithKMSOptions adds options to the KMS client the keyring uses.
func WithKMSOptions(fns ...func(*kms.Options)) Option {
	return func(o *options) { o.kmsOptions = append(o.kmsOptions, fns...) }
}

// Verifier verifies keys. It is safe for concurrent use.
type Verifier struct {
	cfg  aws.Config
	opts options
	esdk *esdk.Client
	mpl  *mpl.Client
	sem  chan struct{}
	// sdkMu serializes calls into the ESDK and the MPL: their Dafny runtime
	// (DafnyRuntimeGo v4.11.3) writes shared string sequences on every
	// keyring construction, OnEncrypt and OnDecrypt, a data race under
	// concurrent use (go test -race). Describe steps still run concurrently.
	sdkMu sync.Mutex

	mu    sync.Mutex
	cache map[string]*entry
}

// entry is one key's latest verification; done is closed once res is set.
type entry struct {
	done chan struct{}
	res  Result
}

// New builds a Verifier whose KMS clients come from cfg (region,
// credentials, endpoint, retryer).
func New(cfg aws.Config, opts ...Option) (*Verifier, error) {
	o := options{interval: DefaultInterval, concurrency: DefaultConcurrency, clock: time.Now, suite: SuiteCommitKey}
	for _, opt := range opts {
		opt(&o)
	}
	policy := mpltypes.ESDKCommitmentPolicyRequireEncryptRequireDecrypt
	oneKey := int64(1)
	sdk, err := esdk.NewClient(esdktypes.AwsEncryptionSdkConfig{CommitmentPolicy: &policy, MaxEncryptedDataKeys: &oneKey})
	if err != nil {
		return nil, fmt.Errorf("encryption sdk client: %w", err)
	}
	materials, err := mpl.NewClient(mpltypes.MaterialProvidersConfig{})
	if err != nil {
		return nil, fmt.Errorf("material providers client: %w", err)
	}
	return &Verifier{
		cfg: cfg, opts: o, esdk: sdk, mpl: materials,
		sem:   make(chan struct{}, o.concurrency),
		cache: map[string]*entry{},
	}, nil
}

// Suite is the algorithm suite id the verifier encrypts with, e.g. "0x0478".
func (v *Verifier) Suite() string { return suiteName(v.opts.suite) }

// Verify verifies the key named by keyARN (an ARN; a key id or alias also
// works where DescribeKey resolves it), naming fileSystems (ARNs or ids) in
// the encryption context. Within the interval a key's earlier result is
// returned with Cached set and no KMS request; concurrent calls for the same
// key share one verification.
func (v *Verifier) Verify(ctx context.Context, keyARN string, fileSystems []string) Result {
	for {
		v.mu.Lock()
		e, ok := v.cache[keyARN]
		if ok {
			select {
			case <-e.done:
				if v.opts.interval > 0 && v.opts.clock().Sub(e.res.CheckedAt) < v.opts.interval {
					res := e.res
					res.Steps = slices.Clone(res.Steps)
					res.FileSystems = slices.Clone(res.FileSystems)
					res.Cached = true
					v.mu.Unlock()
					return res
				}
			default:
				v.mu.Unlock()
				select {
				case <-e.done:
					continue
				case <-ctx.Done():
					return canceled(keyARN, v, ctx.Err())
				}
			}
		}
		e = &entry{done: make(chan struct{})}
		v.cache[keyARN] = e
		v.mu.Unlock()

		res := v.verifyNow(ctx, keyARN, fileSystems)
		v.mu.Lock()
		e.res = res
		if res.Reason == ReasonCanceled && v.cache[keyARN] == e {
			delete(v.cache, keyARN) // nothing was learned; the next call tries again
		}
		close(e.done)
		v.mu.Unlock()
		return res
	}
}

// Invalidate drops a key's cached result, so the next Verify calls KMS (for
// a change to the key, such as EnableKey, seen in CloudTrail).
func (v *Verifier) Invalidate(keyARN string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if e, ok := v.cache[keyARN]; ok {
		select {
		case <-e.done:
			delete(v.cache, keyARN)
		default: // in flight: its result is fresh
		}
	}
}

func canceled(key string, v *Verifier, err error) Result {
	return Result{
		Key: key, AlgorithmSuite: v.Suite(), Reason: ReasonCanceled, Detail: err.Error(),
		Steps: []StepResult{}, CheckedAt: v.opts.clock(),
	}
}

// verifyNow runs one verification under the concurrency bound.
func (v *Verifier) verifyNow(ctx context.Context, keyID string, fileSystems []string) Result {
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return canceled(keyID, v, ctx.Err())
	}
	defer func() { <-v.sem }()
	r := &run{v: v, res: Result{
		Key: keyID, FileSystems: sortedUnique(fileSystems), AlgorithmSuite: v.Suite(),
		Steps: []StepResult{}, CheckedAt: v.opts.clock(),
	}}
	start := time.Now()
	r.verify(ctx)
	r.res.Duration = time.Since(start)
	r.res.Performed = r.res.OK || r.res.Reason.Conclusive()
	return r.res
}

// run is one verification in progress.
type run struct {
	v   *Verifier
	res Result
}

func (r *run) pass(step Step, began time.Time, detail string) {
	r.res.Steps = append(r.res.Steps, StepResult{Step: step, OK: true, Duration: time.Since(began), Detail: detail})
}

func (r *run) fail(step Step, began time.Time, reason Reason, detail string) {
	r.res.Steps = append(r.res.Steps, StepResult{Step: step, Duration: time.Since(began), Detail: detail})
	r.res.OK, r.res.Reason, r.res.FailedStep, r.res.Detail = false, reason, step, detail
}

// kmsFailure classifies an error from a step that called KMS.
func (r *run) kmsFailure(step Step, began time.Time, err error) {
	reason := classifyKMS(err, r.res.KeyState)
	if reason == ReasonNone {
		reason = ReasonError
	}
	r.fail(step, began, reason, errorDetail(err))
}

func (r *run) verify(ctx context.Context) {
	client := r.v.kmsClient(ctx)

	began := time.Now()
	out, err := client.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(r.res.Key)})
	if err != nil {
		r.kmsFailure(StepDescribe, began, err)
		return
	}
	md := out.KeyMetadata
	if md == nil || aws.ToString(md.Arn) == "" {
		r.fail(StepDescribe, began, ReasonError, "DescribeKey returned no key metadata")
		return
	}
	r.res.KeyARN = aws.ToString(md.Arn)
	r.res.KeyState, r.res.KeySpec, r.res.KeyUsage = string(md.KeyState), string(md.KeySpec), string(md.KeyUsage)
	described := fmt.Sprintf("key state %s, spec %s, usage %s", md.KeyState, md.KeySpec, md.KeyUsage)
	if md.KeySpec != types.KeySpecSymmetricDefault || md.KeyUsage != types.KeyUsageTypeEncryptDecrypt {
		// KMS would answer InvalidKeyUsageException; no need to spend a request.
		r.fail(StepDescribe, began, ReasonInvalidKeyUsage,
			described+": envelope encryption (and EFS) needs a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key")
		return
	}
	r.pass(StepDescribe, began, described)
	if err := ctx.Err(); err != nil {
		r.fail(StepEncrypt, time.Now(), ReasonCanceled, err.Error())
		return
	}

	began = time.Now()
	keyring, err := r.v.keyring(ctx, client, r.res.KeyARN)
	if err != nil {
		r.kmsFailure(StepEncrypt, began, err)
		return
	}
	nonce := make([]byte, nonceLen)
	canary := make([]byte, canaryLen)
	defer clear(canary)
	if _, err := rand.Read(nonce); err != nil {
		r.fail(StepEncrypt, began, ReasonError, "random nonce: "+err.Error())
		return
	}
	if _, err := rand.Read(canary); err != nil {
		r.fail(StepEncrypt, began, ReasonError, "random canary: "+err.Error())
		return
	}
	ec := encryptionContext(r.res.KeyARN, fileSystemIDs(r.res.FileSystems), hex.EncodeToString(nonce))
	msg, suite, err := r.v.encrypt(ctx, keyring, canary, ec)
	if err != nil {
		r.kmsFailure(StepEncrypt, began, err)
		return
	}
	if suite != r.v.opts.suite {
		r.fail(StepEncrypt, began, ReasonWrongAlgorithm, fmt.Sprintf("encrypted with suite %s, want %s", suiteName(suite), r.v.Suite()))
		return
	}
	r.pass(StepEncrypt, began, fmt.Sprintf("suite %s, %d-byte message", suiteName(suite), len(msg)))

	began = time.Now()
	if reason, detail := r.v.inspect(msg, r.res.KeyARN, ec); reason != ReasonNone {
		r.fail(StepInspect, began, reason, detail)
		return
	}
	r.pass(StepInspect, began, "one data key wrapped by the key (aws-kms), encryption context intact")
	if err := ctx.Err(); err != nil {
		r.fail(StepDecrypt, time.Now(), ReasonCanceled, err.Error())
		return
	}

	began = time.Now()
	plain, reason, detail := r.v.decrypt(ctx, keyring, msg, r.res.KeyARN, ec, r.res.KeyState)
	defer clear(plain)
	if reason != ReasonNone {
		r.fail(StepDecrypt, began, reason, detail)
		return
	}
	r.pass(StepDecrypt, began, "data key unwrapped by the key, message authenticated")

	began = time.Now()
	if len(plain) != len(canary) || subtle.ConstantTimeCompare(plain, canary) != 1 {
		r.fail(StepCompare, began, ReasonTampered, "decrypted canary differs from the original")
		return
	}
	r.pass(StepCompare, began, fmt.Sprintf("%d-byte canary identical", canaryLen))
	r.res.OK = true
}

// kmsClient builds the KMS client one verification uses. The keyring calls
// KMS with context.Background(), so the client's HTTP requests are tied to
// ctx here instead: a canceled verification stops its KMS requests.
func (v *Verifier) kmsClient(ctx context.Context) *kms.Client {
	opts := slices.Clone(v.opts.kmsOptions)
	opts = append(opts, func(o *kms.Options) {
		if v.opts.maxAttempts > 0 {
			o.RetryMaxAttempts = v.opts.maxAttempts
		}
		o.HTTPClient = boundClient{ctx: ctx, base: o.HTTPClient}
	})
	return kms.NewFromConfig(v.cfg, opts...)
}

func (v *Verifier) keyring(ctx context.Context, client *kms.Client, keyARN string) (mpltypes.IKeyring, error) {
	v.sdkMu.Lock()
	defer v.sdkMu.Unlock()
	return v.mpl.CreateAwsKmsKeyring(ctx, mpltypes.CreateAwsKmsKeyringInput{KmsClient: client, KmsKeyId: keyARN})
}

// encrypt encrypts plaintext under keyring with the verifier's suite and
// returns the message and the suite the ESDK reports.
func (v *Verifier) encrypt(ctx context.Context, keyring mpltypes.IKeyring, plaintext []byte, ec map[string]string) ([]byte, uint16, error) {
	suite := mpltypes.ESDKAlgorithmSuiteId(suiteName(v.opts.suite))
	v.sdkMu.Lock()
	defer v.sdkMu.Unlock()
	out, err := v.esdk.Encrypt(ctx, esdktypes.EncryptInput{
		Plaintext: plaintext, AlgorithmSuiteId: &suite, EncryptionContext: ec, Keyring: keyring,
	})
	if err != nil {
		return nil, 0, err
	}
	return out.Ciphertext, parseSuite(string(out.AlgorithmSuiteId)), nil
}

// inspect checks the header of a message the verifier encrypted for keyARN
// with context ec.
func (v *Verifier) inspect(msg []byte, keyARN string, ec map[string]string) (Reason, string) {
	if len(msg) >= 3 && (msg[0] != 2 || uint16(msg[1])<<8|uint16(msg[2]) != v.opts.suite) {
		return ReasonWrongAlgorithm, fmt.Sprintf("message format %d, suite 0x%02X%02X; want format 2, suite %s", msg[0], msg[1], msg[2], v.Suite())
	}
	h, err := ParseHeader(msg)
	if err != nil {
		return ReasonTampered, err.Error()
	}
	if len(h.DataKeys) != 1 {
		return ReasonWrongKey, fmt.Sprintf("message has %d encrypted data keys, want exactly 1", len(h.DataKeys))
	}
	dk := h.DataKeys[0]
	if dk.ProviderID != ProviderIDKMS {
		return ReasonWrongKey, fmt.Sprintf("data key provider id %q, want %q", dk.ProviderID, ProviderIDKMS)
	}
	if dk.ProviderInfo != keyARN {
		return ReasonWrongKey, fmt.Sprintf("data key wrapped by %s, not by %s", dk.ProviderInfo, keyARN)
	}
	if diff := contextDiff(h.Context, ec, v.opts.suite == SuiteCommitKeyECDSAP384); diff != "" {
		return ReasonContextMismatch, "message header: " + diff
	}
	return ReasonNone, ""
}

// decrypt decrypts msg with keyring, requiring the context ec, and
// classifies a failure. The caller clears the returned plaintext.
func (v *Verifier) decrypt(ctx context.Context, keyring mpltypes.IKeyring, msg []byte, keyARN string, ec map[string]string, keyState string) ([]byte, Reason, string) {
	v.sdkMu.Lock()
	out, err := v.esdk.Decrypt(ctx, esdktypes.DecryptInput{Ciphertext: msg, EncryptionContext: ec, Keyring: keyring})
	v.sdkMu.Unlock()
	if err != nil {
		return nil, v.decryptReason(err, msg, keyARN, ec, keyState), errorDetail(err)
	}
	if s := parseSuite(string(out.AlgorithmSuiteId)); s != v.opts.suite {
		clear(out.Plaintext)
		return nil, ReasonWrongAlgorithm, fmt.Sprintf("decrypted with suite %s, want %s", suiteName(s), v.Suite())
	}
	if diff := contextDiff(out.EncryptionContext, ec, v.opts.suite == SuiteCommitKeyECDSAP384); diff != "" {
		clear(out.Plaintext)
		return nil, ReasonContextMismatch, "decrypted message: " + diff
	}
	return out.Plaintext, ReasonNone, ""
}

// decryptReason classifies a failed decryption: by the KMS error when KMS
// answered, otherwise by what the message itself shows. The ESDK raises its
// own errors (no data key for this keyring, a context that does not match,
// a failed authentication) without a type to tell them apart, so the header
// is read again here: no data key for the key is a wrong key, a context that
// lacks a required pair a mismatch, and anything else a message that does
// not authenticate.
func (v *Verifier) decryptReason(err error, msg []byte, keyARN string, ec map[string]string, keyState string) Reason {
	if reason := classifyKMS(err, keyState); reason != ReasonNone {
		return reason
	}
	if _, ok := findAs[*smithy.OperationError](err); ok {
		return ReasonError // KMS was called and failed for a reason of its own
	}
	h, perr := ParseHeader(msg)
	if perr != nil {
		return ReasonTampered
	}
	if !slices.ContainsFunc(h.DataKeys, func(dk DataKey) bool {
		return dk.ProviderID == ProviderIDKMS && dk.ProviderInfo == keyARN
	}) {
		return ReasonWrongKey
	}
	for k, want := range ec {
		if got, ok := h.Context[k]; !ok || got != want {
			return ReasonContextMismatch
		}
	}
	return ReasonTampered
}

// contextDiff says how got differs from want ("" when it does not). A
// signing suite adds aws-crypto-public-key, which is allowed then only.
func contextDiff(got, want map[string]string, signing bool) string {
	for _, k := range sortedKeys(want) {
		g, ok := got[k]
		if !ok {
			return fmt.Sprintf("encryption context lacks %q", k)
		}
		if g != want[k] {
			return fmt.Sprintf("encryption context %q is %q, want %q", k, g, want[k])
		}
	}
	for _, k := range sortedKeys(got) {
		if _, ok := want[k]; ok || (signing && k == contextPublicKey) {
			continue
		}
		return fmt.Sprintf("encryption context has unexpected %q", k)
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// encryptionContext names the purpose, the key, the file systems it protects
// and a fresh nonce.
func encryptionContext(keyARN string, fileSystems []string, nonce string) map[string]string {
	fs := strings.Join(fileSystems, ",")
	if fs == "" {
		fs = contextNoFileSystem
	}
	return map[string]string{
		ContextPurposeKey:  ContextPurpose,
		ContextKeyARN:      keyARN,
		ContextFileSystems: fs,
		ContextNonce:       nonce,
	}
}

// fileSystemIDs reduces file-system ARNs to their ids (fs-...), sorted and
// unique, to keep the encryption context short.
func fileSystemIDs(fileSystems []string) []string {
	out := make([]string, 0, len(fileSystems))
	for _, f := range fileSystems {
		if f = strings.TrimSpace(f); arns.IsARNOf(f, arns.ServiceEFS, arns.FileSystemPrefix) {
			f = arns.ResourceID(f)
		}
		if f != "" {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func sortedUnique(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

func suiteName(s uint16) string { return fmt.Sprintf("0x%04X", s) }

func parseSuite(s string) uint16 {
	var n uint16
	if _, err := fmt.Sscanf(strings.ToLower(s), "0x%x", &n); err != nil {
		return 0
	}
	return n
}

// errorDetail is an error's text, one line, bounded: the KMS error code and
// message when KMS answered, else the message of the innermost Encryption
// SDK or Material Providers exception.
func errorDetail(err error) string {
	s := err.Error()
	if api, ok := findAs[smithy.APIError](err); ok {
		s = api.ErrorCode() + ": " + api.ErrorMessage()
	} else {
		for _, e := range causes(err) {
			switch x := e.(type) {
			case esdktypes.AwsEncryptionSdkException:
				s = x.Message
			case mpltypes.AwsCryptographicMaterialProvidersException:
				s = x.Message
			case primtypes.AwsCryptographicPrimitivesError:
				s = x.Message
			}
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// boundClient ties each HTTP request to ctx.
type boundClient struct {
	ctx  context.Context
	base aws.HTTPClient
}

func (c boundClient) Do(req *http.Request) (*http.Response, error) {
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	rctx, cancel := context.WithCancelCause(req.Context())
	stop := context.AfterFunc(c.ctx, func() { cancel(context.Cause(c.ctx)) })
	resp, err := c.base.Do(req.WithContext(rctx))
	if err != nil {
		stop()
		cancel(nil)
		if cerr := c.ctx.Err(); cerr != nil {
			return nil, errors.Join(err, cerr)
		}
		return nil, err
	}
	resp.Body = &releasingBody{ReadCloser: resp.Body, release: func() { stop(); cancel(nil) }}
	return resp, nil
}

type releasingBody struct {
	io.ReadCloser
	release func()
	once    sync.Once
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}
