package router

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// RateLimitTenantsDefault bounds how many tenants have a token bucket at once.
const RateLimitTenantsDefault = 10_000

// tenantLimiter is a token bucket per tenant (golang.org/x/time/rate). Buckets
// live in an LRU: past the bound, the tenant idle the longest loses its bucket
// and starts again with a full one, which only ever errs towards letting through.
type tenantLimiter struct {
	limit rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex // makes get-or-create one step
	buckets *lru.Cache[string, *rate.Limiter]
}

// newTenantLimiter returns nil (no limit) when rps is 0.
func newTenantLimiter(rps float64, burst, tenants int, now func() time.Time) *tenantLimiter {
	if rps <= 0 {
		return nil
	}
	buckets, _ := lru.New[string, *rate.Limiter](tenants) // tenants > 0: Config defaults
	return &tenantLimiter{limit: rate.Limit(rps), burst: burst, now: now, buckets: buckets}
}

// allow takes a token from the tenant's bucket, or returns a 429 *Error that says
// when one will be there.
func (l *tenantLimiter) allow(tenant string) error {
	if l == nil {
		return nil
	}
	bucket := l.bucket(tenant)
	now := l.now()
	res := bucket.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	if res.OK() && wait == 0 {
		return nil
	}
	res.CancelAt(now) // a refused request must not use up a future token
	if !res.OK() {
		wait = time.Second
	}
	return tooMany(CodeRateLimited, "Too many requests. Please slow down.", wait)
}

// allowMore charges n more tokens to tenant's bucket, once the request's own
// was taken: a batch costs one token per candidate. As many as a full bucket
// holds must be there now (else 429, and nothing is taken); the rest are borrowed
// from the coming seconds, so the tenant's next requests wait until its
// candidates are paid for.
func (l *tenantLimiter) allowMore(tenant string, n int) error {
	if l == nil || n <= 0 {
		return nil
	}
	bucket := l.bucket(tenant)
	now := l.now()
	// What a full bucket still holds once the request's own token is gone.
	first := min(n, l.burst-1)
	if first > 0 {
		res := bucket.ReserveN(now, first)
		if wait := res.DelayFrom(now); !res.OK() || wait > 0 {
			res.CancelAt(now)
			return tooMany(CodeRateLimited, "Too many candidates. Please slow down.", max(wait, time.Second))
		}
	}
	for left := n - first; left > 0; left -= l.burst {
		bucket.ReserveN(now, min(left, l.burst)) // debt: later requests wait it out
	}
	return nil
}

// tooMany is a 429 *Error that says, in Retry-After and details, when to try again.
func tooMany(code, message string, wait time.Duration) *Error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	unit := "seconds"
	if secs == 1 {
		unit = "second"
	}
	return newError(code, message, map[string]any{"retryAfter": fmt.Sprintf("%d %s", secs, unit)}).
		withHeader("Retry-After", strconv.Itoa(secs))
}

func (l *tenantLimiter) bucket(tenant string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets.Get(tenant); ok {
		return b
	}
	b := rate.NewLimiter(l.limit, l.burst)
	l.buckets.Add(tenant, b)
	return b
}
