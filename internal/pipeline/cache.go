package pipeline

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash"

	"github.com/atrest/atrest/internal/policy"
	"github.com/atrest/atrest/internal/state"
)

// DefaultRuleCacheSize bounds how many resources' results a pipeline keeps
// (Options has no knob: a warm Lambda or a replay sees far fewer).
const DefaultRuleCacheSize = 50_000

// ruleCache remembers, per resource, the results of the rules last
// evaluated and a hash of the input they judged: an unchanged resource
// touched again costs a hash, not an evaluation. It is bounded: once full
// it is cleared, which costs only evaluations.
type ruleCache struct {
	max     int
	entries map[state.ResourceRef]*cacheEntry
	hits    int // rules answered from the cache
	misses  int // rules evaluated
}

type cacheEntry struct {
	input   [sha256.Size]byte
	results map[string]policy.Result // rule ID -> result
}

// CacheStats counts rule results taken from the cache (Hits) and
// evaluated (Misses) since the pipeline was built.
type CacheStats struct {
	Hits, Misses int
}

// RuleCache reports how often the rule cache answered.
func (p *Pipeline) RuleCache() CacheStats {
	return CacheStats{Hits: p.cache.hits, Misses: p.cache.misses}
}

// inputHash hashes what the rules read of in. The triggering event is left
// out when no rule reads it (policy.Engine.ReadsEvent), so that one resource
// judged on two records hashes alike; ok is false when in has no JSON form.
// A key or file-system policy parsed from a text (policy.Document.Sum) is
// hashed by that text rather than written out: the input's JSON form is
// hashed, then a marker for each policy (with its text's hash), then the
// JSON form's length, so that the parts cannot run into each other. The
// JSON form is encoded straight into the hash, never held whole.
func inputHash(in *policy.Input, withEvent bool) (sum [sha256.Size]byte, ok bool) {
	c := *in
	if !withEvent {
		c.Event = nil
	}
	var docs [2]*[sha256.Size]byte
	if c.Key != nil {
		if s, ok := policy.TextSum(c.Key.Policy); ok {
			k := *c.Key
			k.Policy = nil
			c.Key, docs[0] = &k, &s
		}
	}
	if c.FileSystem != nil {
		if s, ok := policy.TextSum(c.FileSystem.Policy); ok {
			fs := *c.FileSystem
			fs.Policy = nil
			c.FileSystem, docs[1] = &fs, &s
		}
	}
	h := &countingHash{Hash: sha256.New()}
	if err := json.NewEncoder(h).Encode(&c); err != nil {
		return sum, false
	}
	var tail [2*(1+sha256.Size) + 8]byte
	t := tail[:0]
	for _, d := range docs {
		if d == nil {
			t = append(t, 0)
			continue
		}
		t = append(append(t, 1), d[:]...)
	}
	h.Write(binary.BigEndian.AppendUint64(t, uint64(h.n)))
	h.Sum(sum[:0])
	return sum, true
}

// countingHash is a hash that counts the bytes written to it.
type countingHash struct {
	hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.Hash.Write(p)
}

// lookup returns the cached results of the rules ids (every rule of the
// type when all) for ref's input hash; ok only when every one is cached.
func (c *ruleCache) lookup(ref state.ResourceRef, sum [sha256.Size]byte, ids []string) ([]policy.Result, bool) {
	e := c.entries[ref]
	if e == nil || e.input != sum || len(e.results) < len(ids) {
		return nil, false
	}
	out := make([]policy.Result, 0, len(ids))
	for _, id := range ids {
		r, ok := e.results[id]
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// store keeps results judged on the input with hash sum; results for
// another input replace the entry.
func (c *ruleCache) store(ref state.ResourceRef, sum [sha256.Size]byte, results []policy.Result) {
	e := c.entries[ref]
	if e == nil || e.input != sum {
		if e == nil && len(c.entries) >= c.max {
			clear(c.entries)
		}
		e = &cacheEntry{input: sum, results: map[string]policy.Result{}}
		c.entries[ref] = e
	}
	for _, r := range results {
		e.results[r.Rule] = r
	}
}
