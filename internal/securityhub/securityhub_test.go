package securityhub

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/securityhub/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/finding"
)

func TestMain(m *testing.M) { awstest.Main(m) }

var t0 = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

const fsARN = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0"
const keyARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func fsFinding(st finding.Status) finding.Finding {
	return finding.Finding{
		ID: "f1", Rule: "efs_encrypted_at_rest", Status: st, Resource: fsARN, ResourceType: "AWS::EFS::FileSystem",
		Account: "123456789012", Region: "us-east-1", EventID: "ev1", EventName: "CreateFileSystem",
		EventTime: t0.Add(-time.Minute), Reason: "file system is not encrypted", Severity: "high",
		Title: "EFS encrypted at rest", Remediation: "Create an encrypted copy.", Controls: []string{"EFS.1", "NIST.800-53.r5 SC-28"},
	}
}

func TestToASFF(t *testing.T) {
	got := ToASFF(fsFinding(finding.NonCompliant), t0)
	want := types.AwsSecurityFinding{
		SchemaVersion:   aws.String("2018-10-08"),
		Id:              aws.String("atrest/efs_encrypted_at_rest/" + fsARN),
		ProductArn:      aws.String("arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default"),
		GeneratorId:     aws.String("atrest/efs_encrypted_at_rest"),
		AwsAccountId:    aws.String("123456789012"),
		Region:          aws.String("us-east-1"),
		Types:           []string{"Software and Configuration Checks/AWS Security Best Practices"},
		CreatedAt:       aws.String("2026-03-14T15:08:26Z"),
		FirstObservedAt: aws.String("2026-03-14T15:08:26Z"),
		LastObservedAt:  aws.String("2026-03-14T15:08:26Z"),
		UpdatedAt:       aws.String("2026-03-14T15:09:26Z"),
		Title:           aws.String("EFS encrypted at rest"),
		Description:     aws.String("file system is not encrypted"),
		Severity:        &types.Severity{Label: types.SeverityLabelHigh, Original: aws.String("high")},
		Compliance:      &types.Compliance{Status: types.ComplianceStatusFailed, RelatedRequirements: []string{"EFS.1", "NIST.800-53.r5 SC-28"}},
		Resources:       []types.Resource{{Id: aws.String(fsARN), Type: aws.String("AwsEfsFileSystem"), Partition: types.PartitionAws, Region: aws.String("us-east-1")}},
		RecordState:     types.RecordStateActive,
		Remediation:     &types.Remediation{Recommendation: &types.Recommendation{Text: aws.String("Create an encrypted copy.")}},
		ProductFields: map[string]string{
			"atrest/rule": "efs_encrypted_at_rest", "atrest/status": "NON_COMPLIANT", "atrest/event_id": "ev1",
			"atrest/event_name": "CreateFileSystem", "atrest/finding_id": "f1",
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("ASFF\n got %+v\nwant %+v", got, want)
	}
}

func TestStatusMapping(t *testing.T) {
	tests := []struct {
		status   finding.Status
		want     types.ComplianceStatus
		record   types.RecordState
		severity types.SeverityLabel
	}{
		{finding.Compliant, types.ComplianceStatusPassed, types.RecordStateArchived, types.SeverityLabelInformational},
		{finding.NonCompliant, types.ComplianceStatusFailed, types.RecordStateActive, types.SeverityLabelHigh},
		{finding.NotApplicable, types.ComplianceStatusNotAvailable, types.RecordStateActive, types.SeverityLabelHigh},
		{finding.Error, types.ComplianceStatusWarning, types.RecordStateActive, types.SeverityLabelHigh},
	}
	for _, tt := range tests {
		t.Run(string(tt.status), func(t *testing.T) {
			f := fsFinding(tt.status)
			a := ToASFF(f, t0)
			if a.Compliance.Status != tt.want || a.RecordState != tt.record || a.Severity.Label != tt.severity {
				t.Fatalf("got %s %s %s", a.Compliance.Status, a.RecordState, a.Severity.Label)
			}
			// The id depends on rule and resource only.
			f.EventID = "other"
			if aws.ToString(ToASFF(f, t0).Id) != aws.ToString(a.Id) {
				t.Fatal("id changed with the event")
			}
		})
	}
	k := fsFinding(finding.NonCompliant)
	k.Resource, k.ResourceType, k.Rule = keyARN, "AWS::KMS::Key", "kms_key_rotation_enabled"
	if got := aws.ToString(ToASFF(k, t0).Resources[0].Type); got != "AwsKmsKey" {
		t.Fatalf("key resource type %s", got)
	}
}

type fakeHub struct {
	calls []int
	// fail reports an error code for a finding on a call (1-based).
	fail func(call int, id string) string
}

func (h *fakeHub) BatchImportFindings(_ context.Context, in *securityhub.BatchImportFindingsInput, _ ...func(*securityhub.Options)) (*securityhub.BatchImportFindingsOutput, error) {
	h.calls = append(h.calls, len(in.Findings))
	if len(in.Findings) > MaxFindingsPerCall {
		return nil, fmt.Errorf("%d findings", len(in.Findings))
	}
	out := &securityhub.BatchImportFindingsOutput{}
	ok := int32(0)
	for _, f := range in.Findings {
		if h.fail != nil {
			if code := h.fail(len(h.calls), aws.ToString(f.Id)); code != "" {
				out.FailedFindings = append(out.FailedFindings, types.ImportFindingsError{Id: f.Id, ErrorCode: aws.String(code), ErrorMessage: aws.String("bad")})
				continue
			}
		}
		ok++
	}
	out.SuccessCount = aws.Int32(ok)
	out.FailedCount = aws.Int32(int32(len(out.FailedFindings)))
	return out, nil
}

func manyFindings(n int) []finding.Finding {
	var fs []finding.Finding
	for i := range n {
		f := fsFinding(finding.NonCompliant)
		f.Resource = fmt.Sprintf("arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-%017d", i)
		fs = append(fs, f)
	}
	return fs
}

func TestExportBatchesAndRetries(t *testing.T) {
	fs := manyFindings(250)
	flaky := FindingID("efs_encrypted_at_rest", fs[5].Resource)
	broken := FindingID("efs_encrypted_at_rest", fs[120].Resource)
	hub := &fakeHub{fail: func(call int, id string) string {
		switch {
		case id == flaky && call == 1:
			return "InternalFailure"
		case id == broken:
			return "InvalidInput"
		}
		return ""
	}}
	e := NewExporter(hub)
	e.Now = func() time.Time { return t0 }
	n, err := e.Export(context.Background(), fs)
	// Calls: 100 (1 fails), retry of 1, 100 (1 fails), retry of 1 (fails
	// again), 50.
	if !reflect.DeepEqual(hub.calls, []int{100, 1, 100, 1, 50}) {
		t.Errorf("calls %v", hub.calls)
	}
	var ie *finding.DeliveryError
	if !errors.As(err, &ie) || len(ie.Failed) != 1 || ie.Failed[0].ID != broken || ie.Failed[0].ErrorCode != "InvalidInput" {
		t.Fatalf("err %v", err)
	}
	if n != 249 {
		t.Fatalf("imported %d, want 249", n)
	}
}

// TestMotoImportAndReadBack imports findings into moto and reads them back
// with GetFindings (moto ignores GetFindings filters, so the test reads all).
func TestMotoImportAndReadBack(t *testing.T) {
	url := awstest.Moto(t)
	awstest.Reset(t, url)
	client := securityhub.NewFromConfig(awstest.Config(t, url))
	ctx := context.Background()
	e := NewExporter(client)
	e.Now = func() time.Time { return t0 }
	fs := manyFindings(150)
	n, err := e.Export(ctx, fs)
	if err != nil || n != 150 {
		t.Fatalf("imported %d err %v", n, err)
	}
	// The first resource returns to compliance: the same finding is
	// updated and archived.
	pass := fs[0]
	pass.Status = finding.Compliant
	e.Now = func() time.Time { return t0.Add(time.Hour) }
	if n, err := e.Export(ctx, []finding.Finding{pass}); err != nil || n != 1 {
		t.Fatalf("imported %d err %v", n, err)
	}
	var got []types.AwsSecurityFinding
	var token *string
	for {
		out, err := client.GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, out.Findings...)
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		token = out.NextToken
	}
	if len(got) != 150 {
		t.Fatalf("GetFindings returned %d findings, want 150", len(got))
	}
	sort.Slice(got, func(i, j int) bool { return aws.ToString(got[i].Id) < aws.ToString(got[j].Id) })
	first := got[0]
	if aws.ToString(first.Id) != FindingID("efs_encrypted_at_rest", fs[0].Resource) ||
		first.Compliance == nil || first.Compliance.Status != types.ComplianceStatusPassed ||
		first.RecordState != types.RecordStateArchived || aws.ToString(first.UpdatedAt) != "2026-03-14T16:09:26Z" ||
		first.Severity.Label != types.SeverityLabelInformational {
		t.Fatalf("first finding %+v", first)
	}
	second := got[1]
	if second.Compliance.Status != types.ComplianceStatusFailed || second.RecordState != types.RecordStateActive ||
		!reflect.DeepEqual(second.Compliance.RelatedRequirements, []string{"EFS.1", "NIST.800-53.r5 SC-28"}) ||
		aws.ToString(second.Resources[0].Type) != "AwsEfsFileSystem" ||
		aws.ToString(second.ProductArn) != "arn:aws:securityhub:us-east-1:123456789012:product/123456789012/default" {
		t.Fatalf("second finding %+v", second)
	}
}
