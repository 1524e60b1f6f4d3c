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
statements(policy) := policy.Statement if is_array(policy.Statement)

statements(policy) := [policy.Statement] if is_object(policy.Statement)

statements(policy) := [] if {
	not is_array(policy.Statement)
	not is_object(policy.Statement)
}

# as_list turns a one-or-many policy value into a list.
as_list(x) := x if is_array(x)

as_list(x) := [x] if not is_array(x)

# action_matches holds when an IAM action pattern covers action.
action_matches(pattern, action) if {
	is_string(pattern)
	glob.match(glob_pattern(pattern), null, lower(action))
}

# glob_pattern keeps only * and ? special in an IAM pattern: every other glob
# metacharacter is matched literally.
glob_pattern(pattern) := strings.replace_n(
	{`\*`: "*", `\?`: "?"},
	glob.quote_meta(lower(pattern)),
)

# covers holds when a statement's Action or NotAction element covers action.
covers(statement, action) if {
	some pattern in as_list(statement.Action)
	action_matches(pattern, action)
}

covers(statement, action) if {
	not "Action" in object.keys(statement)
	"NotAction" in object.keys(statement)
	every pattern in as_list(statement.NotAction) {
		not action_matches(pattern, action)
	}
}

# everyone holds when a statement's Principal is every principal.
everyone(statement) if statement.Principal == "*"

everyone(statement) if "*" in as_list(statement.Principal.AWS)

# unconditional holds when a statement has no Condition to narrow it.
unconditional(statement) if not statement.Condition

unconditional(statement) if statement.Condition == {}

# denies_everyone holds when a statement is an unconditional Deny to every
# principal.
denies_everyone(statement) if {
	statement.Effect == "Deny"
	everyone(statement)
	unconditional(statement)
}
