package store

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"time"
)

// Defaults for the zero values of Config.
const (
	// PrefixDefault carries a Redis Cluster hash tag, "{hh:enrich}", so that
	// the store runs unchanged on Cluster (see keys.go).
	PrefixDefault        = "{hh:enrich}:"
	JobTTLDefault        = 24 * time.Hour
	DedupeTTLDefault     = 6 * time.Hour
	LeaseDurationDefault = 10 * time.Second
	MaxAttemptsDefault   = 3
	// RetryBaseDelayDefault and RetryMaxDelayDefault are REFERENCE §4's
	// ENRICH_JOB_RETRY_BASE_DELAY_MS and ENRICH_JOB_RETRY_MAX_DELAY_MS.
	RetryBaseDelayDefault = 500 * time.Millisecond
	RetryMaxDelayDefault  = 5 * time.Second
	DeadLetterMaxDefault  = 1000
	// ReplayWindowDefault outlasts the service client's whole retry budget
	// (4 tries of a 3 s read timeout plus backoff, about 13 s) with room to spare.
	ReplayWindowDefault = 30 * time.Second
	// RetryAfterMax caps the wait a failure's Retry-After can ask for, so that
	// a provider's absurd header cannot park a job for days.
	RetryAfterMax = 15 * time.Minute
)

// retryJitterCap bounds the jitter added to a retry's backoff (REFERENCE §4).
const retryJitterCap = 250 * time.Millisecond

// Config configures a RedisStore. Zero values take the XxxDefault constants.
type Config struct {
	// Prefix starts every key name. With Redis Cluster it must contain a hash
	// tag, as the default does, because scripts touch several keys at once.
	Prefix string
	// JobTTL is how long a job record lives after its last state change
	// (ENRICH_JOB_TTL_SECONDS). At least a millisecond.
	JobTTL time.Duration
	// DedupeTTL is how long a submit dedupes against the job it created
	// (ENRICH_DEDUPE_TTL_SECONDS). At least a millisecond.
	DedupeTTL time.Duration
	// LeaseDuration is how long a lease lasts after Lease or Heartbeat, by the
	// Redis server's clock (ENRICH_LEASE_MS). At least a millisecond. A job
	// whose worker died runs again within LeaseDuration plus the Reaper's
	// interval.
	LeaseDuration time.Duration
	// MaxAttempts is how many leases a job may take (ENRICH_JOB_RETRY_LIMIT+1).
	// A retryable failure or an expired lease on the last attempt fails the
	// job for good.
	MaxAttempts int
	// RetryBaseDelay and RetryMaxDelay set the wait before a retry: after the
	// n-th failed attempt, min(RetryMaxDelay, RetryBaseDelay·2^(n-1)) plus a
	// jitter uniform in [0, min(that, 250ms)). They are
	// ENRICH_JOB_RETRY_BASE_DELAY_MS and ENRICH_JOB_RETRY_MAX_DELAY_MS; each at
	// least a millisecond.
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// DeadLetterMax is how many failed job ids each tenant's dead-letter list
	// keeps, newest first; older ones drop off (their records stay until
	// JobTTL). At least 1.
	DeadLetterMax int
	// ReplayWindow is how long the outcome of a state-changing call is kept
	// under its operation id, so that a client retrying the call (after a
	// reset, an EOF or a read timeout, when Redis may already have run it)
	// gets the same outcome instead of a second effect. It must outlast the
	// client's retries of one command: MaxRetries·(ReadTimeout+MaxRetryBackoff).
	// At least a millisecond.
	ReplayWindow time.Duration
	// Now is the clock for createdAt and updatedAt; time.Now if nil. Lease
	// deadlines and retry times never use it: they come from the Redis
	// server's clock.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Prefix = cmp.Or(c.Prefix, PrefixDefault)
	c.JobTTL = cmp.Or(c.JobTTL, JobTTLDefault)
	c.DedupeTTL = cmp.Or(c.DedupeTTL, DedupeTTLDefault)
	c.LeaseDuration = cmp.Or(c.LeaseDuration, LeaseDurationDefault)
	c.MaxAttempts = cmp.Or(c.MaxAttempts, MaxAttemptsDefault)
	c.RetryBaseDelay = cmp.Or(c.RetryBaseDelay, RetryBaseDelayDefault)
	c.RetryMaxDelay = cmp.Or(c.RetryMaxDelay, RetryMaxDelayDefault)
	c.DeadLetterMax = cmp.Or(c.DeadLetterMax, DeadLetterMaxDefault)
	c.ReplayWindow = cmp.Or(c.ReplayWindow, ReplayWindowDefault)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

func (c Config) validate() error {
	// Durations go to Redis in whole milliseconds; a positive duration under
	// a millisecond would become PEXPIRE 0, which deletes the key.
	for _, d := range []struct {
		name  string
		value time.Duration
	}{
		{"JobTTL", c.JobTTL}, {"DedupeTTL", c.DedupeTTL}, {"LeaseDuration", c.LeaseDuration},
		{"RetryBaseDelay", c.RetryBaseDelay}, {"RetryMaxDelay", c.RetryMaxDelay},
		{"ReplayWindow", c.ReplayWindow},
	} {
		if d.value < time.Millisecond {
			return fmt.Errorf("store: Config.%s is %s, want at least 1ms (or 0 for the default)", d.name, d.value)
		}
	}
	for _, n := range []struct {
		name  string
		value int
	}{{"MaxAttempts", c.MaxAttempts}, {"DeadLetterMax", c.DeadLetterMax}} {
		if n.value < 1 {
			return fmt.Errorf("store: Config.%s is %d, want at least 1 (or 0 for the default)", n.name, n.value)
		}
	}
	return nil
}

// retryDelay is how long a job waits after its attempt-th failed attempt:
// min(RetryMaxDelay, RetryBaseDelay·2^(attempt-1)) plus a jitter uniform in
// [0, min(that, 250ms)), so that jobs failed together by one outage do not
// all come back at the same instant.
func (c Config) retryDelay(attempt int) time.Duration {
	backoff := c.RetryBaseDelay
	for i := 1; i < attempt && backoff < c.RetryMaxDelay; i++ {
		backoff *= 2
	}
	backoff = min(backoff, c.RetryMaxDelay)
	return backoff + rand.N(min(backoff, retryJitterCap))
}
