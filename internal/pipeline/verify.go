package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/keyverify"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// ErrNoVerifier is returned by VerifyKey when the pipeline has no key
// verifier.
var ErrNoVerifier = errors.New("no key verifier")

// VerifyKey proves a key works with a fresh envelope round trip (its cached
// verification is dropped first: the caller's schedule is the interval) and
// returns the findings of the rules that judge the round trip (custom.requires:
// key_verification); the rules decide the verdict, a round trip that could
// not be completed included. fileSystems are the ARNs of the file systems the
// caller found the key protecting. The input holds the key's ARN, those file
// systems and the outcome, nothing read from the store: the rules that judge
// a round trip need no more, and a key that no longer exists is verified
// (and fails) as well.
func (p *Pipeline) VerifyKey(ctx context.Context, keyARN string, fileSystems []string, source string) ([]finding.Finding, error) {
	if p.verifier == nil {
		return nil, ErrNoVerifier
	}
	ref := state.ResourceRef{Type: state.TypeKey, ARN: keyARN}
	in := &policy.Input{
		ResourceType: string(state.TypeKey), Resource: keyARN, Config: p.config,
		Key:         &policy.KeyInput{ARN: keyARN},
		FileSystems: make([]policy.FileSystemRef, 0, len(fileSystems)),
	}
	if a, ok := arns.Parse(keyARN); ok {
		in.Key.Account, in.Key.Region = a.AccountID, a.Region
		in.Key.ID = strings.TrimPrefix(a.Resource, "key/")
	}
	for _, fs := range fileSystems {
		r := policy.FileSystemRef{ARN: fs}
		if a, ok := arns.Parse(fs); ok {
			r.Account, r.Region, r.ID = a.AccountID, a.Region, strings.TrimPrefix(a.Resource, "file-system/")
		}
		in.FileSystems = append(in.FileSystems, r)
	}
	var ids []string
	for _, m := range p.engine.Rules() {
		if m.ResourceType == string(state.TypeKey) && m.Requires == policy.RequiresKeyVerification {
			ids = append(ids, m.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil // no rule judges a round trip: none is made
	}
	p.verifier.Invalidate(keyARN)
	p.verify(ctx, in, nil, fileSystems)
	// Only the rules that judge the round trip are evaluated: the input
	// holds nothing else for the others.
	results, err := p.engine.EvaluateRules(ctx, in, ids)
	if err != nil {
		p.log.ErrorContext(ctx, "evaluation failed", "resource_arn", keyARN, "error", err.Error())
		results = results[:0]
		for _, id := range ids {
			results = append(results, policy.Result{Rule: id, Status: finding.Error, Reason: err.Error()})
		}
	}
	out := make([]finding.Finding, 0, len(results))
	for _, r := range results {
		out = append(out, p.makeFinding(r, ref, nil, fileSystems, source))
	}
	return out, err
}

// KeyVerifier proves a key works with an envelope-encryption round trip;
// *keyverify.Verifier satisfies it.
type KeyVerifier interface {
	Verify(ctx context.Context, keyARN string, fileSystems []string) keyverify.Result
	Invalidate(keyARN string)
}

var _ KeyVerifier = (*keyverify.Verifier)(nil)

// breaksKey lists the key events after which a key may no longer work: each
// drops the key's cached verification and verifies it again.
var breaksKey = map[string]bool{
	cloudtrail.EventDisableKey: true, cloudtrail.EventEnableKey: true,
	cloudtrail.EventScheduleKeyDeletion: true, cloudtrail.EventCancelKeyDeletion: true,
	cloudtrail.EventPutKeyPolicy: true, cloudtrail.EventRevokeGrant: true, cloudtrail.EventRetireGrant: true,
	cloudtrail.EventImportKeyMaterial: true, cloudtrail.EventDeleteImportedKeyMaterial: true,
	cloudtrail.EventDeleteExpiredKeyMaterial: true, cloudtrail.EventDeleteKey: true,
	cloudtrail.EventConnectCustomKeyStore: true, cloudtrail.EventDisconnectCustomKeyStore: true,
}

// DefaultReverifyEvery is how often, at most, a key is verified again
// because of events that can break it, when Options.ReverifyEvery is 0.
const DefaultReverifyEvery = time.Minute

// reverifyThrottled reports whether key was re-verified after an event less
// than reverifyEvery ago (and how long ago); if not, it records now as the
// key's latest re-verification.
func (p *Pipeline) reverifyThrottled(key string) (time.Duration, bool) {
	if p.reverifyEvery <= 0 {
		return 0, false
	}
	now := p.now()
	if last, ok := p.reverified[key]; ok && now.Sub(last) < p.reverifyEvery {
		return now.Sub(last), true
	}
	if len(p.reverified) >= p.maxSeen {
		for k, at := range p.reverified {
			if now.Sub(at) >= p.reverifyEvery {
				delete(p.reverified, k)
			}
		}
	}
	p.reverified[key] = now
	return 0, false
}

// verify runs the round trip for a key that protects file systems, in a
// sweep (rec nil) or after an event that can break the key, and puts the
// outcome in the rule input. Other events leave it out: the rule then says
// no round trip was performed.
func (p *Pipeline) verify(ctx context.Context, in *policy.Input, rec *cloudtrail.Record, blast []string) {
	if p.verifier == nil || len(blast) == 0 {
		return
	}
	if rec != nil {
		if !breaksKey[rec.EventName] {
			return
		}
		if since, throttled := p.reverifyThrottled(in.Resource); throttled {
			// The cached result predates the event: no result is better
			// than a stale one. The next sweep or verify run checks again.
			in.Verification = &policy.VerificationInput{
				Reason: string(keyverify.ReasonThrottled),
				Detail: fmt.Sprintf("re-verification after %s throttled: the key was re-verified after an event %v ago, at most once every %v",
					rec.EventName, since.Round(time.Second), p.reverifyEvery),
			}
			return
		}
		p.verifier.Invalidate(in.Resource)
	}
	r := p.verifier.Verify(ctx, in.Resource, blast)
	if p.onVerify != nil {
		p.onVerify(r)
	}
	in.Verification = &policy.VerificationInput{
		Performed: r.Performed, OK: r.OK, Reason: string(r.Reason), Step: string(r.FailedStep),
		Detail: r.Detail, AlgorithmSuite: r.AlgorithmSuite,
	}
}
