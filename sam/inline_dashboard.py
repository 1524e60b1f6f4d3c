"""Copy sam/dashboard.json into template.yaml as the Dashboard's DashboardBody.

usage: inline_dashboard.py TEMPLATE DASHBOARD_JSON
"""
import sys

template_path, dashboard_path = sys.argv[1], sys.argv[2]
marker = "DashboardBody: !Sub |"
lines = open(template_path).read().split("\n")
start = next(i for i, l in enumerate(lines) if l.strip() == marker)
indent = " " * (len(lines[start]) - len(lines[start].lstrip()) + 2)
end = start + 1
while end < len(lines) and (lines[end] == "" or lines[end].startswith(indent)):
    end += 1
# keep the blank line that ends the block
while end > start + 1 and lines[end - 1] == "":
    end -= 1
body = [indent + l if l else l for l in open(dashboard_path).read().rstrip("\n").split("\n")]
open(template_path, "w").write("\n".join(lines[: start + 1] + body + lines[end:]))
