package integrity

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
)

// ErrUnknownKey reports a digest whose fingerprint matches no public key
// ListPublicKeys returned for its region and time.
var ErrUnknownKey = errors.New("public key not found")

// KeyLister is the part of the CloudTrail client PublicKeys uses.
type KeyLister interface {
	ListPublicKeys(ctx context.Context, in *cloudtrail.ListPublicKeysInput, optFns ...func(*cloudtrail.Options)) (*cloudtrail.ListPublicKeysOutput, error)
}

var _ KeyLister = (*cloudtrail.Client)(nil)

// KeySource finds the public key of a digest.
type KeySource interface {
	// PublicKey returns the key of fingerprint that CloudTrail in region
	// used at time at, or an error wrapping ErrUnknownKey.
	PublicKey(ctx context.Context, region, fingerprint string, at time.Time) (*rsa.PublicKey, error)
}

// PublicKeys reads CloudTrail's public keys with ListPublicKeys, in the
// digest's own region (each region signs with its own keys), one call per
// region and UTC day, cached for the life of the value. It is not safe for
// concurrent use.
type PublicKeys struct {
	Client KeyLister
	cache  map[keyDay][]publicKey
}

var _ KeySource = (*PublicKeys)(nil)

type keyDay struct {
	region string
	day    time.Time
}

type publicKey struct {
	fingerprint string
	start, end  time.Time
	key         *rsa.PublicKey
	err         error // the value could not be read as an RSA key
}

// maxKeyPages bounds ListPublicKeys paging ("NextToken: reserved for future
// use").
const maxKeyPages = 100

// PublicKey implements KeySource.
func (p *PublicKeys) PublicKey(ctx context.Context, region, fingerprint string, at time.Time) (*rsa.PublicKey, error) {
	day := at.UTC().Truncate(24 * time.Hour)
	k := keyDay{region, day}
	keys, ok := p.cache[k]
	if !ok {
		var err error
		if keys, err = p.list(ctx, region, day, day.Add(24*time.Hour)); err != nil {
			return nil, err
		}
		if p.cache == nil {
			p.cache = map[keyDay][]publicKey{}
		}
		p.cache[k] = keys
	}
	for _, pk := range keys {
		if pk.fingerprint != fingerprint {
			continue
		}
		if pk.err != nil {
			return nil, fmt.Errorf("public key %s: %w", fingerprint, pk.err)
		}
		if !pk.start.IsZero() && at.Before(pk.start) || !pk.end.IsZero() && at.After(pk.end) {
			continue
		}
		return pk.key, nil
	}
	return nil, fmt.Errorf("%w for fingerprint %s in %s at %s", ErrUnknownKey, fingerprint, region, at.Format(time.RFC3339))
}

func (p *PublicKeys) list(ctx context.Context, region string, start, end time.Time) ([]publicKey, error) {
	if p.Client == nil {
		return nil, errors.New("no CloudTrail client for ListPublicKeys")
	}
	in := &cloudtrail.ListPublicKeysInput{StartTime: aws.Time(start), EndTime: aws.Time(end)}
	var out []publicKey
	for range maxKeyPages {
		resp, err := p.Client.ListPublicKeys(ctx, in, func(o *cloudtrail.Options) { o.Region = region })
		if err != nil {
			return nil, fmt.Errorf("list CloudTrail public keys in %s: %w", region, err)
		}
		for _, k := range resp.PublicKeyList {
			pk := publicKey{fingerprint: aws.ToString(k.Fingerprint)}
			if k.ValidityStartTime != nil {
				pk.start = *k.ValidityStartTime
			}
			if k.ValidityEndTime != nil {
				pk.end = *k.ValidityEndTime
			}
			pk.key, pk.err = ParsePublicKey(k.Value)
			out = append(out, pk)
		}
		if aws.ToString(resp.NextToken) == "" {
			return out, nil
		}
		in.NextToken = resp.NextToken
	}
	return nil, fmt.Errorf("list CloudTrail public keys in %s: more than %d pages", region, maxKeyPages)
}

// ParsePublicKey reads a public key as ListPublicKeys returns it: DER, an
// RSA key in PKCS #1 form, or (as one documented sample shows) wrapped in a
// SubjectPublicKeyInfo.
func ParsePublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER RSA public key: %w", err)
	}
	rk, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("not an RSA public key: %T", k)
	}
	return rk, nil
}

// StaticKeys is a KeySource over keys already fetched, by fingerprint: for
// offline validation with keys stored beforehand, and tests.
type StaticKeys map[string]*rsa.PublicKey

// PublicKey implements KeySource.
func (s StaticKeys) PublicKey(_ context.Context, region, fingerprint string, _ time.Time) (*rsa.PublicKey, error) {
	if k, ok := s[fingerprint]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w for fingerprint %s in %s", ErrUnknownKey, fingerprint, region)
}
