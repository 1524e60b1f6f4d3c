// Package securityhub sends findings to AWS Security Hub in the AWS
// Security Finding Format (ASFF) with BatchImportFindings
// (https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html).
//
// A rule and resource keep one Security Hub finding: its Id is derived
// from the rule and resource only, so every later evaluation updates it,
// and a return to COMPLIANT archives it.
//
// moto (5.2.1) implements BatchImportFindings and GetFindings, without
// GetFindings filters; the package's tests read findings back from it.
package securityhub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/state"
)

// MaxFindingsPerCall is the most findings one BatchImportFindings call may
// carry.
const MaxFindingsPerCall = 100

// SchemaVersion is the ASFF version written.
const SchemaVersion = "2018-10-08"

// FindingType is the ASFF type of every atrest finding.
const FindingType = "Software and Configuration Checks/AWS Security Best Practices"

// ASFF resource types.
const (
	ResourceTypeFileSystem = "AwsEfsFileSystem"
	ResourceTypeKey        = "AwsKmsKey"
	ResourceTypeOther      = "Other"
)

// Field length limits of ASFF.
const (
	maxTitle        = 256
	maxDescription  = 1024
	maxRemediation  = 512
	maxRequirements = 32
)

// BatchImportFindingsAPI is the one Security Hub call Exporter makes.
type BatchImportFindingsAPI interface {
	BatchImportFindings(ctx context.Context, in *securityhub.BatchImportFindingsInput, optFns ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error)
}

// Exporter imports findings into Security Hub.
type Exporter struct {
	client BatchImportFindingsAPI
	// Now stamps UpdatedAt; time.Now when nil.
	Now func() time.Time
}

// NewExporter returns an exporter calling client.
func NewExporter(client BatchImportFindingsAPI) *Exporter {
	return &Exporter{client: client, Now: time.Now}
}

// Export imports findings, MaxFindingsPerCall a call. Findings Security Hub
// reports as failed are sent once more; those failing again are returned
// in an *finding.DeliveryError. It returns the number imported.
func (e *Exporter) Export(ctx context.Context, fs []finding.Finding) (int, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	ts := now()
	asff := make([]types.AwsSecurityFinding, len(fs))
	for i, f := range fs {
		asff[i] = ToASFF(f, ts)
	}
	imported := 0
	var failed []finding.Undelivered
	var errs []error
	for lo := 0; lo < len(asff); lo += MaxFindingsPerCall {
		batch := asff[lo:min(lo+MaxFindingsPerCall, len(asff))]
		n, retry, fails, err := e.importBatch(ctx, batch)
		imported += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(retry) == 0 {
			continue
		}
		n, _, fails, err = e.importBatch(ctx, retry)
		imported += n
		if err != nil {
			errs = append(errs, err)
			continue
		}
		failed = append(failed, fails...)
	}
	if len(failed) > 0 {
		errs = append([]error{&finding.DeliveryError{Sink: "securityhub", What: "findings not imported", Failed: failed}}, errs...)
	}
	return imported, errors.Join(errs...)
}

func (e *Exporter) importBatch(ctx context.Context, batch []types.AwsSecurityFinding) (int, []types.AwsSecurityFinding, []finding.Undelivered, error) {
	out, err := e.client.BatchImportFindings(ctx, &securityhub.BatchImportFindingsInput{Findings: batch})
	if err != nil {
		ids := make([]string, len(batch))
		for i, f := range batch {
			ids[i] = aws.ToString(f.Id)
		}
		return 0, nil, nil, fmt.Errorf("securityhub: batch import findings %s: %w", strings.Join(ids, ", "), err)
	}
	byID := map[string]types.AwsSecurityFinding{}
	for _, f := range batch {
		byID[aws.ToString(f.Id)] = f
	}
	var retry []types.AwsSecurityFinding
	var fails []finding.Undelivered
	for _, ff := range out.FailedFindings {
		id := aws.ToString(ff.Id)
		fails = append(fails, finding.Undelivered{ID: id, ErrorCode: aws.ToString(ff.ErrorCode), ErrorMessage: aws.ToString(ff.ErrorMessage)})
		if f, ok := byID[id]; ok {
			retry = append(retry, f)
		}
	}
	return int(aws.ToInt32(out.SuccessCount)), retry, fails, nil
}

// FindingID is the Security Hub finding id of a rule and resource.
func FindingID(rule, resource string) string {
	return "atrest/" + rule + "/" + resource
}

// ProductArn is the ARN of the default (own findings) product integration
// of an account in a region.
func ProductArn(region, account string) string {
	return arns.New(arns.ServiceSecurityHub, region, account, "product/"+account+"/default")
}

// ComplianceStatus maps a finding status to Security Hub's.
func ComplianceStatus(s finding.Status) types.ComplianceStatus {
	switch s {
	case finding.Compliant:
		return types.ComplianceStatusPassed
	case finding.NonCompliant:
		return types.ComplianceStatusFailed
	case finding.NotApplicable:
		return types.ComplianceStatusNotAvailable
	}
	return types.ComplianceStatusWarning
}

// SeverityLabel maps a rule severity to Security Hub's label; a passed
// check is INFORMATIONAL, as Security Hub's own controls report it.
func SeverityLabel(f finding.Finding) types.SeverityLabel {
	if f.Status == finding.Compliant {
		return types.SeverityLabelInformational
	}
	switch strings.ToUpper(f.Severity) {
	case "LOW":
		return types.SeverityLabelLow
	case "MEDIUM":
		return types.SeverityLabelMedium
	case "HIGH":
		return types.SeverityLabelHigh
	case "CRITICAL":
		return types.SeverityLabelCritical
	}
	return types.SeverityLabelInformational
}

// ResourceType is the ASFF type of a finding's resource.
func ResourceType(f finding.Finding) string {
	switch {
	case f.ResourceType == string(state.TypeFileSystem) || strings.Contains(f.Resource, ":elasticfilesystem:"):
		return ResourceTypeFileSystem
	case f.ResourceType == string(state.TypeKey) || strings.Contains(f.Resource, ":kms:"):
		return ResourceTypeKey
	}
	return ResourceTypeOther
}

// ToASFF renders a finding in ASFF, updated at now. The finding is first
// observed at its triggering event's time (now for a sweep).
func ToASFF(f finding.Finding, now time.Time) types.AwsSecurityFinding {
	region, account := f.Region, f.Account
	if arn, ok := arns.Parse(f.Resource); ok {
		if region == "" {
			region = arn.Region
		}
		if account == "" {
			account = arn.AccountID
		}
	}
	observed := now
	if !f.EventTime.IsZero() {
		observed = f.EventTime
	}
	stamp := func(t time.Time) *string { return aws.String(t.UTC().Format(time.RFC3339Nano)) }
	title := f.Title
	if title == "" {
		title = f.Rule
	}
	desc := f.Reason
	if desc == "" {
		desc = title
	}
	reqs := f.Controls
	if len(reqs) > maxRequirements {
		reqs = reqs[:maxRequirements]
	}
	out := types.AwsSecurityFinding{
		SchemaVersion:   aws.String(SchemaVersion),
		Id:              aws.String(FindingID(f.Rule, f.Resource)),
		ProductArn:      aws.String(ProductArn(region, account)),
		GeneratorId:     aws.String("atrest/" + f.Rule),
		AwsAccountId:    aws.String(account),
		Region:          aws.String(region),
		Types:           []string{FindingType},
		CreatedAt:       stamp(observed),
		FirstObservedAt: stamp(observed),
		LastObservedAt:  stamp(observed),
		UpdatedAt:       stamp(now),
		Title:           aws.String(truncate(title, maxTitle)),
		Description:     aws.String(truncate(desc, maxDescription)),
		Severity:        &types.Severity{Label: SeverityLabel(f), Original: aws.String(f.Severity)},
		Compliance: &types.Compliance{
			Status:              ComplianceStatus(f.Status),
			RelatedRequirements: reqs,
		},
		Resources: []types.Resource{{
			Id:        aws.String(f.Resource),
			Type:      aws.String(ResourceType(f)),
			Partition: types.Partition(arns.Partition(region)),
			Region:    aws.String(region),
		}},
		RecordState: types.RecordStateActive,
		ProductFields: map[string]string{
			"atrest/rule":   f.Rule,
			"atrest/status": string(f.Status),
		},
	}
	if f.Status == finding.Compliant {
		out.RecordState = types.RecordStateArchived
	}
	if f.Remediation != "" {
		out.Remediation = &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String(truncate(f.Remediation, maxRemediation))}}
	}
	if f.EventID != "" {
		out.ProductFields["atrest/event_id"] = f.EventID
	}
	if f.EventName != "" {
		out.ProductFields["atrest/event_name"] = f.EventName
	}
	if f.ID != "" {
		out.ProductFields["atrest/finding_id"] = f.ID
	}
	if f.Severity == "" {
		out.Severity.Original = nil
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	cut := n - len("…")
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}
