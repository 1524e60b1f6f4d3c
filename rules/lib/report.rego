# METADATA
# title: Rule results
# description: >-
#   Builds the one result a rule gives for a resource of its type. A rule
#   reads its id and resource type from its own METADATA annotations through
#   rego.metadata.chain(), which the compiler turns into a constant, so they
#   are written nowhere else.
package atrest.lib.report

# result is the entry the rule adds to data.atrest.main.results.
result(id, verdict) := {
	"rule": id,
	"status": verdict.status,
	"reason": verdict.reason,
}

# compliant is a verdict that the resource meets the rule.
compliant(reason) := {"status": "COMPLIANT", "reason": reason}

# non_compliant is a verdict that the resource breaks the rule.
non_compliant(reason) := {"status": "NON_COMPLIANT", "reason": reason}

# not_applicable is a verdict that the rule does not judge this resource.
not_applicable(reason) := {"status": "NOT_APPLICABLE", "reason": reason}

# join lists a set of strings in a stable order.
join(items) := concat("; ", sort(items))
