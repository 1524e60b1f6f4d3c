package pipeline

import (
	"context"

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
