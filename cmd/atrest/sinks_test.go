package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/atrest/atrest/internal/awstest"
)

const unencryptedSample = "../../events/06-eventbridge-efs-createfilesystem-unencrypted.json"

func TestEvaluateEMF(t *testing.T) {
	_, stderr, code := runCLI(t, "", "evaluate", "--format", "json", "--metrics", "emf", "--namespace", "AtrestTest", unencryptedSample)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var docs []map[string]any
	for _, line := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(line, "{") {
			var d map[string]any
			if err := json.Unmarshal([]byte(line), &d); err != nil {
				t.Fatalf("EMF line is not JSON: %v: %s", err, line)
			}
			docs = append(docs, d)
		}
	}
	found := false
	for _, d := range docs {
		aws, _ := d["_aws"].(map[string]any)
		cms, _ := aws["CloudWatchMetrics"].([]any)
		if len(cms) == 0 || cms[0].(map[string]any)["Namespace"] != "AtrestTest" {
			t.Errorf("EMF document without the namespace: %v", d)
		}
		if d["Rule"] == "efs_encrypted_at_rest" && d["Status"] == "NON_COMPLIANT" && d["Findings"] == 1.0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no Findings datum for efs_encrypted_at_rest NON_COMPLIANT in %d EMF documents:\n%s", len(docs), stderr)
	}
}

// TestEvaluatePublishEvents sends the non-compliant findings to a bus on
// moto whose rule forwards them to SQS, and reads them back.
func TestEvaluatePublishEvents(t *testing.T) {
	url := awstest.Moto(t)
	cfg := awstest.Config(t, url)
	ctx := context.Background()
	sq := sqs.NewFromConfig(cfg)
	const bus = "atrest-cli-findings"
	queueURL := awstest.FindingsBus(t, cfg, bus)
	pointAt(t, url)
	_, stderr, code := runCLI(t, "", "evaluate", "--format", "json", "--publish-events", bus, unencryptedSample)
	if code != exitOK || !strings.Contains(stderr, "2 events published to "+bus) {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got := map[string]string{}
	deadline := time.Now().Add(60 * time.Second)
	for len(got) < 2 && time.Now().Before(deadline) {
		out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(queueURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range out.Messages {
			var ev struct {
				DetailType string `json:"detail-type"`
				Detail     struct {
					Rule, Status, Resource string
					Remediation            struct{ Action string }
				} `json:"detail"`
			}
			if err := json.Unmarshal([]byte(aws.ToString(m.Body)), &ev); err != nil {
				t.Fatalf("message is not an event: %v", err)
			}
			got[ev.Detail.Rule] = ev.Detail.Status + " " + ev.Detail.Remediation.Action
		}
	}
	want := map[string]string{
		"efs_encrypted_at_rest":              "NON_COMPLIANT tag_unencrypted_file_system",
		"efs_encryption_in_transit_enforced": "NON_COMPLIANT require_secure_transport",
	}
	if len(got) != 2 || got["efs_encrypted_at_rest"] != want["efs_encrypted_at_rest"] || got["efs_encryption_in_transit_enforced"] != want["efs_encryption_in_transit_enforced"] {
		t.Errorf("events = %v, want %v", got, want)
	}
}
