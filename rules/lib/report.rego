# METADATA
# title: Rule results
# description: >-
#   How a rule reports. Each rule package defines
#   results contains report.result(rego.metadata.chain(), input.resource_type, verdict)
#   behind a constant resource_type comparison: the compiler turns
#   rego.metadata.chain() into a constant, so the rule's id and resource type
#   come from its own METADATA annotation and are written nowhere else.
#   Verdicts are object literals {"status": ..., "reason": ...}.
package atrest.lib.report

# result is a rule's one result for a resource of resource_type: its id from
# the package METADATA in chain (rego.metadata.chain() of the rule), and the
# verdict's status and reason. It is undefined when the METADATA names
# another resource type, so a rule whose constant comparison and METADATA
# disagree reports nothing and the engine reports the missing result.
result(chain, resource_type, verdict) := {"rule": meta.id, "status": verdict.status, "reason": verdict.reason} if {
	some link in chain
	meta := link.annotations.custom
	meta.resource_type == resource_type
}

# join lists a set of strings in a stable order.
join(items) := concat("; ", sort(items))
