package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/atrest/atrest/internal/cloudtrail"
	"github.com/atrest/atrest/internal/envelope"
	"github.com/atrest/atrest/internal/policy"
)

// KeyVerifier proves a key works with an envelope-encryption round trip;
// *envelope.Verifier satisfies it.
type KeyVerifier interface {
	Verify(ctx context.Context, keyARN string, fileSystems []string) envelope.Result
	Invalidate(keyARN string)
}

var _ KeyVerifier = (*envelope.Verifier)(nil)

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
				Reason: string(envelope.ReasonThrottled),
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
