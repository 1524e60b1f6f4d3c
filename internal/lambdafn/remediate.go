package lambdafn

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/remediation"
)

// Remediation actions a deployment may opt in to, by the names
// ATREST_REMEDIATE lists.
var remediationActions = []string{
	remediation.ActionEnableKeyRotation,
	remediation.ActionCancelKeyDeletion,
	remediation.ActionEnableKey,
	remediation.ActionRequireSecureTransport,
	remediation.ActionTagUnencrypted,
}

// actionOptions opts in the actions settings name, bounded to the monitor's
// own account and region. Every action not named is a dry run.
func actionOptions(s Settings) (remediation.ActionOptions, error) {
	opts := remediation.ActionOptions{}
	if s.Account != "" {
		opts.Accounts = []string{s.Account}
	}
	if s.Region != "" {
		opts.Regions = []string{s.Region}
	}
	for _, name := range s.Remediate {
		switch name {
		case remediation.ActionEnableKeyRotation:
			opts.EnableKeyRotation = true
		case remediation.ActionCancelKeyDeletion:
			opts.CancelKeyDeletion = true
		case remediation.ActionEnableKey:
			opts.EnableKey = true
		case remediation.ActionRequireSecureTransport:
			opts.RequireSecureTransport = true
		case remediation.ActionTagUnencrypted:
			opts.TagUnencrypted = true
		default:
			return opts, fmt.Errorf("%w: %s names %q, want some of %v", ErrSettings, EnvRemediate, name, remediationActions)
		}
	}
	return opts, nil
}

// Remediator is the remediate function's handler state.
type Remediator struct {
	Actions *remediation.Actions
	Log     *slog.Logger
}

// Remediate handles one "Atrest Finding" event from the findings bus. The
// event is trusted only as far as its sender is: it must have been put in
// the stack's account, be no older than the configured age and not have
// been handled before by this environment, and the action is the one its
// finding's rule maps to, never the one the event names; a refused event is
// reported as a refused outcome and touches nothing. An admitted finding's
// action runs, or is only reported when it is not opted in (a dry run). An
// event that is not a finding is logged and dropped, never retried. The
// error is non-nil when an AWS call failed, so Lambda retries the event
// (every action re-reads the live resource first and is idempotent) and
// then sends it to the dead-letter queue.
func (r *Remediator) Remediate(ctx context.Context, event events.CloudWatchEvent) error {
	ctx, cancel := handlerContext(ctx)
	defer cancel()
	if event.Source != findingsbus.EventSource || event.DetailType != findingsbus.DetailTypeFinding {
		r.Log.WarnContext(ctx, "not a finding event, dropped", "event_id", event.ID, "source", event.Source, "detail_type", event.DetailType)
		return nil
	}
	var d findingsbus.FindingDetail
	if err := json.Unmarshal(event.Detail, &d); err != nil {
		// Delivering it again cannot help.
		r.Log.WarnContext(ctx, "finding event dropped: detail is not a finding", "event_id", event.ID, "error", err.Error())
		return nil
	}
	del := remediation.Delivery{ID: event.ID, Account: event.AccountID, Time: event.Time}
	out, err := r.Actions.HandleDelivery(ctx, del, d)
	if err != nil {
		return fmt.Errorf("remediate %s (%s): %w", out.Resource, out.Action, err)
	}
	return nil
}
