package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrest/atrest/internal/awstest"
	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/ledger"
	"github.com/atrest/atrest/internal/metrics"
	"github.com/atrest/atrest/internal/monitor"
	"github.com/atrest/atrest/internal/pipeline"
	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// TestStatusReadsTheDeployedLedger: a harness keeps its ledger in a
// DynamoDB table on moto, as the functions do; `atrest status --table`
// reads it back and prints the same posture evaluate prints for the same
// input, in every format.
func TestStatusReadsTheDeployedLedger(t *testing.T) {
	url := awstest.Moto(t)
	cfg := awstest.Config(t, url)
	ctx := context.Background()
	const table = "atrest-ledger-status"
	if _, err := dynamodb.NewFromConfig(cfg).CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String(table),
		AttributeDefinitions: []ddbtypes.AttributeDefinition{{AttributeName: aws.String(ledger.KeyAttribute), AttributeType: ddbtypes.ScalarAttributeTypeS}},
		KeySchema:            []ddbtypes.KeySchemaElement{{AttributeName: aws.String(ledger.KeyAttribute), KeyType: ddbtypes.KeyTypeHash}},
		BillingMode:          ddbtypes.BillingModePayPerRequest,
	}); err != nil {
		t.Fatal(err)
	}
	store, err := ledger.NewTable(dynamodb.NewFromConfig(cfg), table)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := policy.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h, err := monitor.New(monitor.Options{
		Pipeline: pipeline.Options{Store: state.NewMemory(), Engine: engine, Config: config.Default()},
		Ledger:   store,
	})
	if err != nil {
		t.Fatal(err)
	}
	run := h.Start(metrics.SourceEventBridge)
	raw, err := os.ReadFile(unencryptedSample)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := run.Input(ctx, "event", bytes.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
	run.Finish(ctx)

	pointAt(t, url)
	out, stderr, code := runCLI(t, "", "status", "--table", table, "--format", "json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var e ledger.Entry
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("not an entry: %v: %s", err, line)
		}
		got = append(got, e.Rule+" "+string(e.Status))
	}
	want := []string{"efs_encrypted_at_rest NON_COMPLIANT", "efs_encryption_in_transit_enforced NON_COMPLIANT"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("status entries %q, want %q", got, want)
	}
	table1, _, code := runCLI(t, "", "status", "--table", table, "--format", "table")
	evaluated, _, _ := runCLI(t, "", "evaluate", "--format", "table", unencryptedSample)
	if code != exitOK || table1 != evaluated {
		t.Errorf("status table (exit %d):\n%s\nevaluate table:\n%s", code, table1, evaluated)
	}
	if _, stderr, code := runCLI(t, "", "status", "--format", "table"); code != exitUsage || !strings.Contains(stderr, "--table") {
		t.Errorf("without a table: exit %d, %s", code, stderr)
	}
}
