package lambdafn_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	ebtypes "github.com/aws/aws-sdk-go-v2/service/eventbridge/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/securityhub"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/dedup"
	"github.com/atrest/atrest/internal/finding"
	"github.com/atrest/atrest/internal/lambdafn"
	hub "github.com/atrest/atrest/internal/securityhub"
	"github.com/atrest/atrest/internal/state"
)

// The verify function lists the keys that protect file systems, proves
// each with an envelope round trip on moto's KMS and emits only
// efs_kms_key_verified findings: COMPLIANT for an enabled key, NON_COMPLIANT
// (not_found) for a key that no longer exists, nothing for an unencrypted
// file system or a key that protects none.
func TestVerifyUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()
	if _, err := eventbridge.NewFromConfig(cfg).CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("atrest-findings")}); err != nil {
		t.Fatal(err)
	}
	kc := kms.NewFromConfig(cfg)
	newKey := func() string {
		t.Helper()
		k, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(k.KeyMetadata.Arn)
	}
	keyARN, idleKeyARN := newKey(), newKey()
	goneKeyARN := "arn:aws:kms:" + awstest.Region + ":" + awstest.Account + ":key/0a7e5700-0000-4000-8000-00000000dead"
	fsc := efs.NewFromConfig(cfg)
	newFS := func(token, key string) string {
		t.Helper()
		in := &efs.CreateFileSystemInput{CreationToken: aws.String(token), Encrypted: aws.Bool(key != "")}
		if key != "" {
			in.KmsKeyId = aws.String(key)
		}
		out, err := fsc.CreateFileSystem(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.FileSystemArn)
	}
	encA, encB := newFS("atrest-a", keyARN), newFS("atrest-b", keyARN)
	orphan := newFS("atrest-orphan", goneKeyARN)
	newFS("atrest-plain", "")

	env := awsEnv(endpoint)
	env[lambdafn.EnvVerifyKeys] = "true"
	fn := startFunction(t, lambdafn.FunctionVerify, env)
	var results []result
	for i := range 3 {
		r := fn.invokeFile(t, "verify-scheduled.json")
		results = append(results, r)
		if string(r.Response) != "null" {
			t.Fatalf("verify %d: response %s", i, r.Response)
		}
		var got []string
		for _, f := range r.Findings {
			got = append(got, f.Rule+" "+string(f.Status)+" "+f.Resource+" "+strings.Join(f.FileSystems, ","))
			if f.Source != lambdafn.SourceVerify || f.EventID != "" {
				t.Errorf("verify %d: finding %s has source %q, event %q", i, f.ID, f.Source, f.EventID)
			}
		}
		sort.Strings(got)
		fss := []string{encA, encB}
		sort.Strings(fss)
		want := []string{
			"efs_kms_key_verified COMPLIANT " + keyARN + " " + strings.Join(fss, ","),
			"efs_kms_key_verified NON_COMPLIANT " + goneKeyARN + " " + orphan,
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("verify %d findings\n got %q\nwant %q", i, got, want)
		}
		for _, f := range r.Findings {
			if f.Resource == goneKeyARN && !strings.Contains(f.Reason, "not_found") {
				t.Errorf("verify %d: missing key reason %q, want not_found", i, f.Reason)
			}
			if f.Resource == idleKeyARN {
				t.Errorf("verify %d: a key that protects no file system was verified", i)
			}
		}
		// Every run verifies afresh: nothing is served from the cache, so
		// every verification has a latency.
		if v, ok := emfValue(r.EMF, "KeyVerifications", "Outcome", "verified"); !ok || v != 1.0 {
			t.Errorf("verify %d: KeyVerifications{verified} = %v, want 1", i, v)
		}
		if v, ok := emfValue(r.EMF, "KeyVerifications", "Outcome", "not_found"); !ok || v != 1.0 {
			t.Errorf("verify %d: KeyVerifications{not_found} = %v, want 1", i, v)
		}
		if _, ok := emfValue(r.EMF, "KeyVerificationLatency", "Outcome", "verified"); !ok {
			t.Errorf("verify %d: no KeyVerificationLatency{verified}", i)
		}
		if v, ok := emfValue(r.EMF, "EventsProcessed", "Source", lambdafn.SourceVerify); !ok || v != 2.0 {
			t.Errorf("verify %d: EventsProcessed{verify} = %v, want 2 keys", i, v)
		}
		// The first run's NON_COMPLIANT verdict is news; the later runs
		// restate it and publish nothing.
		switch l := delivered(r, "event_bus"); {
		case i == 0 && (l == nil || l["delivered"] != 1.0):
			t.Errorf("verify %d: %v published, want the non-compliant finding", i, l)
		case i > 0 && l != nil:
			t.Errorf("verify %d published %v: restatements are never published", i, l)
		}
		if l := hasLog(r, "verification done"); l == nil || l["keys"] != 2.0 || l["failed"] != 1.0 {
			t.Errorf("verify %d: summary %v, want 2 keys, 1 failed", i, l)
		}
	}
	logTiming(t, lambdafn.FunctionVerify, results)
}

// Without ATREST_VERIFY_KEYS the verify handler refuses, rather than report
// nothing verified as success.
func TestVerifyWithoutVerifierFails(t *testing.T) {
	s, err := lambdafn.FromEnv(func(k string) string { return localEnv()[k] })
	if err != nil {
		t.Fatal(err)
	}
	m, err := lambdafn.NewMonitor(context.Background(), s, lambdafn.NewLogger(&output{}), &output{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Verify(context.Background(), events.CloudWatchEvent{}); !errors.Is(err, lambdafn.ErrNoVerifier) {
		t.Fatalf("Verify: %v, want ErrNoVerifier", err)
	}
}

// A retried event reaching another execution environment gives no findings
// and no "Atrest Finding" event again when the deduplication table is set;
// without the table the new environment judges it again.
func TestDedupTableUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()

	ddb := dynamodb.NewFromConfig(cfg)
	const table = "atrest-dedup"
	if _, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(dedup.KeyAttribute), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(dedup.KeyAttribute), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}

	// "Atrest Finding" events on the findings bus land in a queue.
	eb, sq := eventbridge.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("atrest-findings")}); err != nil {
		t.Fatal(err)
	}
	q, err := sq.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("atrest-findings")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sq.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("findings"), EventBusName: aws.String("atrest-findings"),
		EventPattern: aws.String(`{"source":["atrest"],"detail-type":["Atrest Finding"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutTargets(ctx, &eventbridge.PutTargetsInput{
		Rule: aws.String("findings"), EventBusName: aws.String("atrest-findings"),
		Targets: []ebtypes.Target{{Id: aws.String("queue"), Arn: aws.String(qa.Attributes["QueueArn"])}},
	}); err != nil {
		t.Fatal(err)
	}
	// received drains the queue and returns the finding ids of its events;
	// with wait > 0 its receives long-poll that many seconds, so a message
	// still on its way ends the wait the moment it arrives.
	received := func(wait int32) []string {
		t.Helper()
		var ids []string
		for {
			out, err := sq.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: wait})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) == 0 {
				sort.Strings(ids)
				return ids
			}
			for _, m := range out.Messages {
				ids = append(ids, findingID(t, aws.ToString(m.Body)))
				if _, err := sq.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: q.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	env := awsEnv(endpoint)
	env[lambdafn.EnvStore] = lambdafn.StoreMemory
	withTable := map[string]string{lambdafn.EnvDedupTable: table, lambdafn.EnvDedupTTL: "1h"}
	for k, v := range env {
		withTable[k] = v
	}
	const event = "01-eventbridge-kms-createkey-symmetric.json"

	first := startFunction(t, lambdafn.FunctionTrailEvents, withTable)
	r1 := first.invokeFile(t, event)
	var nonCompliant []string
	for _, f := range r1.Findings {
		if f.Status == finding.NonCompliant {
			nonCompliant = append(nonCompliant, f.ID)
		}
	}
	sort.Strings(nonCompliant)
	if len(r1.Findings) == 0 || len(nonCompliant) == 0 {
		t.Fatalf("first delivery: %d findings, %d non-compliant; want some of each", len(r1.Findings), len(nonCompliant))
	}
	if got := received(0); !slices.Equal(got, nonCompliant) {
		t.Fatalf("first delivery: events for findings %q, want the non-compliant %q", got, nonCompliant)
	}

	// The same event retried: to a new execution environment (a cold
	// start, the case the table is for), then to the warm one.
	second := startFunction(t, lambdafn.FunctionTrailEvents, withTable)
	for name, fn := range map[string]*emulated{"new environment": second, "warm environment": first} {
		r := fn.invokeFile(t, event)
		if string(r.Response) != "null" {
			t.Errorf("%s: response %s", name, r.Response)
		}
		if len(r.Findings) != 0 {
			t.Errorf("%s: %d findings for a retried event, want 0", name, len(r.Findings))
		}
		if l := hasLog(r, "run done"); l == nil || l["duplicates"] != 1.0 || l["processed"] != 0.0 {
			t.Errorf("%s: summary %v, want 1 duplicate, 0 processed", name, l)
		}
		if l := delivered(r, "event_bus"); l != nil {
			t.Errorf("%s: findings published again: %v", name, l)
		}
	}
	// EventBridge delivery to the queue is synchronous in moto; a long
	// poll catches anything late all the same.
	if got := received(1); len(got) != 0 {
		t.Errorf("retried event published %d more finding events: %q", len(got), got)
	}

	// Control: without the table, a new environment judges it again.
	control := startFunction(t, lambdafn.FunctionTrailEvents, env)
	if r := control.invokeFile(t, event); len(r.Findings) != len(r1.Findings) {
		t.Errorf("without the table: %d findings, want %d", len(r.Findings), len(r1.Findings))
	}
	if got := received(0); !slices.Equal(got, nonCompliant) {
		t.Errorf("without the table: events for findings %q, want %q again", got, nonCompliant)
	}
}

// findingID reads the finding id of an "Atrest Finding" event.
func findingID(t *testing.T, body string) string {
	t.Helper()
	var ev struct {
		DetailType string `json:"detail-type"`
		Detail     struct {
			ID string `json:"id"`
		} `json:"detail"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.DetailType != "Atrest Finding" || ev.Detail.ID == "" {
		t.Fatalf("not an Atrest Finding event (%v): %s", err, body)
	}
	return ev.Detail.ID
}

// The stack's own monitoring path, named by the ATREST_WATCHED_* variables,
// is listed by the sweep and judged from events by
// cloudtrail_monitoring_intact: a watched rule in place is COMPLIANT, a
// watched rule or subscription filter that is gone is NON_COMPLIANT, and a
// DeleteRule of a watched rule is caught as it happens.
func TestWatchedMonitoringPathUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()
	eb := eventbridge.NewFromConfig(cfg)
	if _, err := eb.CreateEventBus(ctx, &eventbridge.CreateEventBusInput{Name: aws.String("atrest-findings")}); err != nil {
		t.Fatal(err)
	}
	if _, err := eb.PutRule(ctx, &eventbridge.PutRuleInput{
		Name: aws.String("atrest-kms-calls"), EventPattern: aws.String(`{"source":["aws.kms"]}`),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := cloudwatchlogs.NewFromConfig(cfg).CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("trail")}); err != nil {
		t.Fatal(err)
	}
	watched := map[string]string{
		lambdafn.EnvWatchedEventRules:          "atrest-kms-calls,atrest-efs-calls",
		lambdafn.EnvWatchedSubscriptionFilters: "trail:atrest-trail-logs",
	}
	env := awsEnv(endpoint)
	for k, v := range watched {
		env[k] = v
	}
	ruleARN := func(name string) string {
		return "arn:aws:events:" + awstest.Region + ":" + awstest.Account + ":rule/" + name
	}
	filterID := state.SubscriptionFilterID(awstest.Region, awstest.Account, "trail", "atrest-trail-logs")

	sweep := startFunction(t, lambdafn.FunctionSweep, env)
	r := sweep.invokeFile(t, "sweep-scheduled.json")
	var got []string
	for _, f := range r.Findings {
		if f.Rule == "cloudtrail_monitoring_intact" {
			got = append(got, string(f.Status)+" "+f.Resource)
		}
	}
	sort.Strings(got)
	want := []string{
		"COMPLIANT " + ruleARN("atrest-kms-calls"),
		"NON_COMPLIANT " + ruleARN("atrest-efs-calls"),
		"NON_COMPLIANT " + filterID,
	}
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("sweep: monitoring path findings\n got %q\nwant %q", got, want)
	}

	// DeleteRule of a watched rule, delivered by EventBridge.
	deleteRule := strings.NewReplacer(
		`"source": "aws.cloudtrail"`, `"source": "aws.events"`,
		`"eventSource": "cloudtrail.amazonaws.com"`, `"eventSource": "events.amazonaws.com"`,
		`"eventName": "StopLogging"`, `"eventName": "DeleteRule"`,
		`"name": "arn:aws:cloudtrail:us-east-1:111122223333:trail/atrest-trail"`, `"name": "atrest-kms-calls"`,
	).Replace(string(readEvent(t, "17-eventbridge-cloudtrail-stoplogging.json")))
	if !strings.Contains(deleteRule, `"eventName": "DeleteRule"`) || !strings.Contains(deleteRule, `"name": "atrest-kms-calls"`) {
		t.Fatal("sample event 17 changed: cannot make a DeleteRule event from it")
	}
	deleted := "arn:aws:events:us-east-1:111122223333:rule/atrest-kms-calls"
	local := localEnv()
	for k, v := range watched {
		local[k] = v
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		want finding.Status
	}{
		{"watched", local, finding.NonCompliant},
		{"not watched", localEnv(), finding.NotApplicable},
	} {
		fn := startFunction(t, lambdafn.FunctionTrailEvents, tc.env)
		r := fn.invoke(t, []byte(deleteRule))
		if s := status(r.Findings, "cloudtrail_monitoring_intact", deleted); s != tc.want {
			t.Errorf("%s: DeleteRule of atrest-kms-calls: %q, want %s (findings %v)", tc.name, s, tc.want, r.Findings)
		}
	}
}

// With ATREST_SECURITY_HUB the findings that are news (the ledger's
// transitions: here the CreateKey's NON_COMPLIANT rotation verdict, re-checked
// at the end of the invocation when no settle queue holds it) are imported
// into Security Hub, one ASFF finding a rule and resource; the first
// NOT_APPLICABLE verdicts are not news.
func TestSecurityHubUnderEmulator(t *testing.T) {
	endpoint := awstest.Moto(t)
	awstest.Reset(t, endpoint)
	cfg := awstest.Config(t, endpoint)
	ctx := context.Background()
	env := awsEnv(endpoint)
	env[lambdafn.EnvStore] = lambdafn.StoreMemory
	env[lambdafn.EnvFindingsBus] = ""
	env[lambdafn.EnvSecurityHub] = "true"
	fn := startFunction(t, lambdafn.FunctionTrailEvents, env)
	r := fn.invokeFile(t, "01-eventbridge-kms-createkey-symmetric.json")
	if len(r.Findings) == 0 {
		t.Fatal("no findings")
	}
	var news []finding.Finding
	for _, f := range r.Findings {
		if f.Status == finding.NonCompliant {
			news = append(news, f)
		}
	}
	if len(news) != 1 || news[0].Rule != "kms_key_rotation_enabled" {
		t.Fatalf("non-compliant findings %v, want the key's rotation", news)
	}
	if l := delivered(r, "security_hub"); l == nil || l["delivered"] != float64(len(news)) {
		t.Errorf("import log %v, want %d imported", l, len(news))
	}
	if l := hasLog(r, "findings not delivered"); l != nil {
		t.Errorf("findings not delivered: %v", l)
	}
	out, err := securityhub.NewFromConfig(cfg).GetFindings(ctx, &securityhub.GetFindingsInput{MaxResults: aws.Int32(100)})
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, f := range out.Findings {
		got = append(got, aws.ToString(f.Id))
	}
	for _, f := range news {
		want = append(want, hub.FindingID(f.Rule, f.Resource))
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("Security Hub findings\n got %q\nwant %q", got, want)
	}
}
