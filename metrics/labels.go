package metrics

import "sync"

// OtherTenant is the label of every tenant past the first MaxTenants.
const OtherTenant = "other"

// AllTenants is the tenant label of a total (queue_depth's).
const AllTenants = "all"

// ReservedTenantLabels are tenant label values the metrics use for themselves:
// a tenant of that name would collide with them (the API refuses such ids).
var ReservedTenantLabels = []string{AllTenants, OtherTenant}

// tenantLabels bounds the tenant label: the first max tenants seen keep their name
// for the life of the process, later ones share OtherTenant. First-come keeps a
// tenant's series stable (a top-N ranking would move tenants between series).
type tenantLabels struct {
	max  int
	mu   sync.RWMutex
	seen map[string]struct{}
}

func newTenantLabels(max int) *tenantLabels {
	return &tenantLabels{max: max, seen: make(map[string]struct{}, max)}
}

func (t *tenantLabels) label(tenant string) string {
	t.mu.RLock()
	_, ok := t.seen[tenant]
	full := len(t.seen) >= t.max
	t.mu.RUnlock()
	if ok {
		return tenant
	}
	if full {
		return OtherTenant
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.seen[tenant]; ok || len(t.seen) < t.max {
		t.seen[tenant] = struct{}{}
		return tenant
	}
	return OtherTenant
}
