package arns

import (
	"context"
	"strings"
)

// KeyRefKind is the form of a KMS key reference.
type KeyRefKind int

// The forms KMS accepts for a key
// (https://docs.aws.amazon.com/kms/latest/developerguide/concepts.html#key-id).
const (
	// NotKeyRef is an empty reference or an ARN of something other than a
	// key or an alias.
	NotKeyRef KeyRefKind = iota
	// KeyID is a bare key id ("1234abcd-...", "mrk-...").
	KeyID
	// KeyARNRef is a key ARN ("arn:aws:kms:...:key/...").
	KeyARNRef
	// AliasName is an alias name ("alias/...").
	AliasName
	// AliasARNRef is an alias ARN ("arn:aws:kms:...:alias/...").
	AliasARNRef
)

// KindOf tells the form of a key reference. It checks the form only, not
// the shape of the id or name.
func KindOf(ref string) KeyRefKind {
	switch {
	case ref == "":
		return NotKeyRef
	case LooksLikeARN(ref):
		a, ok := Parse(ref)
		switch {
		case !ok:
			return NotKeyRef
		case strings.HasPrefix(a.Resource, KeyPrefix):
			return KeyARNRef
		case strings.HasPrefix(a.Resource, AliasPrefix):
			return AliasARNRef
		}
		return NotKeyRef
	case strings.HasPrefix(ref, AliasPrefix):
		return AliasName
	}
	return KeyID
}

// Alias is a KMS alias a key reference names.
type Alias struct {
	// Name is the alias name ("alias/...").
	Name string
	// Account and Region are where the alias is: the alias ARN's, or those
	// the reference was resolved in.
	Account, Region string
	// ARN is the alias ARN: as the reference wrote it, or built from the
	// account and region.
	ARN string
}

// AliasLookup finds the key ARN an alias points to, "" when the alias is
// unknown. It is the hook for a model's alias table or a live read
// (ListAliases, DescribeKey).
type AliasLookup func(ctx context.Context, alias Alias) (keyARN string, err error)

// KeyResolver turns any key reference (key id, key ARN, alias name, alias
// ARN) into a key ARN. It is the only resolver of key references: the
// in-memory model, the live store, the key verifier, Security Hub and
// remediation all resolve through it.
type KeyResolver struct {
	// Aliases looks up aliases; with nil, aliases resolve to "".
	Aliases AliasLookup
}

// Resolve returns the key ARN that ref names in account and region: a key
// ARN as it is, a key id as the ARN of that key in account and region, an
// alias through Aliases. It returns "" (and no error) when ref names no
// key: empty, an ARN of something else, an unknown alias, or a key id with
// no account or region to place it in. Errors are the lookup's.
func (r KeyResolver) Resolve(ctx context.Context, ref, account, region string) (string, error) {
	switch KindOf(ref) {
	case KeyARNRef:
		return ref, nil
	case KeyID:
		if account == "" || region == "" {
			return "", nil
		}
		return KeyARN(region, account, ref), nil
	case AliasARNRef:
		a, _ := Parse(ref)
		return r.lookup(ctx, Alias{Name: a.Resource, Account: a.AccountID, Region: a.Region, ARN: ref})
	case AliasName:
		return r.lookup(ctx, Alias{Name: ref, Account: account, Region: region, ARN: AliasARN(region, account, ref)})
	}
	return "", nil
}

func (r KeyResolver) lookup(ctx context.Context, a Alias) (string, error) {
	if r.Aliases == nil {
		return "", nil
	}
	return r.Aliases(ctx, a)
}

// StaticKeyARN resolves a key id or key ARN without any lookup; aliases
// and everything else give "".
func StaticKeyARN(ref, account, region string) string {
	arn, _ := KeyResolver{}.Resolve(context.Background(), ref, account, region)
	return arn
}
