package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// ResultCache keeps enrichments by the content they were made from, so an
// unchanged candidate is not sent to the LLM (and paid for) twice. The caller makes
// the key (a hash of what the prompt reads, the model and the prompt version); the
// cache only stores bytes under it for TTL.
type ResultCache struct {
	rdb    redis.UniversalClient
	ttl    time.Duration
	prefix string
}

// NewResultCache returns a cache on rdb whose entries live for ttl.
func NewResultCache(rdb redis.UniversalClient, ttl time.Duration) *ResultCache {
	return &ResultCache{rdb: rdb, ttl: ttl, prefix: "hh:enrich:cache:"}
}

// Get returns the entry under key, or ok false. Errors are Redis's.
func (c *ResultCache) Get(ctx context.Context, key string) (value []byte, ok bool, err error) {
	value, err = c.rdb.Get(ctx, c.prefix+key).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("store: result cache: %w", err)
	}
	return value, true, nil
}

// Put stores value under key for the cache's TTL, replacing any entry.
func (c *ResultCache) Put(ctx context.Context, key string, value []byte) error {
	if err := c.rdb.Set(ctx, c.prefix+key, value, c.ttl).Err(); err != nil {
		return fmt.Errorf("store: result cache: %w", err)
	}
	return nil
}
