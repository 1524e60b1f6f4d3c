# METADATA
# title: Entry point
# description: >-
#   The one document Go queries: every rule's result for the input resource.
#   Each rule package data.atrest.<service>.<rule> exposes a set named
#   results holding exactly one entry for a resource of its type and none
#   for any other type. The entry point lives outside data.atrest so that
#   collecting data.atrest[service][rule].results cannot reach itself; a new
#   service or rule needs no edit here.
# entrypoint: true
package main

# results holds one {"rule", "status", "reason"} object per rule of the
# input's resource type, from every package data.atrest.<service>.<rule>
# (data.atrest.lib holds helpers, not rules).
results contains r if {
	some service, rule
	some r in data.atrest[service][rule].results
	service != "lib"
}
