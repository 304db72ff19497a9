package router

import "sync"

// inFlightBytes bounds the request bodies each tenant has in flight, so that
// one tenant cannot fill the instance's memory (and Redis) by sending many
// large bodies at once, whatever its rate limit.
type inFlightBytes struct {
	limit int64

	mu       sync.Mutex
	byTenant map[string]int64 // only tenants with bytes in flight
}

func newInFlightBytes(limit int64) *inFlightBytes {
	return &inFlightBytes{limit: limit, byTenant: map[string]int64{}}
}

// acquire adds n bytes to tenant's count, or reports false when that would pass
// the limit. A single body larger than the limit is admitted when the tenant has
// nothing else in flight (route limits bound it anyway).
func (f *inFlightBytes) acquire(tenant string, n int64) (release func(), ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	held := f.byTenant[tenant]
	if held > 0 && held+n > f.limit {
		return nil, false
	}
	f.byTenant[tenant] = held + n
	var once sync.Once
	return func() { once.Do(func() { f.release(tenant, n) }) }, true
}

func (f *inFlightBytes) release(tenant string, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if left := f.byTenant[tenant] - n; left > 0 {
		f.byTenant[tenant] = left
	} else {
		delete(f.byTenant, tenant)
	}
}
