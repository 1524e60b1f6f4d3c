"""Write template.yaml with every optional part turned on by default.

checkov resolves a resource's Condition from the parameters' defaults, so
with the defaults (no trail log group, no bucket, no key verification, no
deduplication table, no Security Hub) it never sees the conditional
resources. `make test-sam` runs it over this copy as well.

usage: enable_all.py TEMPLATE OUT
"""
import re
import sys

ON = {
    "TrailLogGroupName": "trail",
    "TrailBucketName": "trail-bucket",
    "OrganizationRoleName": "atrest-reader",
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
