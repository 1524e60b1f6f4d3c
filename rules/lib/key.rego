# METADATA
# title: KMS key facts
# description: Facts about the key being judged that several key rules share.
package atrest.lib.key

import data.atrest.lib.report

# file_system_ids lists the IDs of the live file systems the key protects,
# sorted.
file_system_ids := sort([id | some f in input.file_systems; id := f.id])

# protects_file_systems holds when the key protects at least one live file
# system.
protects_file_systems if count(file_system_ids) > 0

# unused is the verdict for a key that protects no live file system.
unused := report.not_applicable(sprintf("key %s protects no live file system", [input.resource]))

# file_systems names the live file systems for a reason.
file_systems := concat(", ", file_system_ids)

# field is a key metadata field, "" when the key or the field is unknown.
field(name) := v if {
	v := input.key[name]
	is_string(v)
} else := ""
