"""Write template.yaml with every optional part turned on by default.

checkov resolves a resource's Condition from the parameters' defaults, so
with the defaults (no trail log group, no bucket, no key verification, no
deduplication table, no Security Hub, no organization, no data key) it
never sees the conditional resources. `make test-sam` runs it over this
copy as well. (The alarm topic's own key exists only without a data key:
checkov sees it in the run over the template as it is.)

usage: enable_all.py TEMPLATE OUT
"""
import re
import sys

ON = {
    "TrailLogGroupName": "trail",
    "TrailBucketName": "trail-bucket",
    "OrganizationRoleName": "atrest-reader",
    "OrganizationId": "o-a1b2c3d4e5",
    "OrganizationExternalId": "atrest-external-id",
    "MonitoredAccounts": '"111122223333,444455556666"',
    "MonitoredRegions": "us-east-1,eu-west-1",
    "DataKmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "VerifyKeys": '"true"',
    "DeduplicationTable": "Enabled",
    "SecurityHub": "Enabled",
    "RequireIntegrity": '"true"',
}

template_path, out_path = sys.argv[1], sys.argv[2]
text = open(template_path).read()
for name, value in ON.items():
    pattern = re.compile(r"(\n  %s:\n    Type: String\n    Default: )[^\n]*" % re.escape(name))
    text, n = pattern.subn(lambda m: m.group(1) + value, text, count=1)
    if n != 1:
        sys.exit(f"{template_path}: no String parameter {name} with a Default")
open(out_path, "w").write(text)
