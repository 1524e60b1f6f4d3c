package inventory

import (
	"context"
	"strings"
	"sync"
	"time"
)

// cache holds the results of AWS reads for a short time. Concurrent loads of
// one entry are made once: later callers wait for the first one's result.
// An invalidation during a load keeps that load's (possibly stale) result
// out of the cache.
type cache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
	gens    map[string]uint64 // bumped by invalidation
	flights map[string]*flight

	// joined, when set, is called with the key each time a caller starts
	// waiting for a load already in flight (tests use it to know every
	// caller has queued, instead of sleeping).
	joined func(key string)
}

type cacheEntry struct {
	value   any
	expires time.Time
}

type flight struct {
	done  chan struct{}
	value any
	err   error
}

func newCache(ttl time.Duration, now func() time.Time) *cache {
	return &cache{
		ttl:     ttl,
		now:     now,
		entries: map[string]cacheEntry{},
		gens:    map[string]uint64{},
		flights: map[string]*flight{},
	}
}

// get returns the fresh cached value of key, or loads it. Errors are not
// cached. A waiter whose ctx ends stops waiting; the load goes on for the
// others.
func (c *cache) get(ctx context.Context, key string, load func(context.Context) (any, error)) (any, error) {
	c.mu.Lock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		c.mu.Unlock()
		return e.value, nil
	}
	if f, ok := c.flights[key]; ok {
		joined := c.joined
		c.mu.Unlock()
		if joined != nil {
			joined(key)
		}
		select {
		case <-f.done:
			return f.value, f.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	gen := c.gens[key]
	c.mu.Unlock()

	f.value, f.err = load(ctx)

	c.mu.Lock()
	delete(c.flights, key)
	if f.err == nil && c.gens[key] == gen {
		c.entries[key] = cacheEntry{value: f.value, expires: c.now().Add(c.ttl)}
	}
	c.mu.Unlock()
	close(f.done)
	return f.value, f.err
}

// peek returns the fresh cached value of key without loading.
func (c *cache) peek(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && c.now().Before(e.expires) {
		return e.value, true
	}
	return nil, false
}

// fresh returns the fresh cached values whose keys start with prefix.
func (c *cache) fresh(prefix string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]any{}
	now := c.now()
	for k, e := range c.entries {
		if strings.HasPrefix(k, prefix) && now.Before(e.expires) {
			out[k] = e.value
		}
	}
	return out
}

// put stores a value read elsewhere (a list call priming single entries).
func (c *cache) put(key string, value any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries[key] = cacheEntry{value: value, expires: c.now().Add(c.ttl)}
}

// invalidate drops the entries with these keys and keeps loads in flight
// for them from being stored.
func (c *cache) invalidate(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		delete(c.entries, k)
		c.gens[k]++
	}
}

// invalidatePrefix drops every entry whose key starts with prefix.
func (c *cache) invalidatePrefix(prefix string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.entries {
		if strings.HasPrefix(k, prefix) {
			delete(c.entries, k)
			c.gens[k]++
		}
	}
	for k := range c.flights {
		if strings.HasPrefix(k, prefix) {
			c.gens[k]++
		}
	}
}
