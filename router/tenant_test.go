package router

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestTenantFromDocument(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		doc    map[string]any
		active bool
	}{
		{"StatusActiveInAnyCase", map[string]any{"status": "ACTIVE"}, true},
		{"OtherStatus", map[string]any{"status": "suspended"}, false},
		{"StatusWinsOverIsActive", map[string]any{"status": "active", "isActive": false}, true},
		{"IsActiveFalse", map[string]any{"isActive": false}, false},
		{"IsActiveTrue", map[string]any{"isActive": true}, true},
		{"NeitherIsActive", map[string]any{"name": "Acme"}, true},
		{"NonStringStatusIsIgnored", map[string]any{"status": 1, "isActive": false}, false},
		{"NonBoolIsActiveIsNotFalse", map[string]any{"isActive": "false"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := TenantFromDocument("acme", tc.doc); got.Active != tc.active || got.ID != "acme" {
				t.Fatalf("got %+v, want active %v", got, tc.active)
			}
		})
	}
}

func TestTenantCache(t *testing.T) {
	t.Parallel()

	setupCache := func() (*tenantCache, *memDirectory, *fakeClock) {
		dir, clock := testDirectory(), newFakeClock()
		return newTenantCache(dir, 5*time.Minute, 10, clock.Now), dir, clock
	}

	t.Run("ReadsATenantOncePerTTL", func(t *testing.T) {
		t.Parallel()
		c, dir, clock := setupCache()
		for range 3 {
			if tenant, err := c.Lookup(t.Context(), "acme"); err != nil || !tenant.Active {
				t.Fatalf("got %+v %v", tenant, err)
			}
		}
		clock.Advance(5 * time.Minute)
		if _, err := c.Lookup(t.Context(), "acme"); err != nil {
			t.Fatal(err)
		}
		if n := dir.reads.Load(); n != 2 {
			t.Fatalf("%d directory reads, want 2 (one per TTL)", n)
		}
	})

	t.Run("RemembersAnUnknownTenantBriefly", func(t *testing.T) {
		t.Parallel()
		c, dir, clock := setupCache()
		for range 2 {
			if _, err := c.Lookup(t.Context(), "ghost"); !errors.Is(err, ErrTenantNotFound) {
				t.Fatalf("got %v, want ErrTenantNotFound", err)
			}
		}
		clock.Advance(tenantMissTTL)
		_, _ = c.Lookup(t.Context(), "ghost")
		if n := dir.reads.Load(); n != 2 {
			t.Fatalf("%d directory reads, want 2 (a miss is kept %s)", n, tenantMissTTL)
		}
	})

	t.Run("NeverRemembersAnOutage", func(t *testing.T) {
		t.Parallel()
		c, dir, _ := setupCache()
		dir.err = errors.New("firestore: unavailable")
		for range 2 {
			if _, err := c.Lookup(t.Context(), "acme"); err == nil || errors.Is(err, ErrTenantNotFound) {
				t.Fatalf("got %v, want the outage", err)
			}
		}
		if n := dir.reads.Load(); n != 2 {
			t.Fatalf("%d directory reads, want 2", n)
		}
	})

	t.Run("ConcurrentLookupsShareOneRead", func(t *testing.T) {
		t.Parallel()
		c, dir, _ := setupCache()
		dir.gate = make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := c.Lookup(t.Context(), "acme"); err != nil {
					t.Error(err)
				}
			})
		}
		// Open the gate once the read has begun: callers after it share it.
		waitFor(t, "the directory read", func() bool { return dir.reads.Load() > 0 })
		close(dir.gate)
		wg.Wait()
		if n := dir.reads.Load(); n != 1 {
			t.Fatalf("%d directory reads for 8 concurrent lookups, want 1", n)
		}
	})
}

func TestTenantCheck(t *testing.T) {
	t.Parallel()
	dir := testDirectory()
	b := setup(t)
	h, err := New(Config{Store: b.store, Auth: noAuth(t), Tenants: dir, Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	for _, tc := range []struct {
		tenant, message string
		status          int
	}{
		{"acme", "", http.StatusAccepted},
		{"sleepy", "Tenant is not active.", http.StatusNotFound},
		{"ghost", "Tenant not found.", http.StatusNotFound},
	} {
		t.Run(tc.tenant, func(t *testing.T) {
			resp := b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Tenant-ID", tc.tenant), `{"candidateId":"c1"}`)
			if resp.status != tc.status || (tc.message != "" && resp.body["message"] != tc.message) {
				t.Fatalf("got %d %v, want %d %q", resp.status, resp.body, tc.status, tc.message)
			}
		})
	}

	t.Run("DirectoryOutageIsALogged500", func(t *testing.T) {
		down := &memDirectory{err: errors.New("firestore: deadline exceeded")}
		h, err := New(Config{Store: b.store, Auth: noAuth(t), Tenants: down, Logger: hclog.NewNullLogger()})
		if err != nil {
			t.Fatal(err)
		}
		resp := (&testBundle{handler: h}).request(t, http.MethodPost, "/v1/enrich/profile", jsonTenant, `{"candidateId":"c1"}`)
		if resp.status != http.StatusInternalServerError || resp.body["code"] != CodeInternal {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})
}

func TestTenantIdsTheMetricsReserveAreRefused(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, tenant := range []string{"all", "other", "ALL", "Other"} {
		resp := b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Tenant-ID", tenant), `{"candidateId":"c1"}`)
		if resp.status != http.StatusBadRequest || resp.body["code"] != CodeInvalidTenant {
			t.Errorf("tenant %q: %d %v, want 400 invalid_tenant", tenant, resp.status, resp.body)
		}
	}
	if resp := b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Tenant-ID", "allison"), `{"candidateId":"c1"}`); resp.status != http.StatusAccepted {
		t.Fatalf("a tenant whose id merely starts like a reserved one: %d %v", resp.status, resp.body)
	}
}
