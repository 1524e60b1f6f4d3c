package posture

import (
	"regexp"
	"strings"

	"github.com/atrest/atrest/internal/arns"
	"github.com/atrest/atrest/internal/ledger"
)

// names shows resources in the shortest form that still tells them apart:
// the fields of an ARN that every shown resource shares (partition,
// account, region) are said once (scope), and each resource is shown by
// what remains: its id when the account and region are the same for all,
// otherwise the region and account that differ, then the id
// ("us-west-2:444455556666:fs-0123"). Two resources that would look the
// same are shown as full ARNs.
type names struct {
	// scope names the shared account and region, e.g. "account
	// 111122223333, region us-east-1"; empty when nothing is shared.
	scope string
	// partition, account and region are the shared fields ("" when they
	// differ, or when no resource is an ARN).
	partition, account, region string
	sameRegion, sameAccount    bool
	// arns is set when some resource is an ARN.
	arns  bool
	short map[string]string
}

func newNames(entries []ledger.Entry) names {
	n := names{short: map[string]string{}}
	var parsed []arns.ARN
	seen := map[string]bool{}
	for _, e := range entries {
		if seen[e.Resource] {
			continue
		}
		seen[e.Resource] = true
		if a, ok := arns.Parse(e.Resource); ok {
			parsed = append(parsed, a)
		}
	}
	if len(parsed) == 0 {
		for r := range seen {
			n.short[r] = r
		}
		return n
	}
	n.arns = true
	n.partition, n.account, n.region = parsed[0].Partition, parsed[0].AccountID, parsed[0].Region
	n.sameAccount, n.sameRegion = true, true
	samePartition := true
	for _, a := range parsed[1:] {
		samePartition = samePartition && a.Partition == n.partition
		n.sameAccount = n.sameAccount && a.AccountID == n.account
		n.sameRegion = n.sameRegion && a.Region == n.region
	}
	if !samePartition {
		n.partition, n.sameAccount, n.sameRegion = "", false, false
	}
	if !n.sameAccount {
		n.account = ""
	}
	if !n.sameRegion {
		n.region = ""
	}
	var scope []string
	if n.account != "" {
		scope = append(scope, "account "+n.account)
	}
	if n.region != "" {
		scope = append(scope, "region "+n.region)
	}
	n.scope = strings.Join(scope, ", ")

	// Shorten, then fall back to the ARN where two resources collide.
	byShort := map[string][]string{}
	for r := range seen {
		s := n.shorten(r)
		byShort[s] = append(byShort[s], r)
	}
	for s, rs := range byShort {
		for _, r := range rs {
			if len(rs) > 1 {
				n.short[r] = r
			} else {
				n.short[r] = s
			}
		}
	}
	return n
}

// shorten drops from an ARN the fields shared by every shown resource.
func (n names) shorten(s string) string {
	a, ok := arns.Parse(s)
	if !ok || n.partition == "" || a.Partition != n.partition {
		return s
	}
	var parts []string
	if !n.sameRegion {
		parts = append(parts, a.Region)
	}
	if !n.sameAccount {
		parts = append(parts, a.AccountID)
	}
	return strings.Join(append(parts, arns.ResourceID(s)), ":")
}

// form says how resources are shown: "id", "region:id", "account:id",
// "region:account:id", "ARN" (partitions differ) or "recorded" (no
// resource is an ARN).
func (n names) form() string {
	switch {
	case len(n.short) == 0:
		return "id"
	case !n.arns:
		return "recorded"
	case n.partition == "":
		return "ARN"
	case n.sameAccount && n.sameRegion:
		return "id"
	case n.sameAccount:
		return "region:id"
	case n.sameRegion:
		return "account:id"
	}
	return "region:account:id"
}

// resource is how the views show a resource.
func (n names) resource(r string) string {
	if s, ok := n.short[r]; ok {
		return s
	}
	return r
}

// arnInText finds ARNs in free text, such as a reason: "arn:", then
// partition, service, region, account and a resource up to a blank or
// punctuation that does not belong to it.
var arnInText = regexp.MustCompile(`arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:[^\s,;()\[\]"'<>]+`)

// text shortens the ARNs in a reason as the resource column does: a shown
// resource is written as it is shown; another ARN in the shared account
// (and region, or a global one such as IAM's) by its resource
// ("user/alice"), or its id for a key, file system or trail.
func (n names) text(s string) string {
	if !strings.Contains(s, "arn:") {
		return s
	}
	return arnInText.ReplaceAllStringFunc(s, func(tok string) string {
		trimmed := strings.TrimRight(tok, ".:")
		rest := tok[len(trimmed):]
		if short, ok := n.short[trimmed]; ok {
			return short + rest
		}
		a, ok := arns.Parse(trimmed)
		if !ok || n.partition == "" || a.Partition != n.partition ||
			!n.sameAccount || a.AccountID != n.account ||
			a.Region != "" && (!n.sameRegion || a.Region != n.region) {
			return tok
		}
		switch a.Service {
		case arns.ServiceKMS, arns.ServiceEFS, arns.ServiceCloudTrail:
			if strings.HasPrefix(a.Resource, arns.AliasPrefix) {
				return a.Resource + rest
			}
			return arns.ResourceID(trimmed) + rest
		}
		return a.Resource + rest
	})
}
