# METADATA
# title: IAM policy documents
# description: >-
#   Reads IAM-style policy documents (key policies, file-system policies) the
#   way IAM does: Statement may be one object or a list, Action and NotAction
#   may be a string or a list, and action patterns match case-insensitively
#   with * and ? wildcards.
# related_resources:
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
package atrest.lib.iam

# statements lists the statements of a policy document; [] when there are none.
statements(policy) := policy.Statement if {
	is_array(policy.Statement)
} else := [policy.Statement] if {
	is_object(policy.Statement)
} else := []

# as_list turns a one-or-many policy value into a list.
as_list(x) := x if is_array(x)

else := [x]

# action_matches holds when an IAM action pattern covers action (lower case).
action_matches(pattern, action) if {
	is_string(pattern)
	glob.match(glob_pattern(lower(pattern)), null, action)
}

# glob_pattern keeps only * and ? special in a lower-case IAM pattern: every
# other glob metacharacter is matched literally.
glob_pattern(pattern) := strings.replace_n({`\*`: "*", `\?`: "?"}, glob.quote_meta(pattern))

# covered is the set of names in actions (an object from lower-case action to
# name) that some statement of statements covers through its Action element,
# or through its NotAction element when it has no Action. Each pattern is
# lowered and prepared once: one without * or ? is an exact name, looked up
# in a set; only the others are matched as globs.
covered(statements, actions) := by_action | by_not_action if {
	patterns := {lower(p) | some s in statements; p := s.Action; is_string(p)} | {lower(p) |
		some s in statements
		is_array(s.Action)
		some p in s.Action
		is_string(p)
	}
	globs := {glob_pattern(p) | some p in patterns; regex.match(`[*?]`, p)}
	by_action := {name | some name in object.filter(actions, patterns)} | {name |
		some action, name in object.remove(actions, patterns)
		some g in globs
		glob.match(g, null, action)
	}
	by_not_action := {name |
		some s in statements
		not "Action" in object.keys(s)
		"NotAction" in object.keys(s)
		some action, name in actions
		every pattern in as_list(s.NotAction) {
			not action_matches(pattern, action)
		}
	}
}

# denying_everyone lists the statements of statements that are unconditional
# Denies to every principal.
denying_everyone(statements) := [s |
	some s in statements
	s.Effect == "Deny"
	everyone(s)
	unconditional(s)
]

# everyone holds when a statement's Principal is every principal.
everyone(statement) if statement.Principal == "*"

everyone(statement) if "*" in as_list(statement.Principal.AWS)

# unconditional holds when a statement has no Condition to narrow it.
unconditional(statement) if not statement.Condition

unconditional(statement) if statement.Condition == {}
