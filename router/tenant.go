package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/headhunter/hh-enrich-svc/metrics"
)

// ErrTenantNotFound is what a TenantDirectory returns for a tenant it does not know.
var ErrTenantNotFound = errors.New("tenant not found")

// Tenant is an organization as the directory knows it.
type Tenant struct {
	ID     string
	Name   string
	Active bool
}

// TenantDirectory looks tenants up: the Firestore organizations/{id} collection in
// production. Lookup returns ErrTenantNotFound (possibly wrapped) for an unknown
// or empty document; any other error is an outage and answers 500.
type TenantDirectory interface {
	Lookup(ctx context.Context, tenantID string) (Tenant, error)
}

// TenantFromDocument applies the reference's rules to an organizations/{id}
// document: a string status means active when it is "active" in any case;
// otherwise the tenant is active unless isActive is false.
func TenantFromDocument(id string, doc map[string]any) Tenant {
	t := Tenant{ID: id, Active: true}
	t.Name, _ = doc["name"].(string)
	if status, ok := doc["status"].(string); ok {
		t.Active = strings.EqualFold(status, "active")
	} else if active, ok := doc["isActive"].(bool); ok {
		t.Active = active
	}
	return t
}

// Defaults of the tenant cache (REFERENCE §2: LRU, 1000 entries, COMMON_CACHE_TTL).
const (
	TenantCacheTTLDefault  = 300 * time.Second
	TenantCacheSizeDefault = 1000
	// tenantMissTTL caps how long "not found" is remembered, so an organization
	// created just now is usable within half a minute.
	tenantMissTTL = 30 * time.Second
)

// tenantCache remembers lookups, found or not (outages are never remembered),
// and makes concurrent lookups of one tenant share a single directory read.
type tenantCache struct {
	dir     TenantDirectory
	ttl     time.Duration
	missTTL time.Duration
	now     func() time.Time
	entries *lru.Cache[string, tenantEntry]
	flight  singleflight.Group
}

type tenantEntry struct {
	tenant Tenant
	err    error // nil or ErrTenantNotFound
	until  time.Time
}

func newTenantCache(dir TenantDirectory, ttl time.Duration, size int, now func() time.Time) *tenantCache {
	entries, _ := lru.New[string, tenantEntry](size) // size > 0: Config defaults
	return &tenantCache{dir: dir, ttl: ttl, missTTL: min(ttl, tenantMissTTL), now: now, entries: entries}
}

// tenantReadTimeout bounds one directory read.
const tenantReadTimeout = 5 * time.Second

// Lookup answers from the cache, or reads the directory once for all concurrent
// callers. It returns ErrTenantNotFound, or an outage error as the directory did.
func (c *tenantCache) Lookup(ctx context.Context, id string) (Tenant, error) {
	if e, ok := c.entries.Get(id); ok && c.now().Before(e.until) {
		return e.tenant, e.err
	}
	v, err, _ := c.flight.Do(id, func() (any, error) {
		// The read is shared: one caller hanging up must not fail the others.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), tenantReadTimeout)
		defer cancel()
		t, err := c.dir.Lookup(ctx, id)
		switch {
		case err == nil:
			c.entries.Add(id, tenantEntry{tenant: t, until: c.now().Add(c.ttl)})
		case errors.Is(err, ErrTenantNotFound):
			err = ErrTenantNotFound
			c.entries.Add(id, tenantEntry{err: err, until: c.now().Add(c.missTTL)})
		}
		return t, err
	})
	t, _ := v.(Tenant)
	return t, err
}

// tenantRoute guards a /v1 handler, in the reference's order: the token, its
// organization, the tenant header and their match; then (after the reference,
// W1) the tenant's rate limit, keyed by the verified tenant; then the tenant's
// directory entry, last because it may cost a Firestore read. A route with a
// body (bodyLimit > 0) then holds the body's size against the tenant's bytes in
// flight until it is answered.
func (s *server) tenantRoute(bodyLimit int64, next func(http.ResponseWriter, *http.Request, string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, err := s.resolveTenant(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		setLogTenant(r, tenant)
		if err := s.limiter.allow(tenant); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if err := s.checkTenant(r.Context(), tenant); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if bodyLimit > 0 {
			release, err := s.holdBody(r, tenant, bodyLimit)
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			defer release()
		}
		next(w, r, tenant)
	}
}

// holdBody counts r's body against tenant's bytes in flight: its declared
// size, or the route's limit when undeclared. A declared size over the limit
// is 413 before a byte is read.
func (s *server) holdBody(r *http.Request, tenant string, limit int64) (func(), error) {
	size := limit
	if r.ContentLength >= 0 {
		if r.ContentLength > limit {
			return nil, bodyTooLarge(limit)
		}
		size = r.ContentLength
	}
	release, ok := s.inFlight.acquire(tenant, size)
	if !ok {
		s.log.Warn("request refused: tenant's bytes in flight at the limit", "tenant_id", tenant,
			"limit", s.cfg.TenantInFlightBytes, "request_id", requestID(r))
		return nil, tooMany(CodeInFlightLimit, "Too much of this tenant's data is being received at once; retry shortly.", time.Second)
	}
	return release, nil
}

// resolveTenant authenticates the request and returns its tenant: the header's,
// which must be the token's organization unless the auth mode is none.
func (s *server) resolveTenant(r *http.Request) (string, error) {
	p, err := s.cfg.Auth.Authenticate(r.Context(), r.Header)
	if err != nil {
		return "", err
	}
	if p != nil && p.OrgID == "" {
		return "", newError(CodeForbidden, "Token missing org_id claim.", nil)
	}
	tenant := strings.TrimSpace(r.Header.Get(s.cfg.TenantHeader))
	if tenant == "" {
		return "", newError(CodeMissingTenant, "Missing "+s.cfg.TenantHeader+" header.", nil)
	}
	if !tenantPattern.MatchString(tenant) {
		return "", newError(CodeInvalidTenant,
			"Tenant id must be 1-64 letters, digits or '-', starting with a letter or digit.",
			map[string]any{"header": s.cfg.TenantHeader})
	}
	if reservedTenant(tenant) {
		return "", newError(CodeInvalidTenant, fmt.Sprintf("Tenant id %q is reserved.", tenant),
			map[string]any{"header": s.cfg.TenantHeader})
	}
	if p != nil && p.OrgID != tenant {
		return "", newError(CodeForbidden, "Tenant header does not match authenticated user organization.", nil)
	}
	return tenant, nil
}

// reservedTenant reports whether id is a label value the metrics keep for
// themselves ("all", "other"), in any case: such a tenant would make every
// scrape fail with a duplicate series, or merge into another series.
func reservedTenant(id string) bool {
	for _, label := range metrics.ReservedTenantLabels {
		if strings.EqualFold(id, label) {
			return true
		}
	}
	return false
}

// checkTenant refuses unknown and inactive tenants when a directory is configured.
func (s *server) checkTenant(ctx context.Context, tenant string) error {
	if s.tenants == nil {
		return nil
	}
	t, err := s.tenants.Lookup(ctx, tenant)
	switch {
	case errors.Is(err, ErrTenantNotFound):
		return newError(CodeNotFound, "Tenant not found.", map[string]any{"tenantId": tenant})
	case err != nil:
		return fmt.Errorf("look up tenant %s: %w", tenant, err)
	case !t.Active:
		return newError(CodeNotFound, "Tenant is not active.", map[string]any{"tenantId": tenant})
	}
	return nil
}
