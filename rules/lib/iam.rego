# METADATA
# title: IAM policy evaluation
# description: >-
#   Evaluates one request against a resource-based policy document (a key
#   policy, a file-system policy) the way IAM does, and says whether the
#   policy denies it explicitly, allows it, or leaves it implicitly denied,
#   naming the statement that decides. Explicit Deny beats Allow.
#
#   A request is an object:
#     action      "kms:Decrypt" (any case)
#     resource    the ARN of the resource the policy is attached to
#     principal   {"anonymous": true} for an unauthenticated caller, or
#                 {"arn": ..., "account": ...}: an IAM user, root, role or
#                 assumed-role session ARN; "" when the principal is not
#                 known beyond its account
#     context     condition keys in lower case, each an array of string
#                 values (the key is present with these values), "present"
#                 (present, value unknown) or "unknown" (it may be absent)
#     other_keys  "absent" (every key not in context is absent) or
#                 "unknown" (the request may carry keys not in context)
#
#   Each statement matches the request "yes", "no" or "maybe" (the answer
#   depends on something the request does not settle, or on a part of the
#   statement this evaluator does not read). A statement of an unexpected
#   shape matches at most "maybe", with a reason, never with a Rego error.
# related_resources:
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
#   - ref: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
package atrest.lib.iam

# statements lists the statements of a policy document: Statement may be one
# object or a list; [] when there is none. A Statement of another kind is
# one statement that is not an object.
statements(policy) := policy.Statement if {
	is_array(policy.Statement)
} else := [policy.Statement] if {
	policy.Statement != null
} else := []

# as_list turns a one-or-many policy value into a list.
as_list(x) := x if is_array(x)

else := [x]

# statement_name names a statement for a reason: its Sid, or its index.
statement_name(statement, i) := sprintf("statement %s", [statement.Sid]) if {
	is_string(statement.Sid)
	statement.Sid != ""
} else := sprintf("statement %d", [i])

# decide evaluates request against policy. The result:
#   decision    "denied" (a Deny statement applies), "allowed" (an Allow
#               statement applies and no Deny may), "implicit" (no statement
#               may allow it) or "unknown" (a Deny may apply to an allowed
#               request, or an Allow may apply and none surely does)
#   statement   the deciding statement for "denied" and "allowed"
#   delegated   for "allowed": every Allow that applies names the
#               principal only through its account (account root or id), so
#               in the same account the principal's IAM identity policies
#               decide
#   uncertain   for "unknown": the statements that may apply, each
#               {"name", "effect", "why"}
decide(policy, request) := result if {
	matches := [m |
		some i, s in statements(policy)
		m := statement_match(s, i, request)
	]
	denied_by := [m.name | some m in matches; m.effect == "Deny"; m.value == "yes"]
	allowed_by := [m | some m in matches; m.effect == "Allow"; m.value == "yes"]
	may_deny := [uncertain_entry(m) | some m in matches; m.effect != "Allow"; m.value == "maybe"]
	may_allow := [uncertain_entry(m) | some m in matches; m.effect != "Deny"; m.value == "maybe"]
	result := decision(denied_by, allowed_by, may_deny, may_allow)
}

decision(denied_by, allowed_by, may_deny, may_allow) := {"decision": "denied", "statement": denied_by[0], "delegated": false, "uncertain": []} if {
	count(denied_by) > 0
} else := {"decision": "allowed", "statement": deciding_allow(allowed_by).name, "delegated": deciding_allow(allowed_by).via_account, "uncertain": []} if {
	count(allowed_by) > 0
	count(may_deny) == 0
} else := {"decision": "implicit", "statement": "", "delegated": false, "uncertain": []} if {
	count(allowed_by) == 0
	count(may_allow) == 0
} else := {"decision": "unknown", "statement": "", "delegated": false, "uncertain": may_deny} if {
	count(allowed_by) > 0
} else := {"decision": "unknown", "statement": "", "delegated": false, "uncertain": array.concat(may_deny, [u | some u in may_allow; not u in may_deny])}

# deciding_allow is the first Allow that grants the principal directly, or
# else the first Allow.
deciding_allow(allowed_by) := m if {
	direct := [a | some a in allowed_by; not a.via_account]
	m := direct[0]
} else := allowed_by[0]

uncertain_entry(m) := {"name": m.name, "effect": m.effect, "why": concat("; ", sort(m.why))}

# statement_match is {"name", "effect", "value", "why", "via_account"} for
# one statement: value "yes", "no" or "maybe" with the reasons for "maybe".
statement_match(s, i, request) := {
	"name": statement_name(s, i),
	"effect": effect,
	"value": and3({e.value, a.value, r.value, p.value, c.value}),
	"why": ((((e.why | a.why) | r.why) | p.why) | c.why),
	"via_account": p.via_account,
} if {
	is_object(s)
	effect := object.get(s, "Effect", "")
	e := effect_part(effect)
	a := action_part(s, lower(request.action))
	r := resource_part(s, request.resource)
	p := principal_part(s, request.principal)
	c := condition_part(s, request)
} else := {
	"name": sprintf("statement %d", [i]),
	"effect": "",
	"value": "maybe",
	"why": {"the statement is not an object"},
	"via_account": false,
}

# and3 is the three-valued AND of a set of "yes", "no" and "maybe".
and3(values) := "no" if {
	"no" in values
} else := "maybe" if {
	"maybe" in values
} else := "yes"

# or3 is the three-valued OR.
or3(values) := "yes" if {
	"yes" in values
} else := "maybe" if {
	"maybe" in values
} else := "no"

not3(v) := {"yes": "no", "no": "yes", "maybe": "maybe"}[v]

yes := {"value": "yes", "why": set()}

no := {"value": "no", "why": set()}

maybe(why) := {"value": "maybe", "why": {why}}

effect_part(effect) := yes if {
	effect in {"Allow", "Deny"}
} else := maybe(sprintf("Effect %v is neither Allow nor Deny", [effect]))

# Action and NotAction: patterns match case-insensitively, with * and ?.

action_part(s, action) := maybe("it has both Action and NotAction") if {
	"Action" in object.keys(s)
	"NotAction" in object.keys(s)
} else := maybe("it has neither Action nor NotAction") if {
	not "Action" in object.keys(s)
	not "NotAction" in object.keys(s)
} else := maybe("its Action or NotAction holds a value that is not a string") if {
	some p in as_list(object.get(s, "Action", object.get(s, "NotAction", null)))
	not is_string(p)
} else := yes if {
	some p in as_list(s.Action)
	action_matches(p, action)
} else := no if {
	"Action" in object.keys(s)
} else := no if {
	some p in as_list(s.NotAction)
	action_matches(p, action)
} else := yes

# action_matches holds when an IAM action pattern covers action (lower case).
action_matches(pattern, action) if glob.match(glob_pattern(lower(pattern)), null, action)

# glob_pattern keeps only * and ? special in an IAM pattern: every other
# glob metacharacter is matched literally.
glob_pattern(pattern) := strings.replace_n({`\*`: "*", `\?`: "?"}, glob.quote_meta(pattern))

# Resource and NotResource: "*" or an ARN pattern, matched component by
# component. A statement with neither covers the resource the policy is
# attached to (IAM would refuse to store it; this reads it as meant).

resource_part(s, resource) := maybe("it has both Resource and NotResource") if {
	"Resource" in object.keys(s)
	"NotResource" in object.keys(s)
} else := maybe("its Resource or NotResource holds a value that is not a string") if {
	some p in as_list(object.get(s, "Resource", object.get(s, "NotResource", [])))
	not is_string(p)
} else := yes if {
	not "Resource" in object.keys(s)
	not "NotResource" in object.keys(s)
} else := yes if {
	some p in as_list(s.Resource)
	resource_matches(p, resource)
} else := no if {
	"Resource" in object.keys(s)
} else := no if {
	some p in as_list(s.NotResource)
	resource_matches(p, resource)
} else := yes

resource_matches("*", _)

resource_matches(pattern, resource) if arn_like(pattern, resource)

# arn_like matches an ARN against an ARN pattern: each of the six
# colon-separated components separately, with * and ?, case-sensitively.
arn_like(pattern, arn) if {
	p := arn_parts(pattern)
	a := arn_parts(arn)
	every i, part in p {
		glob.match(glob_pattern(part), null, a[i])
	}
}

# arn_parts splits an ARN into its six components; the last keeps its colons.
arn_parts(arn) := array.concat(array.slice(parts, 0, 5), [concat(":", array.slice(parts, 5, count(parts)))]) if {
	parts := split(arn, ":")
	count(parts) >= 6
}

# Principal and NotPrincipal.
#
# A principal is identified at several levels, each of which a policy may
# name: its account (an account root ARN or a bare account id names every
# principal of the account), the user, or the role and the assumed-role
# session. Principal applies when a level is named; NotPrincipal applies
# unless every level is named (IAM checks account, then role, then session,
# so an exemption must name them all). An anonymous caller has no level:
# only "*" names it.

principal_part(s, principal) := {"value": "maybe", "why": {"it has both Principal and NotPrincipal"}, "via_account": false} if {
	"Principal" in object.keys(s)
	"NotPrincipal" in object.keys(s)
} else := {"value": "maybe", "why": {"it has neither Principal nor NotPrincipal"}, "via_account": false} if {
	not "Principal" in object.keys(s)
	not "NotPrincipal" in object.keys(s)
} else := {"value": "maybe", "why": {why}, "via_account": false} if {
	some why in principal_shape_problems(object.get(s, "Principal", object.get(s, "NotPrincipal", null)))
} else := {"value": v, "why": principal_why(v), "via_account": via_account} if {
	"Principal" in object.keys(s)
	named := principal_named(s.Principal, principal)
	v := or3({l | some l in named})
	via_account := only_account(named)
} else := {"value": v, "why": principal_why(v), "via_account": false} if {
	named := principal_named(s.NotPrincipal, principal)
	v := or3({not3(l) | some l in named})
}

principal_why("maybe") := {"it names principals the requester may or may not be"}

principal_why(v) := set() if v != "maybe"

# only_account is true when the account is the only level named.
only_account(named) if {
	{level | some level, value in named; value == "yes"} == {"account"}
} else := false

# principal_shape_problems lists what IAM would not read in a Principal or
# NotPrincipal value.
principal_shape_problems(p) := set() if {
	p == "*"
} else := {"its Principal is not \"*\" or an object"} if {
	not is_object(p)
} else := {sprintf("its Principal has a %s value that is not a string", [k]) |
	some k, values in p
	some v in as_list(values)
	not is_string(v)
}

# principal_named maps each level of the principal to "yes", "no" or
# "maybe": whether the Principal (or NotPrincipal) value names it.
principal_named("*", principal) := {level: "yes" | some level, _ in levels(principal)}

principal_named(p, principal) := {level: or3(answers) |
	some level, id in levels(principal)
	answers := {answer |
		some k, values in p
		some v in as_list(values)
		answer := names(k, v, id)
	}
} if is_object(p)

# levels are the levels of a principal: anonymous; account plus user,
# role and session, or other (root, federated user, ...), or unknown.
levels(principal) := {"anonymous": {"kind": "anonymous"}} if {
	principal.anonymous == true
} else := object.union({"account": {"kind": "account", "account": object.get(principal, "account", "")}}, identity_levels(principal, object.get(principal, "account", "")))

identity_levels(principal, account) := {"unknown": {"kind": "unknown", "account": account}} if {
	not is_string(principal.arn)
} else := {"unknown": {"kind": "unknown", "account": account}} if {
	not arn_parts(principal.arn)
} else := {"session": {"kind": "exact", "arn": principal.arn}, "role": {"kind": "role", "account": account, "name": name}} if {
	a := arn_parts(principal.arn)
	a[2] == "sts"
	startswith(a[5], "assumed-role/")
	name := split(a[5], "/")[1]
} else := {"user": {"kind": "user", "account": account, "name": name}} if {
	a := arn_parts(principal.arn)
	a[2] == "iam"
	startswith(a[5], "user/")
	name := last(split(a[5], "/"))
} else := {"role": {"kind": "role", "account": account, "name": name}} if {
	a := arn_parts(principal.arn)
	a[2] == "iam"
	startswith(a[5], "role/")
	name := last(split(a[5], "/"))
} else := {} if {
	a := arn_parts(principal.arn)
	a[2] == "iam"
	a[5] == "root"
} else := {"other": {"kind": "exact", "arn": principal.arn}}

last(parts) := parts[count(parts) - 1]

# names says whether the principal value v under key k ("AWS", "Service",
# ...) names the level id.
names("AWS", "*", _) := "yes"

# Service, Federated and CanonicalUser principals are never the IAM or
# anonymous principals atrest asks about.
names(k, _, _) := "no" if k != "AWS"

names("AWS", v, id) := "yes" if {
	v != "*"
	id.kind == "account"
	account_of(v) == id.account
} else := "yes" if {
	v != "*"
	id.kind == "exact"
	v == id.arn
} else := "yes" if {
	v != "*"
	id.kind in {"role", "user"}
	a := arn_parts(v)
	a[2] == "iam"
	a[4] == id.account
	startswith(a[5], concat("", [id.kind, "/"]))
	last(split(a[5], "/")) == id.name
} else := "maybe" if {
	v != "*"
	id.kind == "unknown"
	not account_of(v)
	not arn_parts(v) # a unique principal id: it may name anyone
} else := "maybe" if {
	v != "*"
	id.kind == "unknown"
	a := arn_parts(v)
	a[4] == id.account
	not account_of(v)
} else := "no" if {
	v != "*"
}

# account_of is the account a principal value names as a whole: a bare
# 12-digit account id or an account root ARN.
account_of(v) := v if {
	regex.match(`^[0-9]{12}$`, v)
} else := a[4] if {
	a := arn_parts(v)
	a[2] == "iam"
	a[5] == "root"
}

# Conditions: every operator, every key within it must hold (AND); the
# values listed for one key are alternatives (OR).

condition_part(s, request) := yes if {
	not "Condition" in object.keys(s)
} else := maybe("its Condition is not an object") if {
	not is_object(s.Condition)
} else := {"value": v, "why": why} if {
	results := [condition_result(op, key, values, request) |
		some op, block in s.Condition
		some key, values in condition_block(op, block)
	]
	v := and3({r.value | some r in results})
	why := {w | some r in results; some w in r.why}
}

# condition_block is an operator's block; a block that is not an object is
# read as one unreadable entry.
condition_block(_, block) := block if is_object(block)

else := {"": null}

condition_result(op, key, values, request) := maybe(sprintf("its %s block is not an object", [op])) if {
	key == ""
	values == null
} else := maybe(sprintf("its %s condition on %s has a value that is not a string, number or boolean", [op, key])) if {
	some v in as_list(values)
	not is_string(v)
	not is_number(v)
	not is_boolean(v)
} else := maybe(sprintf("its %s condition on %s uses a policy variable", [op, key])) if {
	some v in as_list(values)
	is_string(v)
	contains(v, "${")
} else := condition_on(operator(op), op, key, [value_string(v) | some v in as_list(values)], key_state(request, lower(key)))

value_string(v) := v if is_string(v)

else := sprintf("%v", [v])

# operator parses an operator name into its set qualifier ("any", "all" or
# ""), base operator (lower case, without IfExists) and IfExists flag.
operator(op) := {"set": qual, "base": base, "if_exists": if_exists} if {
	l := lower(op)
	qual := qualifier(l)
	rest := trim_prefix(trim_prefix(l, "foranyvalue:"), "forallvalues:")
	if_exists := endswith(rest, "ifexists")
	base := trim_suffix(rest, "ifexists")
}

qualifier(l) := "any" if {
	startswith(l, "foranyvalue:")
} else := "all" if {
	startswith(l, "forallvalues:")
} else := ""

# negated operators: StringNotEquals, StringNotLike, ArnNotLike,
# NumericNotEquals, NotIpAddress, ...
negated(base) if contains(base, "not")

# positive maps each evaluated operator to the operator whose negation it is
# (or to itself).
positive := {
	"stringequals": "stringequals",
	"stringnotequals": "stringequals",
	"stringequalsignorecase": "stringequalsignorecase",
	"stringnotequalsignorecase": "stringequalsignorecase",
	"stringlike": "stringlike",
	"stringnotlike": "stringlike",
	"bool": "bool",
	"arnequals": "arnlike",
	"arnlike": "arnlike",
	"arnnotequals": "arnlike",
	"arnnotlike": "arnlike",
}

# key_state is the request's knowledge of a condition key: {"state":
# "values", "values": [...]}, {"state": "present"}, {"state": "absent"} or
# {"state": "unknown"}.
key_state(request, key) := {"state": "values", "values": v} if {
	v := request.context[key]
	is_array(v)
} else := {"state": v} if {
	v := request.context[key]
	v in {"present", "unknown", "absent"}
} else := {"state": "absent"} if {
	request.other_keys == "absent"
} else := {"state": "unknown"}

# condition_on evaluates one operator on one key.
condition_on(o, op, key, values, ks) := null_check(key, values, ks) if {
	o.base == "null"
} else := yes if {
	# A key the request does not carry: ...IfExists and ForAllValues hold,
	# ForAnyValue does not, a negated operator holds, a positive one not.
	ks.state == "absent"
	o.if_exists
} else := yes if {
	ks.state == "absent"
	o.set == "all"
} else := no if {
	ks.state == "absent"
	o.set == "any"
} else := yes if {
	ks.state == "absent"
	negated(o.base)
} else := no if {
	ks.state == "absent"
} else := maybe(sprintf("the request may or may not carry %s", [key])) if {
	ks.state == "unknown"
} else := maybe(sprintf("the value of %s is not known", [key])) if {
	ks.state == "present"
} else := maybe(sprintf("operator %s is not evaluated", [op])) if {
	not positive[o.base]
} else := three(values_hold(o, values, ks.values))

three(true) := yes

three(false) := no

# null_check: Null true holds when the key is absent, false when present.
null_check(key, values, ks) := maybe(sprintf("the request may or may not carry %s", [key])) if {
	ks.state == "unknown"
} else := yes if {
	some v in values
	lower(v) == bool_string(ks.state == "absent")
} else := no

bool_string(true) := "true"

bool_string(false) := "false"

values_hold(o, policy_values, request_values) := result if {
	pos := positive[o.base]
	hits := [hit | some v in request_values; hit := value_hit(pos, policy_values, v)]
	wanted := polarity(o.base)
	outcomes := [outcome | some h in hits; outcome := h == wanted]
	result := set_hold(o.set, outcomes)
}

polarity(base) := false if negated(base)

else := true

value_hit(pos, policy_values, v) if {
	some p in policy_values
	value_matches(pos, p, v)
} else := false

# set_hold combines the per-value outcomes: every one for ForAllValues, at
# least one otherwise.
set_hold("all", outcomes) := count([o | some o in outcomes; o == false]) == 0

set_hold(qual, outcomes) := count([o | some o in outcomes; o == true]) > 0 if qual != "all"

value_matches("stringequals", p, v) if p == v

value_matches("stringequalsignorecase", p, v) if lower(p) == lower(v)

value_matches("stringlike", p, v) if glob.match(glob_pattern(p), null, v)

value_matches("bool", p, v) if lower(p) == lower(v)

value_matches("arnlike", p, v) if arn_like(p, v)

# summarize groups [who, what] pairs into "who what1, what2" phrases, joined
# with "; " in a stable order.
summarize(pairs) := concat("; ", sort({sprintf("%s %s", [who, concat(", ", sort({pair[1] | some pair in pairs; pair[0] == who}))]) |
	some p in pairs
	who := p[0]
}))
