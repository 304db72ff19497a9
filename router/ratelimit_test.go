package router

import (
	"net/http"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	b := setup(t)
	h, err := New(Config{Store: b.store, Auth: noAuth(t), TenantRateLimit: 1, TenantBurst: 2, Now: clock.Now,
		Logger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	submit := func(t *testing.T, tenant string) response {
		t.Helper()
		return b.request(t, http.MethodPost, "/v1/enrich/profile", withHeader(jsonTenant, "X-Tenant-ID", tenant), `{"candidateId":"c1"}`)
	}

	t.Run("ATenantOverItsBucketGets429WithRetryAfter", func(t *testing.T) {
		for i := range 2 {
			if resp := submit(t, "tenant-alpha"); resp.status != http.StatusAccepted {
				t.Fatalf("request %d within the burst: %d %v", i, resp.status, resp.body)
			}
		}
		resp := submit(t, "tenant-alpha")
		details, _ := resp.body["details"].(map[string]any)
		if resp.status != http.StatusTooManyRequests || resp.body["code"] != CodeRateLimited ||
			resp.body["message"] != "Too many requests. Please slow down." || details["retryAfter"] != "1 second" ||
			resp.header.Get("Retry-After") != "1" {
			t.Fatalf("got %d %v %v", resp.status, resp.body, resp.header)
		}
	})

	t.Run("AnotherTenantIsUnaffected", func(t *testing.T) {
		if resp := submit(t, "tenant-beta"); resp.status != http.StatusAccepted {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})

	t.Run("HealthIsNeverLimited", func(t *testing.T) {
		for range 5 {
			if resp := b.request(t, http.MethodGet, "/health", nil, ""); resp.status != http.StatusOK {
				t.Fatalf("got %d %v", resp.status, resp.body)
			}
		}
	})

	t.Run("TheBucketRefillsAtTheRate", func(t *testing.T) {
		clock.Advance(time.Second)
		if resp := submit(t, "tenant-alpha"); resp.status != http.StatusAccepted {
			t.Fatalf("a second later: %d %v", resp.status, resp.body)
		}
		if resp := submit(t, "tenant-alpha"); resp.status != http.StatusTooManyRequests {
			t.Fatalf("the refilled token is spent: %d %v", resp.status, resp.body)
		}
	})
}

func TestTenantLimiterForgetsTheIdlestTenant(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	l := newTenantLimiter(1, 1, 2, clock.Now)
	for _, tenant := range []string{"a", "b", "c"} {
		if err := l.allow(tenant); err != nil {
			t.Fatalf("%s: %v", tenant, err)
		}
	}
	if n := l.buckets.Len(); n != 2 {
		t.Fatalf("%d buckets kept, want the bound 2", n)
	}
	if _, ok := l.buckets.Peek("a"); ok {
		t.Fatal("the idlest tenant kept its bucket")
	}
	if err := l.allow("c"); err == nil {
		t.Fatal("a recent tenant's bucket was reset")
	}
}
