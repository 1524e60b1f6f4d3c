# METADATA
# title: Rule results
# description: >-
#   Helpers for the reasons rules give. Each rule builds its one result
#   itself, {"rule": id, "status": status, "reason": reason}, reading its id
#   and resource type from its own METADATA annotations through
#   rego.metadata.chain(), which the compiler turns into a constant, so they
#   are written nowhere else. Verdicts are object literals
#   {"status": ..., "reason": ...}: a function call per verdict costs more
#   than the rest of a simple rule.
package atrest.lib.report

# join lists a set of strings in a stable order.
join(items) := concat("; ", sort(items))
