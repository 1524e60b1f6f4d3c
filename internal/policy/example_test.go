package policy_test

import (
	"context"
	"fmt"

	"github.com/atrest/atrest/internal/config"
	"github.com/atrest/atrest/internal/policy"
)

func ExampleNew() {
	engine, err := policy.New(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, rule := range engine.Rules() {
		fmt.Println(rule.ID, rule.Severity, rule.ResourceType)
	}
	// Output:
	// cloudtrail_monitoring_intact HIGH AWS::CloudTrail::Trail
	// efs_encrypted_at_rest HIGH AWS::EFS::FileSystem
	// efs_encryption_in_transit_enforced MEDIUM AWS::EFS::FileSystem
	// efs_kms_key_available CRITICAL AWS::KMS::Key
	// efs_kms_key_policy_grants_efs HIGH AWS::KMS::Key
	// efs_kms_key_symmetric HIGH AWS::KMS::Key
	// efs_kms_key_verified CRITICAL AWS::KMS::Key
	// kms_key_rotation_enabled MEDIUM AWS::KMS::Key
}

func ExampleEngine_Evaluate() {
	engine, err := policy.New(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	in := &policy.Input{
		ResourceType: "AWS::EFS::FileSystem",
		Resource:     "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123",
		FileSystem: &policy.FileSystemInput{
			ID:          "fs-0123",
			Encrypted:   false,
			Known:       true, // its CreateFileSystem was seen
			PolicyKnown: true,
		},
		Config: config.Default(),
	}
	results, err := engine.Evaluate(context.Background(), in)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%s %s: %s\n", r.Rule, r.Status, r.Reason)
	}
	// Output:
	// efs_encrypted_at_rest NON_COMPLIANT: created with encrypted=false
	// efs_encryption_in_transit_enforced NON_COMPLIANT: no file-system policy: EFS grants every anonymous client full access, with or without TLS
}
