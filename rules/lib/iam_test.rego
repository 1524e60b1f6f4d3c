package atrest.lib.iam_test

import data.atrest.lib.iam

# Requests the tests ask about. Keys in context are lower case, as the rules
# build them.
base_request := {
	"action": "kms:Decrypt",
	"resource": "arn:aws:kms:eu-west-1:111122223333:key/k1",
	"principal": {"arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333"},
	"context": {},
	"other_keys": "absent",
}

# with_key builds the request for one key state: "match" and "mismatch"
# carry a value, "present" a value not known, "absent" no key, "unknown"
# maybe the key.
with_key(key, state, value) := object.union(base_request, {"context": {key: [value]}}) if state in {"match", "mismatch"}

with_key(key, "present", _) := object.union(base_request, {"context": {key: "present"}})

with_key(_, "absent", _) := base_request

with_key(_, "unknown", _) := object.union(base_request, {"other_keys": "unknown"})

condition(c, request) := iam.condition_part({"Condition": c}, request).value

# truth lists, for an operator, a policy value, a request value that matches
# it and one that does not, and the expected answer for each key state.
truth := [
	["StringEquals", "a-Value", "a-Value", "a-value", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["StringNotEquals", "a-Value", "a-Value", "a-value", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["StringEqualsIgnoreCase", "A-VALUE", "a-value", "b-value", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["StringNotEqualsIgnoreCase", "A-VALUE", "a-value", "b-value", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["StringLike", "elasticfilesystem.*.amazonaws.co?", "elasticfilesystem.eu-west-1.amazonaws.com", "ec2.eu-west-1.amazonaws.com", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["StringNotLike", "elasticfilesystem.*", "elasticfilesystem.eu-west-1.amazonaws.com", "ec2.eu-west-1.amazonaws.com", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["Bool", true, "TRUE", "false", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["BoolIfExists", "false", "false", "true", {"match": "yes", "mismatch": "no", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["ArnEquals", "arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::444455556666:role/app", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["ArnLike", "arn:aws:iam::*:role/App?", "arn:aws:iam::111122223333:role/App1", "arn:aws:iam::111122223333:user/App1", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["ArnNotEquals", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::111122223333:role/other", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["ArnNotLike", "arn:aws:iam::111122223333:*", "arn:aws:iam::111122223333:role/app", "not-an-arn", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["StringEqualsIfExists", "a", "a", "b", {"match": "yes", "mismatch": "no", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["StringNotEqualsIfExists", "a", "a", "b", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["ArnLikeIfExists", "arn:aws:iam::*:root", "arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:user/x", {"match": "yes", "mismatch": "no", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["ForAnyValue:StringEquals", ["a", "b"], "b", "c", {"match": "yes", "mismatch": "no", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["ForAllValues:StringEquals", ["a", "b"], "b", "c", {"match": "yes", "mismatch": "no", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["ForAnyValue:StringNotEquals", "a", "a", "c", {"match": "no", "mismatch": "yes", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["ForAllValues:StringNotLike", "a*", "ab", "cd", {"match": "no", "mismatch": "yes", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
	["Null", "true", "x", "x", {"match": "no", "mismatch": "no", "absent": "yes", "present": "no", "unknown": "maybe"}],
	["Null", false, "x", "x", {"match": "yes", "mismatch": "yes", "absent": "no", "present": "yes", "unknown": "maybe"}],
	["NumericLessThan", "10", "5", "50", {"match": "maybe", "mismatch": "maybe", "absent": "no", "present": "maybe", "unknown": "maybe"}],
	["NotIpAddress", "203.0.113.0/24", "203.0.113.7", "192.0.2.1", {"match": "maybe", "mismatch": "maybe", "absent": "yes", "present": "maybe", "unknown": "maybe"}],
]

# Every operator in every key state: a failing row names itself.
test_condition_truth_table if {
	failures := {[row[0], state, got, expected] |
		some row in truth
		[op, policy_value, hit, miss, want] := row
		some state, expected in want
		got := condition({op: {"test:key": policy_value}}, with_key("test:key", state, object.get({"match": hit, "mismatch": miss}, state, "")))
		got != expected
	}
	failures == set()
}

test_condition_multi_valued_keys if {
	two := object.union(base_request, {"context": {"aws:tagkeys": ["env", "owner"]}})
	condition({"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "owner", "team"]}}, two) == "yes"
	condition({"ForAllValues:StringEquals": {"aws:TagKeys": ["env"]}}, two) == "no"
	condition({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "owner"]}}, two) == "yes"
	condition({"ForAnyValue:StringNotEquals": {"aws:TagKeys": "env"}}, two) == "yes"
	condition({"ForAllValues:StringNotEquals": {"aws:TagKeys": "env"}}, two) == "no"
	empty := object.union(base_request, {"context": {"aws:tagkeys": []}})
	condition({"ForAllValues:StringEquals": {"aws:TagKeys": "env"}}, empty) == "yes"
	condition({"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}}, empty) == "no"
}

test_condition_values_and_keys_as_iam_reads_them if {
	account := object.union(base_request, {"context": {"aws:principalaccount": ["111122223333"], "aws:securetransport": ["false"]}})

	# Key names are case-insensitive; values of one key are alternatives;
	# numbers and booleans are read as their text.
	condition({"StringEquals": {"AWS:PrincipalAccount": [444455556666, 111122223333]}}, account) == "yes"
	condition({"Bool": {"aws:securetransport": [false]}}, account) == "yes"

	# Every key and every operator must hold.
	condition({"StringEquals": {"aws:PrincipalAccount": "111122223333"}, "Bool": {"aws:SecureTransport": "true"}}, account) == "no"
	condition({"StringEquals": {"aws:PrincipalAccount": "111122223333", "aws:SecureTransport": "false"}}, account) == "yes"
	condition({}, account) == "yes"
}

part(c) := iam.condition_part({"Condition": c}, base_request)

test_condition_odd_shapes_are_maybe_with_a_reason if {
	part("aws:SecureTransport=false") == {"value": "maybe", "why": {"its Condition is not an object"}}
	part({"Bool": ["aws:SecureTransport"]}) == {"value": "maybe", "why": {"its Bool block is not an object"}}
	part({"StringEquals": {"aws:username": {"a": 1}}}) == {"value": "maybe", "why": {"its StringEquals condition on aws:username has a value that is not a string, number or boolean"}}
	part({"StringEquals": {"aws:username": "${aws:PrincipalTag/name}"}}) == {"value": "maybe", "why": {"its StringEquals condition on aws:username uses a policy variable"}}
	part({"StringEquals": {"aws:username": null}}) == {"value": "maybe", "why": {"its StringEquals condition on aws:username has a value that is not a string, number or boolean"}}
	iam.condition_part({"Condition": {"NumericLessThan": {"k": "1"}}}, object.union(base_request, {"context": {"k": ["0"]}})) == {"value": "maybe", "why": {"operator NumericLessThan is not evaluated"}}
}

# Principal and NotPrincipal.

principal(p, who) := iam.principal_part({"Principal": p}, who)

not_principal(p, who) := iam.principal_part({"NotPrincipal": p}, who).value

anonymous := {"anonymous": true}

alice := {"arn": "arn:aws:iam::111122223333:user/alice", "account": "111122223333"}

session := {"arn": "arn:aws:sts::111122223333:assumed-role/Admin/deploy", "account": "111122223333"}

nobody_known := {"arn": "", "account": "111122223333"}

root := {"arn": "arn:aws:iam::111122223333:root", "account": "111122223333"}

federated := {"arn": "arn:aws:sts::111122223333:federated-user/bob", "account": "111122223333"}

test_principal_everyone if {
	every who in [anonymous, alice, session, nobody_known] {
		principal("*", who) == {"value": "yes", "why": set(), "via_account": false}
		principal({"AWS": "*"}, who).value == "yes"
		principal({"AWS": ["arn:aws:iam::444455556666:root", "*"]}, who).value == "yes"
	}
}

test_principal_account_means_every_principal_of_it if {
	every who in [alice, session, nobody_known, root, federated] {
		principal({"AWS": "arn:aws:iam::111122223333:root"}, who) == {"value": "yes", "why": set(), "via_account": true}
		principal({"AWS": "111122223333"}, who) == {"value": "yes", "why": set(), "via_account": true}
		principal({"AWS": "arn:aws:iam::444455556666:root"}, who).value == "no"
	}
	principal({"AWS": "111122223333"}, anonymous).value == "no"
}

test_principal_named_identities if {
	principal({"AWS": "arn:aws:iam::111122223333:user/alice"}, alice) == {"value": "yes", "why": set(), "via_account": false}
	principal({"AWS": "arn:aws:iam::111122223333:user/staff/alice"}, alice).value == "yes"
	principal({"AWS": "arn:aws:iam::111122223333:user/bob"}, alice).value == "no"
	principal({"AWS": "arn:aws:iam::111122223333:role/ops/Admin"}, session).value == "yes"
	principal({"AWS": "arn:aws:sts::111122223333:assumed-role/Admin/deploy"}, session).value == "yes"
	principal({"AWS": "arn:aws:sts::111122223333:assumed-role/Admin/other"}, session).value == "no"
	principal({"AWS": "arn:aws:iam::444455556666:role/Admin"}, session).value == "no"
	principal({"AWS": "arn:aws:iam::111122223333:role/Admin"}, alice).value == "no"
	principal({"AWS": "arn:aws:iam::111122223333:role/Admin"}, {"arn": "arn:aws:iam::111122223333:role/Admin", "account": "111122223333"}).value == "yes"
	principal({"AWS": "arn:aws:sts::111122223333:federated-user/bob"}, federated).value == "yes"
	principal({"AWS": "arn:aws:iam::111122223333:user/alice"}, anonymous).value == "no"
	principal({"Service": "elasticfilesystem.amazonaws.com"}, alice).value == "no"
	principal({"Service": "elasticfilesystem.amazonaws.com"}, anonymous).value == "no"
}

test_principal_unknown_identity if {
	principal({"AWS": "arn:aws:iam::111122223333:role/Admin"}, nobody_known) == {"value": "maybe", "why": {"it names principals the requester may or may not be"}, "via_account": false}
	principal({"AWS": "AROADBQP57FF2AEXAMPLE"}, nobody_known).value == "maybe"
	principal({"AWS": "arn:aws:iam::444455556666:role/Admin"}, nobody_known).value == "no"
	principal({"AWS": "arn:aws:iam::111122223333:role/Admin"}, {"arn": "not an arn", "account": "111122223333"}).value == "maybe"
}

test_not_principal if {
	# An anonymous caller is never among the exempted.
	not_principal({"AWS": "arn:aws:iam::111122223333:root"}, anonymous) == "yes"
	not_principal({"AWS": "*"}, anonymous) == "no"

	# An exemption must name every level of the principal.
	not_principal({"AWS": ["arn:aws:iam::111122223333:user/alice", "111122223333"]}, alice) == "no"
	not_principal({"AWS": "arn:aws:iam::111122223333:user/alice"}, alice) == "yes"
	not_principal({"AWS": "arn:aws:iam::111122223333:root"}, alice) == "yes"
	not_principal({"AWS": ["arn:aws:iam::111122223333:role/Admin", "arn:aws:iam::111122223333:root"]}, session) == "yes"
	not_principal(
		{"AWS": [
			"arn:aws:sts::111122223333:assumed-role/Admin/deploy",
			"arn:aws:iam::111122223333:role/Admin",
			"arn:aws:iam::111122223333:root",
		]},
		session,
	) == "no"
	not_principal({"AWS": "arn:aws:iam::111122223333:root"}, root) == "no"

	# Not knowing the principal beyond its account.
	not_principal({"AWS": ["arn:aws:iam::111122223333:role/Admin", "111122223333"]}, nobody_known) == "maybe"
	not_principal({"AWS": "arn:aws:iam::111122223333:role/Admin"}, nobody_known) == "yes"
}

test_principal_odd_shapes if {
	iam.principal_part({}, alice) == {"value": "maybe", "why": {"it has neither Principal nor NotPrincipal"}, "via_account": false}
	iam.principal_part({"Principal": "*", "NotPrincipal": "*"}, alice).why == {"it has both Principal and NotPrincipal"}
	iam.principal_part({"Principal": ["*"]}, alice).why == {"its Principal is not \"*\" or an object"}
	iam.principal_part({"Principal": {"AWS": [111122223333]}}, alice).why == {"its Principal has a AWS value that is not a string"}
}

# Action, NotAction, Resource, NotResource.

action(s, a) := iam.action_part(s, lower(a)).value

resource(s, r) := iam.resource_part(s, r).value

test_action_and_not_action if {
	action({"Action": "kms:*"}, "kms:Decrypt") == "yes"
	action({"Action": ["KMS:decrypt"]}, "kms:Decrypt") == "yes"
	action({"Action": "kms:Create?rant"}, "kms:CreateGrant") == "yes"
	action({"Action": "kms:[C]reateGrant"}, "kms:CreateGrant") == "no"
	action({"Action": "kms:GenerateDataKey"}, "kms:GenerateDataKeyWithoutPlaintext") == "no"
	action({"Action": "*"}, "elasticfilesystem:ClientMount") == "yes"
	action({"NotAction": "kms:ScheduleKeyDeletion"}, "kms:Decrypt") == "yes"
	action({"NotAction": ["kms:De*"]}, "kms:Decrypt") == "no"
	iam.action_part({"Action": "a", "NotAction": "b"}, "a").why == {"it has both Action and NotAction"}
	iam.action_part({}, "a").why == {"it has neither Action nor NotAction"}
	iam.action_part({"Action": ["kms:Decrypt", 7]}, "kms:decrypt").why == {"its Action or NotAction holds a value that is not a string"}
}

test_resource_and_not_resource if {
	fs := "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-0123"
	resource({"Resource": "*"}, fs) == "yes"
	resource({"Resource": "arn:aws:elasticfilesystem:*:111122223333:file-system/*"}, fs) == "yes"
	resource({"Resource": ["arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-9999", fs]}, fs) == "yes"
	resource({"Resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:access-point/fsap-1"}, fs) == "no"
	resource({"Resource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:File-System/fs-0123"}, fs) == "no"
	resource({"Resource": "fs-0123"}, fs) == "no"
	resource({"NotResource": "arn:aws:elasticfilesystem:eu-west-1:111122223333:file-system/fs-9999"}, fs) == "yes"
	resource({"NotResource": ["*"]}, fs) == "no"
	resource({}, fs) == "yes"
	iam.resource_part({"Resource": "*", "NotResource": "*"}, fs).why == {"it has both Resource and NotResource"}
	iam.resource_part({"Resource": [true]}, fs).why == {"its Resource or NotResource holds a value that is not a string"}
}

# named_resources: only a Resource or NotResource other than "*" makes a
# decision depend on the resource; each value is named once, whatever its
# kind.
test_named_resources if {
	count(iam.named_resources({"Statement": [{"Resource": "*"}, {"NotResource": ["*"]}, {}, "not a statement"]})) == 0
	count(iam.named_resources({"Statement": {"Resource": "*"}})) == 0
	count(iam.named_resources(null)) == 0
	iam.named_resources({"Statement": [{"Resource": "*"}, {"Resource": ["*", "arn:aws:kms:eu-west-1:111122223333:key/k1"]}]}) == {"arn:aws:kms:eu-west-1:111122223333:key/k1"}
	iam.named_resources({"Statement": {"NotResource": "arn:aws:kms:*:111122223333:key/*"}}) == {"arn:aws:kms:*:111122223333:key/*"}
	iam.named_resources({"Statement": [{"Resource": [true]}, {"Resource": "a", "NotResource": ["a", null]}]}) == {true, "a", null}
}

# relative: the pair decides every request as the policy and the resource
# do, and leaves the resource out where it can.
key_arn := "arn:aws:kms:eu-west-1:111122223333:key/k1"

relative_policies := [
	{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]},
	{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": key_arn}},
	{"Statement": [
		{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": ["*", key_arn]},
		{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "NotResource": key_arn},
		"not a statement",
	]},
	{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "arn:aws:kms:eu-west-1:111122223333:key/k2"}]},
	{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "arn:aws:kms:*:111122223333:key/*"}]},
	{"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": key_arn, "NotResource": key_arn}]},
]

test_relative_decides_as_the_policy if {
	every policy in relative_policies {
		every resource in [key_arn, "arn:aws:kms:eu-west-1:111122223333:key/k2"] {
			rel := iam.relative(policy, resource)
			every action in ["kms:Decrypt", "kms:CreateGrant"] {
				request := object.union(base_request, {"action": action, "resource": resource})
				iam.decide(rel[0], object.union(request, {"resource": rel[1]})) == iam.decide(policy, request)
			}
		}
	}
}

test_relative_leaves_the_resource_out if {
	iam.relative(relative_policies[0], key_arn) == [relative_policies[0], "*"]
	iam.relative(relative_policies[1], key_arn)[1] == iam.this_resource
	other := "arn:aws:kms:us-east-1:444455556666:key/other"
	iam.relative(relative_policies[1], key_arn) == iam.relative(json.patch(relative_policies[1], [{"op": "replace", "path": "/Statement/Resource", "value": other}]), other)
	iam.relative(relative_policies[2], key_arn)[1] == iam.this_resource
	iam.relative(relative_policies[3], key_arn) == [relative_policies[3], key_arn]
	iam.relative(relative_policies[4], key_arn) == [relative_policies[4], key_arn]
}

# relative_principal: the stand-in decides every request as the session
# does, and stands in for a session only where no principal value names it.
ci_session := "arn:aws:sts::111122223333:assumed-role/deployer/ci-2f9a"

stand_in := "arn:aws:sts::111122223333:assumed-role/deployer/atrest-this-session"

principal_policies := [
	{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]},
	{"Statement": {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}},
	{"Statement": [{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111122223333:role/deployer"]}, "Action": "kms:*", "Resource": "*"}]},
	{"Statement": [
		{"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:*", "Resource": "*"},
		{"Effect": "Deny", "Principal": {"AWS": ci_session}, "Action": "kms:Decrypt", "Resource": "*"},
	]},
	{"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": ["111122223333", "arn:aws:iam::111122223333:role/deployer", ci_session]}, "Action": "kms:*", "Resource": "*"}]},
	{"Statement": [{"Effect": "Allow", "Principal": {"AWS": stand_in}, "Action": "kms:*", "Resource": "*"}]},
	{"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:sts::111122223333:assumed-role/deployer/other"}, "Action": "kms:*", "Resource": "*"}]},
	{"Statement": [{"Effect": "Allow", "Principal": "arn:aws:iam::111122223333:root", "Action": "kms:*", "Resource": "*"}]},
]

test_relative_principal_decides_as_the_session if {
	every policy in principal_policies {
		every arn in [ci_session, "arn:aws:sts::111122223333:assumed-role/deployer/other", stand_in] {
			rel := iam.relative_principal(policy, arn)
			every action in ["kms:Decrypt", "kms:CreateGrant"] {
				request := object.union(base_request, {"action": action, "principal": {"arn": arn, "account": "111122223333"}})
				iam.decide(policy, object.union(request, {"principal": {"arn": rel, "account": "111122223333"}})) == iam.decide(policy, request)
			}
		}
	}
}

test_relative_principal_leaves_the_session_out if {
	iam.relative_principal(principal_policies[0], ci_session) == stand_in
	iam.relative_principal(principal_policies[1], ci_session) == stand_in
	iam.relative_principal(principal_policies[2], ci_session) == stand_in
	iam.relative_principal(principal_policies[6], ci_session) == stand_in
	iam.relative_principal(principal_policies[7], ci_session) == stand_in

	# Named, or its stand-in named: the session itself.
	iam.relative_principal(principal_policies[3], ci_session) == ci_session
	iam.relative_principal(principal_policies[4], ci_session) == ci_session
	iam.relative_principal(principal_policies[5], ci_session) == ci_session

	# Not an assumed-role session.
	every arn in [
		"",
		"arn:aws:iam::111122223333:user/alice",
		"arn:aws:iam::111122223333:role/deployer",
		"arn:aws:iam::111122223333:root",
		"arn:aws:sts::111122223333:federated-user/bob",
		"arn:aws:sts::111122223333:assumed-role/deployer",
		"arn:aws:sts::111122223333:assumed-role/deployer/a/b",
		"not an arn",
	] {
		iam.relative_principal(principal_policies[0], arn) == arn
	}
}

test_named_principals if {
	iam.named_principals(principal_policies[0]) == {"*"}
	iam.named_principals(principal_policies[4]) == {"111122223333", "arn:aws:iam::111122223333:role/deployer", ci_session}
	iam.named_principals({"Statement": [{"Principal": {"AWS": [true, "a"], "Service": "b"}}, "not a statement", {"NotPrincipal": 7}]}) == {"a", "b"}
	iam.named_principals(null) == set()
}

# decide: explicit Deny beats Allow.

allow_all := {"Sid": "AllowAll", "Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}

deny_decrypt := {"Sid": "DenyDecrypt", "Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}

decide(statements) := iam.decide({"Statement": statements}, base_request)

test_decide_deny_beats_allow if {
	decide([allow_all, deny_decrypt]) == {"decision": "denied", "statement": "statement DenyDecrypt", "delegated": false, "uncertain": []}
	decide([deny_decrypt, allow_all]).statement == "statement DenyDecrypt"
}

test_decide_allow if {
	decide([allow_all]) == {"decision": "allowed", "statement": "statement AllowAll", "delegated": false, "uncertain": []}
	decide(allow_all) == {"decision": "allowed", "statement": "statement AllowAll", "delegated": false, "uncertain": []}
	decide([object.union(allow_all, {"Action": "kms:Encrypt"}), deny_decrypt]).decision == "denied"
	decide([object.union(deny_decrypt, {"Action": "kms:Encrypt"}), allow_all]).decision == "allowed"
}

test_decide_delegated_and_direct if {
	account := object.union(allow_all, {"Sid": "", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}})
	decide([account]) == {"decision": "allowed", "statement": "statement 0", "delegated": true, "uncertain": []}
	decide([account, object.union(allow_all, {"Sid": "Alice", "Principal": {"AWS": "arn:aws:iam::111122223333:user/alice"}})]) == {"decision": "allowed", "statement": "statement Alice", "delegated": false, "uncertain": []}
}

test_decide_implicit if {
	decide([]) == {"decision": "implicit", "statement": "", "delegated": false, "uncertain": []}
	decide([deny_decrypt]).decision == "denied"
	decide([object.union(allow_all, {"Action": "kms:Encrypt"})]).decision == "implicit"
	iam.decide(null, base_request).decision == "implicit"
	iam.decide({"Statement": "not a statement list"}, base_request).decision == "unknown"

	# A Deny that may apply changes nothing when no Allow may apply.
	decide([object.union(deny_decrypt, {"Condition": {"StringEquals": {"k": "v"}}})]) == {"decision": "implicit", "statement": "", "delegated": false, "uncertain": []} with base_request as object.union(base_request, {"other_keys": "unknown"})
}

test_decide_unknown if {
	maybe_deny := object.union(deny_decrypt, {"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}})
	decide([allow_all, maybe_deny]) == {"decision": "unknown", "statement": "", "delegated": false, "uncertain": [{
		"name": "statement DenyDecrypt", "effect": "Deny",
		"why": "the request may or may not carry aws:SourceVpce",
	}]} with base_request as object.union(base_request, {"other_keys": "unknown"})
	maybe_allow := object.union(allow_all, {"Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}})
	decide([maybe_allow]) == {"decision": "unknown", "statement": "", "delegated": false, "uncertain": [{
		"name": "statement AllowAll", "effect": "Allow",
		"why": "the request may or may not carry aws:SourceVpce",
	}]} with base_request as object.union(base_request, {"other_keys": "unknown"})
}

test_decide_odd_statements if {
	decide(["a string", allow_all]) == {"decision": "unknown", "statement": "", "delegated": false, "uncertain": [{"name": "statement 0", "effect": "", "why": "the statement is not an object"}]}
	decide([object.union(allow_all, {"Effect": "Audit"})]).uncertain == [{"name": "statement AllowAll", "effect": "Audit", "why": "Effect Audit is neither Allow nor Deny"}]
	decide([object.union(allow_all, {"Sid": 3})]).statement == "statement 0"
}

test_statements_and_lists if {
	iam.statements({"Statement": [1, 2]}) == [1, 2]
	iam.statements({"Statement": {"Effect": "Allow"}}) == [{"Effect": "Allow"}]
	iam.statements({"Version": "2012-10-17"}) == []
	iam.statements("not a policy") == []
	iam.as_list("a") == ["a"]
	iam.as_list(["a"]) == ["a"]
}

test_summarize if {
	iam.summarize({["statement 1 denies", "b"], ["statement 1 denies", "a"], ["no statement allows", "c"]}) == "no statement allows c; statement 1 denies a, b"
	iam.summarize(set()) == ""
}
