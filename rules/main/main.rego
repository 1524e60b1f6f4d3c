# METADATA
# title: Entry point
# description: >-
#   The one document Go queries: every rule's result for the input resource.
#   Each rule package under data.atrest.<service> exposes a set named
#   results holding exactly one entry for a resource of its type and none
#   for any other type.
package atrest.main

# results holds one {"rule", "status", "reason"} object per rule of the
# input's resource type.
results contains r if {
	some r in data.atrest.efs[_].results
}

results contains r if {
	some r in data.atrest.kms[_].results
}

results contains r if {
	some r in data.atrest.cloudtrail[_].results
}
