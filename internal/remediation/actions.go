// Package remediation carries out the remediation that findings events
// suggest: Actions consumes the detail of an "Atrest Finding" event
// (findingsbus.FindingDetail) that a Guard admitted and, only where an
// option opts in, changes the resource; it reports what it did as an
// "Atrest Remediation" event (findingsbus.Outcome) through a publisher.
package remediation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/findingsbus"
	"github.com/atrest/atrest/internal/policy"
)

// Remediation actions, as named in a finding event's remediation block.
const (
	// ActionEnableKeyRotation turns on automatic rotation of a customer
	// managed key. IAM: kms:DescribeKey, kms:GetKeyRotationStatus,
	// kms:EnableKeyRotation.
	ActionEnableKeyRotation = "enable_key_rotation"
	// ActionCancelKeyDeletion cancels the scheduled deletion of a key that
	// protects a live file system, unless a tag marks the key as disabled
	// on purpose; the key stays Disabled unless ActionEnableKey is opted in
	// too. IAM: kms:DescribeKey, kms:ListResourceTags,
	// elasticfilesystem:DescribeFileSystems, kms:CancelKeyDeletion, and
	// kms:EnableKey with ActionEnableKey.
	ActionCancelKeyDeletion = "cancel_key_deletion"
	// ActionEnableKey re-enables a disabled key that protects a live file
	// system, unless a tag marks the disable as intended. IAM:
	// kms:DescribeKey, kms:ListResourceTags, kms:EnableKey,
	// elasticfilesystem:DescribeFileSystems.
	ActionEnableKey = "enable_key"
	// ActionRestoreKey makes a key that protects a live file system usable
	// again, by its live state: a key pending deletion is handled as
	// ActionCancelKeyDeletion, a disabled key as ActionEnableKey (each
	// with its own opt-in). IAM: the union of the two.
	ActionRestoreKey = "restore_key_availability"
	// ActionRequireSecureTransport merges a statement denying access
	// without TLS into a file system's policy. IAM:
	// elasticfilesystem:DescribeFileSystems,
	// elasticfilesystem:DescribeFileSystemPolicy,
	// elasticfilesystem:PutFileSystemPolicy.
	ActionRequireSecureTransport = "require_secure_transport"
	// ActionTagUnencrypted tags an unencrypted file system
	// atrest:noncompliant=efs_encrypted_at_rest (encryption at rest cannot
	// be turned on for an existing file system). IAM:
	// elasticfilesystem:DescribeFileSystems, elasticfilesystem:TagResource.
	ActionTagUnencrypted = "tag_unencrypted_file_system"
)

// Tag atrest puts on an unencrypted file system.
const (
	NonCompliantTagKey   = "atrest:noncompliant"
	NonCompliantTagValue = "efs_encrypted_at_rest"
)

// DefaultIntendedDisableTagKey is the key tag whose presence marks a
// disabled key as disabled on purpose.
const DefaultIntendedDisableTagKey = "atrest:intended-disable"

// actions lists every action Actions carries out.
var actions = []string{
	ActionEnableKeyRotation, ActionCancelKeyDeletion, ActionEnableKey,
	ActionRestoreKey, ActionRequireSecureTransport, ActionTagUnencrypted,
}

// DefaultRuleActions maps the rule ids atrest ships to the action that
// remediates them, as each rule's METADATA names it in
// custom.remediation_action (policy.RuleMeta.RemediationAction). A rule
// naming no action, or one Actions does not carry out, is left out, and so
// is every rule when the embedded rules cannot be read: its findings then
// get no automated action.
func DefaultRuleActions() map[string]string {
	m := map[string]string{}
	metas, err := policy.Metadata()
	if err != nil {
		return m
	}
	for _, meta := range metas {
		if slices.Contains(actions, meta.RemediationAction) {
			m[meta.ID] = meta.RemediationAction
		}
	}
	return m
}

// Results of an action.
const (
	// ResultApplied: the action changed the resource.
	ResultApplied = "applied"
	// ResultDryRun: the action is not opted in; Calls lists what it would
	// have done.
	ResultDryRun = "dry_run"
	// ResultAlreadyCompliant: the live resource is already as the action
	// would leave it.
	ResultAlreadyCompliant = "already_compliant"
	// ResultSkipped: the action does not apply to the resource as it now
	// stands (Reason says why).
	ResultSkipped = "skipped"
	// ResultRefused: the resource is outside the configured accounts or
	// regions, or the event is not one the actions take.
	ResultRefused = "refused"
	// ResultFailed: a call failed; the error is returned too.
	ResultFailed = "failed"
)

// KMSAPI is the part of KMS the actions call.
type KMSAPI interface {
	DescribeKey(ctx context.Context, in *kms.DescribeKeyInput, optFns ...func(*kms.Options)) (*kms.DescribeKeyOutput, error)
	GetKeyRotationStatus(ctx context.Context, in *kms.GetKeyRotationStatusInput, optFns ...func(*kms.Options)) (*kms.GetKeyRotationStatusOutput, error)
	EnableKeyRotation(ctx context.Context, in *kms.EnableKeyRotationInput, optFns ...func(*kms.Options)) (*kms.EnableKeyRotationOutput, error)
	CancelKeyDeletion(ctx context.Context, in *kms.CancelKeyDeletionInput, optFns ...func(*kms.Options)) (*kms.CancelKeyDeletionOutput, error)
	EnableKey(ctx context.Context, in *kms.EnableKeyInput, optFns ...func(*kms.Options)) (*kms.EnableKeyOutput, error)
	ListResourceTags(ctx context.Context, in *kms.ListResourceTagsInput, optFns ...func(*kms.Options)) (*kms.ListResourceTagsOutput, error)
}

// EFSAPI is the part of EFS the actions call.
type EFSAPI interface {
	DescribeFileSystems(ctx context.Context, in *efs.DescribeFileSystemsInput, optFns ...func(*efs.Options)) (*efs.DescribeFileSystemsOutput, error)
	DescribeFileSystemPolicy(ctx context.Context, in *efs.DescribeFileSystemPolicyInput, optFns ...func(*efs.Options)) (*efs.DescribeFileSystemPolicyOutput, error)
	PutFileSystemPolicy(ctx context.Context, in *efs.PutFileSystemPolicyInput, optFns ...func(*efs.Options)) (*efs.PutFileSystemPolicyOutput, error)
	TagResource(ctx context.Context, in *efs.TagResourceInput, optFns ...func(*efs.Options)) (*efs.TagResourceOutput, error)
}

// OutcomePublisher delivers outcomes; *findingsbus.Publisher satisfies it.
type OutcomePublisher interface {
	PublishOutcomes(ctx context.Context, outs ...findingsbus.Outcome) error
}

var _ OutcomePublisher = (*findingsbus.Publisher)(nil)

// ActionOptions opt actions in and bound where they may act. The zero
// value is a dry run of every action that refuses every resource.
type ActionOptions struct {
	// Accounts and Regions are the only accounts and regions actions touch;
	// a resource elsewhere is refused. The KMS and EFS clients must be for
	// that account and region.
	Accounts []string
	Regions  []string

	EnableKeyRotation bool
	// RotationPeriodDays is the rotation period to set (90 to 2560); 0
	// leaves KMS's default (365).
	RotationPeriodDays int32
	CancelKeyDeletion  bool
	EnableKey          bool
	// IntendedDisableTagKey names the key tag that marks a disable as
	// intended; DefaultIntendedDisableTagKey when "".
	IntendedDisableTagKey  string
	RequireSecureTransport bool
	TagUnencrypted         bool
}

// Actions carries out the remediation a finding event suggests. Every
// action re-reads the live resource first and is idempotent; without its
// opt-in it only logs and reports what it would do.
//
// IAM actions needed, by action (reads are needed for a dry run too):
//
//	enable_key_rotation          kms:DescribeKey, kms:GetKeyRotationStatus, kms:EnableKeyRotation
//	cancel_key_deletion          kms:DescribeKey, kms:ListResourceTags, elasticfilesystem:DescribeFileSystems, kms:CancelKeyDeletion (kms:EnableKey when enable_key is opted in)
//	restore_key_availability     the union of cancel_key_deletion and enable_key
//	enable_key                   kms:DescribeKey, kms:ListResourceTags, elasticfilesystem:DescribeFileSystems, kms:EnableKey
//	require_secure_transport     elasticfilesystem:DescribeFileSystems, elasticfilesystem:DescribeFileSystemPolicy, elasticfilesystem:PutFileSystemPolicy
//	tag_unencrypted_file_system  elasticfilesystem:DescribeFileSystems, elasticfilesystem:TagResource
//
// plus events:PutEvents on the bus when Publisher is set.
type Actions struct {
	KMS KMSAPI
	EFS EFSAPI
	// Publisher, when set, receives every outcome.
	Publisher OutcomePublisher
	Options   ActionOptions
	// RuleActions maps rule ids to the action that remediates them;
	// DefaultRuleActions when nil. The action always comes from here: an
	// event whose remediation block names another is refused.
	RuleActions map[string]string
	// Guard admits the events HandleDelivery acts on; HandleDelivery
	// refuses every event when it is nil.
	Guard  *Guard
	Logger *slog.Logger
	Now    func() time.Time
}

// HandleDelivery runs the action for the finding of one event that came
// from the findings bus, once Guard has admitted the event (the stack's
// account, not stale, not a replay); a refused event is reported as a
// ResultRefused outcome and no AWS call is made. An event whose action
// failed is forgotten by the Guard, so its redelivery is handled.
func (a *Actions) HandleDelivery(ctx context.Context, del Delivery, d findingsbus.FindingDetail) (findingsbus.Outcome, error) {
	reason := "no guard is configured: no event is trusted"
	if a.Guard != nil {
		reason = a.Guard.Admit(del)
	}
	if reason != "" {
		out := a.outcome(d)
		out.Result, out.Reason = ResultRefused, reason
		return a.report(ctx, out, nil)
	}
	out, err := a.Handle(ctx, d)
	if err != nil {
		a.Guard.Forget(del.ID)
	}
	return out, err
}

// Handle runs the action for one finding and publishes its outcome. It
// trusts the finding's origin: callers that take findings from a bus use
// HandleDelivery.
func (a *Actions) Handle(ctx context.Context, d findingsbus.FindingDetail) (findingsbus.Outcome, error) {
	out, err := a.run(ctx, d)
	return a.report(ctx, out, err)
}

// report stamps, logs and publishes an outcome.
func (a *Actions) report(ctx context.Context, out findingsbus.Outcome, err error) (findingsbus.Outcome, error) {
	if a.Now != nil {
		out.Time = a.Now()
	} else {
		out.Time = time.Now()
	}
	if err != nil {
		out.Result = ResultFailed
		if out.Reason == "" {
			out.Reason = err.Error()
		}
	}
	a.logger().LogAttrs(ctx, slog.LevelInfo, "remediation",
		slog.String("finding_id", out.FindingID), slog.String("rule_id", out.Rule),
		slog.String("resource_arn", out.Resource), slog.String("action", out.Action),
		slog.String("result", out.Result), slog.String("reason", out.Reason),
		slog.Any("calls", out.Calls))
	if a.Publisher != nil {
		if perr := a.Publisher.PublishOutcomes(ctx, out); perr != nil {
			err = errors.Join(err, perr)
		}
	}
	return out, err
}

func (a *Actions) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// outcome starts the outcome of a finding: the action is the one its rule
// maps to, whatever the event says.
func (a *Actions) outcome(d findingsbus.FindingDetail) findingsbus.Outcome {
	f := d.Finding
	rules := a.RuleActions
	if rules == nil {
		rules = DefaultRuleActions()
	}
	out := findingsbus.Outcome{FindingID: f.ID, Rule: f.Rule, Resource: f.Resource, Account: f.Account, Region: f.Region, Action: rules[f.Rule]}
	if out.FindingID == "" {
		out.FindingID = finding.StableID(f.Rule, f.Resource, f.EventID)
	}
	if arn, ok := arns.Parse(f.Resource); ok {
		out.Account, out.Region = arn.AccountID, arn.Region
	}
	return out
}

// run carries out the action of a finding's rule. Each action re-reads the
// live resource and changes it only when the live state still fails the
// rule's condition that the action restores.
func (a *Actions) run(ctx context.Context, d findingsbus.FindingDetail) (findingsbus.Outcome, error) {
	f := d.Finding
	out := a.outcome(d)
	switch claimed := d.Remediation.Action; {
	case claimed != "" && claimed != out.Action:
		return skip(out, ResultRefused, fmt.Sprintf("event names action %q, but rule %q is remediated by %q", claimed, f.Rule, out.Action))
	case f.Status != finding.NonCompliant:
		return skip(out, ResultSkipped, "finding is "+string(f.Status))
	case out.Action == "":
		return skip(out, ResultSkipped, "no automated action for rule "+f.Rule)
	case !slices.Contains(a.Options.Accounts, out.Account):
		return skip(out, ResultRefused, fmt.Sprintf("account %q is not among the configured accounts", out.Account))
	case !slices.Contains(a.Options.Regions, out.Region):
		return skip(out, ResultRefused, fmt.Sprintf("region %q is not among the configured regions", out.Region))
	}
	switch out.Action {
	case ActionEnableKeyRotation:
		return a.enableKeyRotation(ctx, out)
	case ActionRestoreKey:
		return a.restoreKey(ctx, out)
	case ActionCancelKeyDeletion:
		return a.cancelKeyDeletion(ctx, out)
	case ActionEnableKey:
		return a.enableKey(ctx, out)
	case ActionRequireSecureTransport:
		return a.requireSecureTransport(ctx, out)
	case ActionTagUnencrypted:
		return a.tagUnencrypted(ctx, out)
	}
	return skip(out, ResultRefused, "unknown action "+out.Action)
}

func skip(out findingsbus.Outcome, result, reason string) (findingsbus.Outcome, error) {
	out.Result, out.Reason = result, reason
	return out, nil
}

// change records a changing call and reports whether to make it: a dry run
// (optIn false) only records it.
func change(out *findingsbus.Outcome, optIn bool, call string) bool {
	out.Calls = append(out.Calls, call)
	if !optIn {
		out.Result, out.Reason = ResultDryRun, "action not opted in"
	}
	return optIn
}

// describeKey reads a key; ok is false (with out filled) when the key is
// gone or not a key the actions touch.
func (a *Actions) describeKey(ctx context.Context, out *findingsbus.Outcome) (*kmstypes.KeyMetadata, error) {
	if a.KMS == nil {
		return nil, errors.New("remediation: no KMS client")
	}
	res, err := a.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(arns.ResourceID(out.Resource))})
	if err != nil {
		var nf *kmstypes.NotFoundException
		if errors.As(err, &nf) {
			out.Result, out.Reason = ResultSkipped, "key no longer exists"
			return nil, nil
		}
		return nil, fmt.Errorf("remediation: describe key %s: %w", out.Resource, err)
	}
	md := res.KeyMetadata
	if md == nil {
		return nil, fmt.Errorf("remediation: describe key %s: no metadata", out.Resource)
	}
	if md.KeyManager != kmstypes.KeyManagerTypeCustomer {
		out.Result, out.Reason = ResultSkipped, "key is not customer managed"
		return nil, nil
	}
	return md, nil
}

func (a *Actions) enableKeyRotation(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	md, err := a.describeKey(ctx, &out)
	if md == nil {
		return out, err
	}
	switch {
	case md.KeySpec != kmstypes.KeySpecSymmetricDefault || md.Origin != kmstypes.OriginTypeAwsKms:
		return skip(out, ResultSkipped, fmt.Sprintf("rotation applies to symmetric AWS_KMS keys, not %s/%s", md.KeySpec, md.Origin))
	case md.KeyState != kmstypes.KeyStateEnabled:
		return skip(out, ResultSkipped, "key is "+string(md.KeyState))
	}
	id := aws.ToString(md.KeyId)
	st, err := a.KMS.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)})
	if err != nil {
		return out, fmt.Errorf("remediation: get key rotation status %s: %w", out.Resource, err)
	}
	want := a.Options.RotationPeriodDays
	if st.KeyRotationEnabled && (want == 0 || st.RotationPeriodInDays == nil || *st.RotationPeriodInDays == want) {
		return skip(out, ResultAlreadyCompliant, "rotation is enabled")
	}
	in := &kms.EnableKeyRotationInput{KeyId: aws.String(id)}
	call := "kms:EnableKeyRotation"
	if want > 0 {
		in.RotationPeriodInDays = aws.Int32(want)
		call += fmt.Sprintf(" RotationPeriodInDays=%d", want)
	}
	if !change(&out, a.Options.EnableKeyRotation, call) {
		return out, nil
	}
	if _, err := a.KMS.EnableKeyRotation(ctx, in); err != nil {
		return out, fmt.Errorf("remediation: enable key rotation %s: %w", out.Resource, err)
	}
	return skip(out, ResultApplied, "rotation enabled")
}

// restoreKey dispatches on the key's live state.
func (a *Actions) restoreKey(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	md, err := a.describeKey(ctx, &out)
	if md == nil {
		return out, err
	}
	switch md.KeyState {
	case kmstypes.KeyStateEnabled:
		return skip(out, ResultAlreadyCompliant, "key is Enabled")
	case kmstypes.KeyStatePendingDeletion:
		return a.cancelKeyDeletion(ctx, out)
	case kmstypes.KeyStateDisabled:
		return a.enableKey(ctx, out)
	}
	return skip(out, ResultSkipped, "key is "+string(md.KeyState)+": no automated action restores it")
}

// cancelKeyDeletion cancels the scheduled deletion of a key that protects a
// live file system. A key tagged as disabled on purpose is refused: an
// administrator who disabled a key and then scheduled its deletion (the
// order AWS recommends, or a crypto-shred) meant both. CancelKeyDeletion
// leaves the key Disabled; it is enabled only when enable_key is opted in
// too and the key is still not tagged.
func (a *Actions) cancelKeyDeletion(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	md, err := a.describeKey(ctx, &out)
	if md == nil {
		return out, err
	}
	if md.KeyState == kmstypes.KeyStateEnabled {
		return skip(out, ResultAlreadyCompliant, "key is Enabled")
	}
	if md.KeyState != kmstypes.KeyStatePendingDeletion {
		return skip(out, ResultSkipped, "key is "+string(md.KeyState)+", not PendingDeletion")
	}
	id := aws.ToString(md.KeyId)
	tagKey, tagged, err := a.intendedDisable(ctx, id, out.Resource)
	if err != nil {
		return out, err
	}
	if tagged {
		return skip(out, ResultRefused, "key is tagged "+tagKey+": disabled on purpose, its deletion is left scheduled")
	}
	live, err := a.liveFileSystems(ctx, out, md)
	if err != nil {
		return out, err
	}
	if len(live) == 0 {
		return skip(out, ResultSkipped, "no live file system uses the key")
	}
	if !change(&out, a.Options.CancelKeyDeletion, "kms:CancelKeyDeletion") {
		if a.Options.EnableKey {
			change(&out, false, "kms:EnableKey")
		}
		return out, nil
	}
	if _, err := a.KMS.CancelKeyDeletion(ctx, &kms.CancelKeyDeletionInput{KeyId: aws.String(id)}); err != nil {
		return out, fmt.Errorf("remediation: cancel key deletion %s: %w", out.Resource, err)
	}
	protects := "; it protects " + strings.Join(live, ", ")
	if !a.Options.EnableKey {
		return skip(out, ResultApplied, "deletion cancelled; key left Disabled (enable_key is not opted in)"+protects)
	}
	// The tag may have been added while the deletion was cancelled.
	if _, tagged, err = a.intendedDisable(ctx, id, out.Resource); err != nil {
		return out, err
	}
	if tagged {
		return skip(out, ResultApplied, "deletion cancelled; key left Disabled: it is tagged "+tagKey+protects)
	}
	change(&out, true, "kms:EnableKey")
	if _, err := a.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
		return out, fmt.Errorf("remediation: enable key %s after cancelling deletion: %w", out.Resource, err)
	}
	return skip(out, ResultApplied, "deletion cancelled and key enabled"+protects)
}

// intendedDisable reports whether key id carries the tag that marks a
// disable as intended, and the tag's key.
func (a *Actions) intendedDisable(ctx context.Context, id, resource string) (string, bool, error) {
	tagKey := a.Options.IntendedDisableTagKey
	if tagKey == "" {
		tagKey = DefaultIntendedDisableTagKey
	}
	var marker *string
	for {
		res, err := a.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(id), Marker: marker})
		if err != nil {
			return tagKey, false, fmt.Errorf("remediation: list key tags %s: %w", resource, err)
		}
		for _, t := range res.Tags {
			if aws.ToString(t.TagKey) == tagKey {
				return tagKey, true, nil
			}
		}
		if !res.Truncated || res.NextMarker == nil {
			return tagKey, false, nil
		}
		marker = res.NextMarker
	}
}

func (a *Actions) enableKey(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	md, err := a.describeKey(ctx, &out)
	if md == nil {
		return out, err
	}
	if md.KeyState == kmstypes.KeyStateEnabled {
		return skip(out, ResultAlreadyCompliant, "key is Enabled")
	}
	if md.KeyState != kmstypes.KeyStateDisabled {
		return skip(out, ResultSkipped, "key is "+string(md.KeyState)+", not Disabled")
	}
	id := aws.ToString(md.KeyId)
	tagKey, tagged, err := a.intendedDisable(ctx, id, out.Resource)
	if err != nil {
		return out, err
	}
	if tagged {
		return skip(out, ResultSkipped, "key is tagged "+tagKey+": disabled on purpose")
	}
	live, err := a.liveFileSystems(ctx, out, md)
	if err != nil {
		return out, err
	}
	if len(live) == 0 {
		return skip(out, ResultSkipped, "no live file system uses the key")
	}
	if !change(&out, a.Options.EnableKey, "kms:EnableKey") {
		return out, nil
	}
	if _, err := a.KMS.EnableKey(ctx, &kms.EnableKeyInput{KeyId: aws.String(id)}); err != nil {
		return out, fmt.Errorf("remediation: enable key %s: %w", out.Resource, err)
	}
	return skip(out, ResultApplied, "key enabled; it protects "+strings.Join(live, ", "))
}

// liveFileSystems lists the ids of file systems, not being deleted, whose
// key is the key of md; a file system's key reference is resolved in the
// finding's account and region.
func (a *Actions) liveFileSystems(ctx context.Context, out findingsbus.Outcome, md *kmstypes.KeyMetadata) ([]string, error) {
	keyARN := cmp.Or(aws.ToString(md.Arn), arns.KeyARN(out.Region, out.Account, aws.ToString(md.KeyId)))
	if a.EFS == nil {
		return nil, errors.New("remediation: no EFS client")
	}
	var ids []string
	var marker *string
	for {
		res, err := a.EFS.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{Marker: marker})
		if err != nil {
			return nil, fmt.Errorf("remediation: describe file systems: %w", err)
		}
		for _, fs := range res.FileSystems {
			if fs.LifeCycleState == efstypes.LifeCycleStateDeleting || fs.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			if arns.StaticKeyARN(aws.ToString(fs.KmsKeyId), out.Account, out.Region) == keyARN {
				ids = append(ids, aws.ToString(fs.FileSystemId))
			}
		}
		if res.NextMarker == nil || *res.NextMarker == "" {
			return ids, nil
		}
		marker = res.NextMarker
	}
}

// describeFileSystem reads the finding's file system; nil (with out filled)
// when it is gone.
func (a *Actions) describeFileSystem(ctx context.Context, out *findingsbus.Outcome) (*efstypes.FileSystemDescription, error) {
	if a.EFS == nil {
		return nil, errors.New("remediation: no EFS client")
	}
	res, err := a.EFS.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: aws.String(arns.ResourceID(out.Resource))})
	var nf *efstypes.FileSystemNotFound
	if errors.As(err, &nf) || err == nil && len(res.FileSystems) == 0 {
		out.Result, out.Reason = ResultSkipped, "file system no longer exists"
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("remediation: describe file system %s: %w", out.Resource, err)
	}
	fs := res.FileSystems[0]
	if fs.LifeCycleState == efstypes.LifeCycleStateDeleting || fs.LifeCycleState == efstypes.LifeCycleStateDeleted {
		out.Result, out.Reason = ResultSkipped, "file system is "+string(fs.LifeCycleState)
		return nil, nil
	}
	return &fs, nil
}

func (a *Actions) requireSecureTransport(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	fs, err := a.describeFileSystem(ctx, &out)
	if fs == nil {
		return out, err
	}
	id := aws.ToString(fs.FileSystemId)
	current := ""
	res, err := a.EFS.DescribeFileSystemPolicy(ctx, &efs.DescribeFileSystemPolicyInput{FileSystemId: aws.String(id)})
	var nf *efstypes.PolicyNotFound
	switch {
	case errors.As(err, &nf):
	case err != nil:
		return out, fmt.Errorf("remediation: describe file system policy %s: %w", out.Resource, err)
	default:
		current = aws.ToString(res.Policy)
	}
	merged, changed, err := MergeSecureTransport(current)
	if err != nil {
		return out, err
	}
	if !changed {
		return skip(out, ResultAlreadyCompliant, "policy already denies access without TLS")
	}
	if !change(&out, a.Options.RequireSecureTransport, "elasticfilesystem:PutFileSystemPolicy") {
		return out, nil
	}
	if _, err := a.EFS.PutFileSystemPolicy(ctx, &efs.PutFileSystemPolicyInput{FileSystemId: aws.String(id), Policy: aws.String(merged)}); err != nil {
		return out, fmt.Errorf("remediation: put file system policy %s: %w", out.Resource, err)
	}
	reason := "deny statement added to the existing policy"
	if current == "" {
		reason = "policy written: EFS's default client access plus a deny statement"
	}
	return skip(out, ResultApplied, reason)
}

func (a *Actions) tagUnencrypted(ctx context.Context, out findingsbus.Outcome) (findingsbus.Outcome, error) {
	fs, err := a.describeFileSystem(ctx, &out)
	if fs == nil {
		return out, err
	}
	if aws.ToBool(fs.Encrypted) {
		return skip(out, ResultSkipped, "file system is encrypted; tagging is for unencrypted file systems")
	}
	for _, t := range fs.Tags {
		if aws.ToString(t.Key) == NonCompliantTagKey && aws.ToString(t.Value) == NonCompliantTagValue {
			return skip(out, ResultAlreadyCompliant, "file system is already tagged")
		}
	}
	if !change(&out, a.Options.TagUnencrypted, "elasticfilesystem:TagResource "+NonCompliantTagKey+"="+NonCompliantTagValue) {
		return out, nil
	}
	_, err = a.EFS.TagResource(ctx, &efs.TagResourceInput{
		ResourceId: fs.FileSystemId,
		Tags:       []efstypes.Tag{{Key: aws.String(NonCompliantTagKey), Value: aws.String(NonCompliantTagValue)}},
	})
	if err != nil {
		return out, fmt.Errorf("remediation: tag file system %s: %w", out.Resource, err)
	}
	return skip(out, ResultApplied, "tagged "+NonCompliantTagKey+"="+NonCompliantTagValue)
}
