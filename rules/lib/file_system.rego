# METADATA
# title: EFS file system facts
# description: >-
#   Facts about the file system being judged that the file-system rules
#   share. They read the file system's fields one by one, never the object
#   as a whole, so that what a rule reads of the input leaves out the file
#   system's identity (rules/README.md, "What a rule reads, and the
#   engine's memo").
package atrest.lib.file_system

# described holds when the input describes the file system: the pipeline
# sets known, a boolean, on every file system it describes. Reading that
# field instead of testing the object, and naming no file system in their
# reasons (the finding names it), lets the engine remember one result of a
# file-system rule for every file system in the same state.
described if is_boolean(input.file_system.known)
