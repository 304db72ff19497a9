package embed

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestDeriveAudience(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, baseURL, want string
	}{
		{"CloudRunRunAppURL", "https://hh-embed-svc-abc123-uc.a.run.app/", "https://hh-embed-svc-abc123-uc.a.run.app"},
		{"CloudRunRunAppURLWithPath", "https://hh-embed-svc-abc123-uc.a.run.app/api/v1", "https://hh-embed-svc-abc123-uc.a.run.app"},
		{"RunGoogleapisURL", "https://us-central1-run.googleapis.com/x", "https://us-central1-run.googleapis.com"},
		{"NotForPlainHTTP", "http://hh-embed-svc-abc123-uc.a.run.app", ""},
		{"NotForOtherHosts", "https://embed.example.com", ""},
		{"NotForLookalikes", "https://run.app.example.com", ""},
		{"NotForLocalhost", "http://localhost:7101", ""},
		{"NotForGarbage", "::not a url", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := DeriveAudience(tc.baseURL); got != tc.want {
				t.Errorf("DeriveAudience(%q) = %q, want %q", tc.baseURL, got, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Parallel()

	t.Run("RejectsInvalidConfigs", func(t *testing.T) {
		t.Parallel()
		for name, cfg := range map[string]Config{
			"NonHTTPBaseURL":        {BaseURL: "ftp://x"},
			"BaseURLWithoutHost":    {BaseURL: "http://"},
			"NegativeTimeout":       {Timeout: -time.Second},
			"NegativeBreakerReset":  {BreakerReset: -time.Second},
			"BaseDelayOverMaxDelay": {RetryBaseDelay: 5 * time.Second, RetryMaxDelay: time.Second},
			"NegativeBreakerCount":  {BreakerFailures: -1},
		} {
			if _, err := New(context.Background(), cfg); err == nil {
				t.Errorf("%s: New(%+v) succeeded, want an error", name, cfg)
			}
		}
	})

	t.Run("AppliesDefaults", func(t *testing.T) {
		t.Parallel()
		c, err := New(context.Background(), Config{})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		got := c.cfg
		if got.BaseURL != BaseURLDefault || got.Timeout != TimeoutDefault || got.RetryLimit != RetryLimitDefault ||
			got.TenantHeader != "X-Tenant-ID" || got.RequestIDHeader != "X-Request-ID" ||
			got.BreakerFailures != 4 || got.BreakerReset != 120*time.Second || got.Audience != "" {
			t.Errorf("defaults = %+v", got)
		}
	})

	t.Run("NegativeRetryLimitMeansNoRetries", func(t *testing.T) {
		t.Parallel()
		c, err := New(context.Background(), Config{RetryLimit: -1})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if c.cfg.RetryLimit != 0 {
			t.Errorf("RetryLimit = %d, want 0", c.cfg.RetryLimit)
		}
	})

	t.Run("DerivesTheAudienceOnlyWithoutAStaticToken", func(t *testing.T) {
		t.Parallel()
		const base = "https://hh-embed-svc-abc123-uc.a.run.app"
		withToken, err := New(context.Background(), Config{BaseURL: base, Token: "s3cret"})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if withToken.cfg.Audience != "" {
			t.Errorf("with a token: Audience = %q, want none", withToken.cfg.Audience)
		}
		// Disabled, so New does not look for Google credentials this machine lacks.
		withoutToken, err := New(context.Background(), Config{BaseURL: base})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if withoutToken.cfg.Audience != base {
			t.Errorf("without a token: Audience = %q, want %q", withoutToken.cfg.Audience, base)
		}
	})
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"", 0},
		{"1", time.Second},
		{" 120 ", 2 * time.Minute},
		{"-3", 0},
		{"99999999999999", 24 * time.Hour},
		{now.Add(30 * time.Second).Format(http.TimeFormat), 30 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"soon", 0},
	} {
		if got := parseRetryAfter(tc.header, now); got != tc.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tc.header, got, tc.want)
		}
	}
}
