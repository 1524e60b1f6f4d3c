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
default statements(_) := []

statements(policy) := policy.Statement if {
	is_array(policy.Statement)
} else := [policy.Statement] if {
	policy.Statement != null
}

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
decide(policy, request) := decide_compiled(compile(policy), request)

# compile reads every statement of a policy once: a rule that asks several
# questions of one policy compiles it once (as a value) and calls
# decide_compiled for each.
compile(policy) := [compile_statement(s, i) | some i, s in statements(policy)]

# conditions_on holds when a statement of a compiled policy has a condition
# on key (lower case), or a statement may read it (one not read as a whole).
conditions_on(compiled, key) if {
	some c in compiled
	some e in c.condition.entries
	e.lkey == key
}

# request_levels are the levels of the request's principal: given with the
# request (a rule asking several questions for one principal computes them
# once with levels), or computed here.
request_levels(request) := request.levels if {
	is_object(request.levels)
} else := levels(request.principal)

# decide_compiled is decide for a compiled policy.
decide_compiled(compiled, request) := decision(denied_by, allowed_by, may_deny, may_allow) if {
	lv := request_levels(request)
	action := lower(request.action)
	resource := arn_parts_or_none(request.resource)
	matches := [statement_match(c, action, resource, request, lv) | some c in compiled]
	denied_by := [m.name | some m in matches; m.effect == "Deny"; m.value == "yes"]
	allowed_by := [m | some m in matches; m.effect == "Allow"; m.value == "yes"]
	may_deny := [uncertain_entry(m) | some m in matches; m.effect != "Allow"; m.value == "maybe"]
	may_allow := [uncertain_entry(m) | some m in matches; m.effect != "Deny"; m.value == "maybe"]
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

# compile_statement reads one statement: each element is parsed once, and
# what IAM would not read is kept as the reason its part matches "maybe".
compile_statement(s, i) := {
	"name": statement_name(s, i),
	"effect": effect,
	"effect_why": effect_problem(effect),
	"action": compile_action(s),
	"resource": compile_resource(s),
	"principal": compile_principal(s),
	"condition": compile_condition(s),
} if {
	is_object(s)
	effect := object.get(s, "Effect", "")
} else := {"name": sprintf("statement %d", [i]), "effect": "", "invalid": true}

# statement_match is {"name", "effect", "value", "why", "via_account"} for
# one compiled statement: value "yes", "no" or "maybe" with the reasons for
# "maybe".
statement_match(c, action, resource, request, lv) := {
	"name": c.name,
	"effect": "",
	"value": "maybe",
	"why": {"the statement is not an object"},
	"via_account": false,
} if {
	c.invalid
} else := {
	"name": c.name,
	"effect": c.effect,
	"value": value,
	"why": reasons(value, [e, a, r, p, k]),
	"via_account": p.via_account,
} if {
	e := problem_or_yes(c.effect_why)
	a := action_match(c.action, action)
	r := resource_match(c.resource, resource)
	p := principal_match(c.principal, lv)
	k := condition_match(c.condition, request)
	value := and3({e.value, a.value, r.value, p.value, k.value})
}

# reasons gathers the reasons of the parts of a statement that matches
# "maybe"; a "yes" or "no" needs none.
reasons("maybe", parts) := {why | some part in parts; some why in part.why}

reasons(value, _) := set() if value != "maybe"

problem_or_yes("") := yes

problem_or_yes(why) := maybe(why) if why != ""

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

effect_problem(effect) := "" if {
	effect in {"Allow", "Deny"}
} else := sprintf("Effect %v is neither Allow nor Deny", [effect])

# Action and NotAction: patterns match case-insensitively, with * and ?.

compile_action(s) := {"why": "it has both Action and NotAction"} if {
	"Action" in object.keys(s)
	"NotAction" in object.keys(s)
} else := {"why": "it has neither Action nor NotAction"} if {
	not "Action" in object.keys(s)
	not "NotAction" in object.keys(s)
} else := {"why": "its Action or NotAction holds a value that is not a string"} if {
	some p in as_list(object.get(s, "Action", object.get(s, "NotAction", null)))
	not is_string(p)
} else := {"why": "", "not": not_element, "exact": {p | some p in patterns; not wildcard(p)}, "globs": [glob_pattern(p) | some p in patterns; wildcard(p)]} if {
	not_element := "NotAction" in object.keys(s)
	patterns := {lower(p) | some p in as_list(object.get(s, "Action", object.get(s, "NotAction", [])))}
}

# wildcard holds for a pattern with * or ?; others are compared as they are.
wildcard(p) if contains(p, "*")

wildcard(p) if contains(p, "?")

action_match(a, action) := maybe(a.why) if {
	a.why != ""
} else := yes if {
	action_hit(a, action) != a.not
} else := no

default action_hit(_, _) := false

action_hit(a, action) if {
	action in a.exact
} else if {
	some g in a.globs
	glob.match(g, null, action)
}

# action_part is the Action/NotAction part of a statement for action.
action_part(s, action) := action_match(compile_action(s), action)

# glob_pattern keeps only * and ? special in an IAM pattern: every other
# glob metacharacter is matched literally.
glob_pattern(pattern) := strings.replace_n({`\*`: "*", `\?`: "?"}, glob.quote_meta(pattern))

# Resource and NotResource: "*" or an ARN pattern, matched component by
# component. A statement with neither covers the resource the policy is
# attached to (IAM would refuse to store it; this reads it as meant).

compile_resource(s) := {"why": "it has both Resource and NotResource"} if {
	"Resource" in object.keys(s)
	"NotResource" in object.keys(s)
} else := {"why": "its Resource or NotResource holds a value that is not a string"} if {
	some p in as_list(object.get(s, "Resource", object.get(s, "NotResource", [])))
	not is_string(p)
} else := {"why": "", "any": true} if {
	not "Resource" in object.keys(s)
	not "NotResource" in object.keys(s)
} else := {
	"why": "",
	"any": false,
	"not": not_element,
	"patterns": [resource_pattern(p) | some p in as_list(object.get(s, "Resource", object.get(s, "NotResource", [])))],
} if {
	not_element := "NotResource" in object.keys(s)
}

# METADATA
# title: The resources a policy names
# description: >-
#   Every Resource or NotResource value other than "*" of a statement of
#   policy: only where there is one may a decision depend on the resource
#   the request names. It reads its argument only, so the engine remembers
#   it by the policy, which every change to a resource reads again.
# custom:
#   memoize: true
named_resources(policy) := {p |
	some s in statements(policy)
	is_object(s)
	some element in ["Resource", "NotResource"]
	some p in as_list(s[element])
	p != "*"
}

# relative gives [policy, resource] in a form that does not name the
# resource where the decisions do not depend on which resource it is, so
# that a rule remembering them by their arguments (METADATA memoize) shares
# them between resources with the same policy: [policy, "*"] when no
# statement names a resource other than "*"; when every resource a
# statement names is "*" or the resource itself, the policy with the
# resource replaced by this_resource in Resource and NotResource, and
# this_resource; [policy, resource] otherwise. Every request decides the
# same for the pair as for the policy and the resource.
relative(policy, resource) := relative_to(policy, resource, named_resources(policy))

# relative_to is relative's pair, given the resources the policy names.
relative_to(policy, resource, named) := [policy, "*"] if {
	count(named) == 0
} else := [object.union(policy, {"Statement": [relative_statement(s, resource) | some s in statements(policy)]}), this_resource] if {
	named == {resource}
} else := [policy, resource]

# this_resource stands in for the resource a policy is attached to.
this_resource := "arn:atrest:this:::resource"

# relative_principal gives the ARN of a principal in a form that does not
# name its assumed-role session where the policy's decisions do not depend
# on which session it is, so that a rule remembering them by their
# arguments shares them between the sessions of a role: the role's
# this_session ARN when arn is an assumed-role session ARN that no
# Principal or NotPrincipal of the policy names (and the stand-in is not
# named either); arn otherwise. A session is told from the other sessions
# of its role only by a principal value naming its exact ARN (names). The
# caller must not put arn in the request's context: for a session,
# aws:PrincipalArn is its role's ARN, not the session's.
relative_principal(policy, arn) := stand_in if {
	a := arn_parts_or_none(arn)
	count(a) == 6
	a[2] == "sts"
	parts := split(a[5], "/")
	count(parts) == 3
	parts[0] == "assumed-role"
	stand_in := concat("", [concat(":", array.slice(a, 0, 5)), ":assumed-role/", parts[1], "/", this_session])
	named := named_principals(policy)
	not arn in named
	not stand_in in named
} else := arn

# this_session stands in for an assumed-role session a policy does not name.
this_session := "atrest-this-session"

# METADATA
# title: The principals a policy names
# description: >-
#   Every string a Principal or NotPrincipal of policy holds, at any key.
#   It reads its argument only, so the engine remembers it by the policy.
# custom:
#   memoize: true
named_principals(policy) := {v |
	some s in statements(policy)
	is_object(s)
	some element in ["Principal", "NotPrincipal"]
	p := object.get(s, element, null)
	some v in principal_strings(p)
}

principal_strings(p) := {p} if {
	is_string(p)
} else := {v |
	is_object(p)
	some values in p
	some v in as_list(values)
	is_string(v)
}

relative_statement(s, resource) := object.union(s, {element: this_or_all(v, resource) |
	some element in ["Resource", "NotResource"]
	v := s[element]
}) if {
	is_object(s)
} else := s

this_or_all(v, resource) := [this_or_it(p, resource) | some p in v] if {
	is_array(v)
} else := this_or_it(v, resource)

this_or_it(v, resource) := this_resource if {
	v == resource
} else := v

# resource_pattern is "*", the glob patterns of an ARN pattern's six
# components, or [] for a pattern that is not an ARN (it matches nothing).
resource_pattern("*") := "*"

resource_pattern(p) := [glob_pattern(part) | some part in arn_parts_or_none(p)] if p != "*"

# resource_match matches the resource's ARN components.
resource_match(r, resource) := maybe(r.why) if {
	r.why != ""
} else := yes if {
	r.any
} else := yes if {
	hit := count([p | some p in r.patterns; resource_hit(p, resource)]) > 0
	hit != r.not
} else := no

resource_hit("*", _)

resource_hit(p, resource) if {
	count(p) == 6
	every i, g in p {
		glob.match(g, null, resource[i])
	}
}

# resource_part is the Resource/NotResource part of a statement for an ARN.
resource_part(s, resource) := resource_match(compile_resource(s), arn_parts_or_none(resource))

# arn_like matches an ARN against an ARN pattern: each of the six
# colon-separated components separately, with * and ?, case-sensitively.
arn_like(pattern, arn) if {
	p := arn_parts(pattern)
	a := arn_parts(arn)
	every i, part in p {
		glob.match(glob_pattern(part), null, a[i])
	}
}

default arn_parts_or_none(_) := []

arn_parts_or_none(arn) := parts if {
	parts := arn_parts(arn)
}

# arn_parts splits an ARN into its six components; the last keeps its colons.
arn_parts(arn) := parts if {
	parts := split(arn, ":")
	count(parts) == 6
} else := array.concat(array.slice(parts, 0, 5), [concat(":", array.slice(parts, 5, count(parts)))]) if {
	parts := split(arn, ":")
	count(parts) > 6
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

compile_principal(s) := {"why": "it has both Principal and NotPrincipal"} if {
	"Principal" in object.keys(s)
	"NotPrincipal" in object.keys(s)
} else := {"why": "it has neither Principal nor NotPrincipal"} if {
	not "Principal" in object.keys(s)
	not "NotPrincipal" in object.keys(s)
} else := {"why": concat("; ", sort(problems))} if {
	problems := principal_shape_problems(object.get(s, "Principal", object.get(s, "NotPrincipal", null)))
	count(problems) > 0
} else := {"why": "", "not": not_element, "value": value, "everyone": everyone(value), "values": principal_values(value)} if {
	not_element := "NotPrincipal" in object.keys(s)
	value := object.get(s, "Principal", object.get(s, "NotPrincipal", null))
}

# principal_values parses each value of a Principal object once: its key
# ("AWS", "Service", ...), the account it names as a whole, and its ARN
# components.
principal_values("*") := []

principal_values(value) := [{"key": k, "raw": v, "account": object.get(accounts, v, ""), "arn": arn_parts_or_none(v)} |
	some k, values in value
	some v in as_list(values)
] if {
	is_object(value)
	accounts := {v: a | some values in value; some v in as_list(values); a := account_of(v)}
}

# everyone is true for "*" and {"AWS": "*"}: every principal, anonymous
# included.
default everyone(_) := false

everyone(value) if {
	value == "*"
} else if {
	is_object(value)
	"*" in as_list(object.get(value, "AWS", []))
}

principal_match(p, lv) := {"value": "maybe", "why": {p.why}, "via_account": false} if {
	p.why != ""
} else := {"value": "yes", "why": set(), "via_account": false} if {
	p.everyone
	not p.not
} else := {"value": "no", "why": set(), "via_account": false} if {
	p.everyone
} else := {"value": v, "why": principal_why(v), "via_account": only_account(named)} if {
	not p.not
	named := principal_named(p, lv)
	v := or3({l | some l in named})
} else := {"value": v, "why": principal_why(v), "via_account": false} if {
	named := principal_named(p, lv)
	v := or3({not3(l) | some l in named})
}

# principal_part is the Principal/NotPrincipal part of a statement for a
# principal.
principal_part(s, principal) := principal_match(compile_principal(s), levels(principal))

principal_why("maybe") := {"it names principals the requester may or may not be"}

principal_why(v) := set() if v != "maybe"

# only_account is true when the account is the only level named.
default only_account(_) := false

only_account(named) if {
	{level | some level, value in named; value == "yes"} == {"account"}
}

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
principal_named(p, lv) := {level: "yes" | some level, _ in lv} if {
	p.value == "*"
} else := {level: or3(answers) |
	some level, id in lv
	answers := {names(pv, id) | some pv in p.values}
}

# levels are the levels of a principal: anonymous; account plus user,
# role and session, or other (root, federated user, ...), or unknown.
levels(principal) := {"anonymous": {"kind": "anonymous"}} if {
	principal.anonymous == true
} else := object.union({"account": {"kind": "account", "account": object.get(principal, "account", "")}}, identity_levels(principal, object.get(principal, "account", "")))

identity_levels(principal, account) := {"unknown": {"kind": "unknown", "account": account}} if {
	not is_string(principal.arn)
} else := arn_levels(arn_parts_or_none(principal.arn), principal.arn, account)

arn_levels(a, arn, account) := {"unknown": {"kind": "unknown", "account": account}} if {
	count(a) != 6
} else := {"session": {"kind": "exact", "arn": arn}, "role": {"kind": "role", "account": account, "name": name}} if {
	a[2] == "sts"
	startswith(a[5], "assumed-role/")
	name := split(a[5], "/")[1]
} else := {"user": {"kind": "user", "account": account, "name": name}} if {
	a[2] == "iam"
	startswith(a[5], "user/")
	name := last(split(a[5], "/"))
} else := {"role": {"kind": "role", "account": account, "name": name}} if {
	a[2] == "iam"
	startswith(a[5], "role/")
	name := last(split(a[5], "/"))
} else := {} if {
	a[2] == "iam"
	a[5] == "root"
} else := {"other": {"kind": "exact", "arn": arn}}

last(parts) := parts[count(parts) - 1]

# names says whether a parsed principal value pv names the level id.
# Service, Federated and CanonicalUser principals are never the IAM or
# anonymous principals atrest asks about.
names(pv, id) := "no" if {
	pv.key != "AWS"
} else := "yes" if {
	pv.raw == "*"
} else := "yes" if {
	id.kind == "account"
	pv.account == id.account
} else := "yes" if {
	id.kind == "exact"
	pv.raw == id.arn
} else := "yes" if {
	id.kind in {"role", "user"}
	pv.arn[2] == "iam"
	pv.arn[4] == id.account
	startswith(pv.arn[5], concat("", [id.kind, "/"]))
	last(split(pv.arn[5], "/")) == id.name
} else := "maybe" if {
	# A unique principal id: it may name anyone.
	id.kind == "unknown"
	pv.account == ""
	count(pv.arn) == 0
} else := "maybe" if {
	id.kind == "unknown"
	pv.account == ""
	pv.arn[4] == id.account
} else := "no"

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

compile_condition(s) := {"why": "", "entries": []} if {
	not "Condition" in object.keys(s)
} else := {"why": "its Condition is not an object"} if {
	not is_object(s.Condition)
} else := {"why": "", "entries": [compile_entry(op, key, values) |
	some op, block in s.Condition
	some key, values in condition_block(op, block)
]}

compile_entry(op, key, values) := {
	"why": condition_problem(op, key, values),
	"op": op,
	"key": key,
	"lkey": lower(key),
	"o": operator(op),
	"values": [value_string(v) | some v in as_list(values)],
}

condition_match(k, request) := maybe(k.why) if {
	k.why != ""
} else := {"value": and3({r.value | some r in results}), "why": {w | some r in results; some w in r.why}} if {
	results := [entry_result(e, request) | some e in k.entries]
}

entry_result(e, request) := maybe(e.why) if {
	e.why != ""
} else := condition_on(e.o, e.op, e.key, e.values, key_state(request, e.lkey))

# condition_part is the Condition part of a statement for a request.
condition_part(s, request) := condition_match(compile_condition(s), request)

# condition_block is an operator's block; a block that is not an object is
# read as one unreadable entry.
condition_block(_, block) := block if is_object(block)

else := {"": null}

default condition_problem(_, _, _) := ""

condition_problem(op, key, values) := sprintf("its %s block is not an object", [op]) if {
	key == ""
	values == null
} else := sprintf("its %s condition on %s has a value that is not a string, number or boolean", [op, key]) if {
	some v in as_list(values)
	not is_string(v)
	not is_number(v)
	not is_boolean(v)
} else := sprintf("its %s condition on %s uses a policy variable", [op, key]) if {
	some v in as_list(values)
	is_string(v)
	contains(v, "${")
}

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

default qualifier(_) := ""

qualifier(l) := "any" if {
	startswith(l, "foranyvalue:")
} else := "all" if {
	startswith(l, "forallvalues:")
}

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
condition_on(o, op, key, values, ks) := three(values_hold(o, values, ks.values)) if {
	# The usual case first: the request carries the key with known values.
	ks.state == "values"
	positive[o.base]
} else := null_check(key, values, ks) if {
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
} else := maybe(sprintf("operator %s is not evaluated", [op]))

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

default value_hit(_, _, _) := false

value_hit(pos, policy_values, v) if {
	some p in policy_values
	value_matches(pos, p, v)
}

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
	some who in {pair[0] | some pair in pairs}
}))
