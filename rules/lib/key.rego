# METADATA
# title: KMS key facts
# description: >-
#   Facts about the key being judged that several key rules share. Each is a
#   value, not a function, so it is computed at most once per evaluation
#   whichever rules read it.
package atrest.lib.key

# file_system_ids lists the IDs of the live file systems the key protects,
# sorted.
file_system_ids := sort([id | some f in input.file_systems; id := f.id])

# protects_file_systems holds when the key protects at least one live file
# system. It asks only how many the input lists, so a rule that reads no
# more of them (no file system in its reasons either: the finding lists
# them) is remembered for every key in the same state that protects as
# many, whichever they are.
protects_file_systems if {
	is_array(input.file_systems)
	count(input.file_systems) > 0
}

# unused is the verdict for a key that protects no live file system. Its
# reason names no key (the finding does), so the engine answers every
# unused key in the same state with one remembered result.
unused := {"status": "NOT_APPLICABLE", "reason": "the key protects no live file system"}

# file_systems names the live file systems for a reason.
file_systems := concat(", ", file_system_ids)

# Key metadata fields, each "" when the key or the field is unknown.

default spec := ""

spec := v if {
	v := input.key.key_spec
	is_string(v)
}

# usage is the key usage, or ENCRYPT_DECRYPT for a SYMMETRIC_DEFAULT key
# whose usage is missing: that key spec allows no other usage.
default usage := ""

usage := v if {
	v := input.key.key_usage
	is_string(v)
	v != ""
} else := "ENCRYPT_DECRYPT" if {
	spec == "SYMMETRIC_DEFAULT"
}

default manager := ""

manager := v if {
	v := input.key.key_manager
	is_string(v)
}

default origin := ""

origin := v if {
	v := input.key.origin
	is_string(v)
}

default state := ""

state := v if {
	v := input.key.key_state
	is_string(v)
}
