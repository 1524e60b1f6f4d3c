# METADATA
# title: Rule results
# description: >-
#   Builds the one result a rule gives for a resource of its type. A rule
#   passes rego.metadata.chain() so its id and resource type come from its
#   own METADATA annotations and are written nowhere else.
package atrest.lib.report

# custom is the custom block of the package annotation in a metadata chain.
custom(chain) := c if {
	some link in chain
	c := link.annotations.custom
	c.id
}

# applies holds when the input resource is of the type the rule judges.
applies(chain) if input.resource_type == custom(chain).resource_type

# result is the entry the rule adds to data.atrest.main.results.
result(chain, verdict) := {
	"rule": custom(chain).id,
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
