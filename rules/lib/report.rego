# METADATA
# title: Rule results
# description: >-
#   What rules share in reporting. Each rule package defines
#   results contains {"rule": "<its id>", "status": verdict.status, "reason": verdict.reason}
#   behind a constant resource_type comparison; verdicts are object
#   literals {"status": ..., "reason": ...}.
package atrest.lib.report

# join lists a set of strings in a stable order.
join(items) := concat("; ", sort(items))
