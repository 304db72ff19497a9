package embed

import (
	"net/http"
	"testing"
	"time"
)

// waitFor polls cond until it holds; it fails t after testTimeout. The one sleep
// of these tests: go-resiliency half-opens its breaker from its own timer.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// breakerConfig makes a breaker that opens after two failed upserts of one
// attempt each and half-opens after reset.
func breakerConfig(reset time.Duration) func(*Config) {
	return func(cfg *Config) {
		cfg.RetryLimit = -1
		cfg.BreakerFailures = 2
		cfg.BreakerReset = reset
	}
}

// openBreaker fails two upserts and checks that the breaker opened.
func openBreaker(t *testing.T, c *Client, b *testBundle) {
	t.Helper()
	for range 2 {
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		if out.ErrorCategory != CategoryServer {
			t.Fatalf("Upsert = %+v, want a server failure", out)
		}
	}
	if got := c.State(); got != StateOpen {
		t.Fatalf("State after 2 failures = %s, want open", got)
	}
}

func TestClientBreaker(t *testing.T) {
	t.Parallel()

	t.Run("OpensAfterConsecutiveFailuresAndSkipsWithoutCalling", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusInternalServerError)), breakerConfig(time.Hour))
		openBreaker(t, c, b)
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Errorf("Upsert while open: %v, want a skip", err)
		}
		checkOutcome(t, out, Outcome{SkipReason: SkipCircuitOpen}, b.svc, 2)
	})

	t.Run("RetriesWithinOneUpsertCountOnce", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusInternalServerError)), func(cfg *Config) {
			breakerConfig(time.Hour)(cfg)
			cfg.RetryLimit = 2
		})
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryServer, Attempts: 3}, b.svc, 3)
		if got := c.State(); got != StateClosed {
			t.Errorf("State after one failed upsert of 3 attempts = %s, want closed", got)
		}
	})

	t.Run("ASuccessResetsTheFailureCount", func(t *testing.T) {
		t.Parallel()
		svc := newFakeEmbedSvc(t, func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 2 {
				return // 200
			}
			http.Error(w, "boom", http.StatusBadGateway)
		})
		c, b := setup(t, svc, breakerConfig(time.Hour))
		for range 3 {
			_, _ = c.Upsert(b.ctx, upsertRequest(t))
		}
		if got := c.State(); got != StateClosed {
			t.Errorf("State after failure, success, failure = %s, want closed", got)
		}
	})

	t.Run("RefusedRequestsDoNotCount", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusUnprocessableEntity)), breakerConfig(time.Hour))
		for range 3 {
			_, _ = c.Upsert(b.ctx, upsertRequest(t))
		}
		if got, n := c.State(), len(b.svc.seen()); got != StateClosed || n != 3 {
			t.Errorf("after three 422s: State %s and %d requests, want closed and 3", got, n)
		}
	})

	t.Run("AProbeAfterTheResetClosesIt", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusInternalServerError)), breakerConfig(50*time.Millisecond))
		openBreaker(t, c, b)
		b.svc.setRespond(nil) // the service recovers
		waitFor(t, "the breaker to half-open", func() bool { return c.State() == StateHalfOpen })
		out, err := c.Upsert(b.ctx, upsertRequest(t))
		if err != nil {
			t.Fatalf("probe Upsert: %v", err)
		}
		checkOutcome(t, out, Outcome{Upserted: true, Attempts: 1}, b.svc, 3)
		if got := c.State(); got != StateClosed {
			t.Errorf("State after a successful probe = %s, want closed", got)
		}
	})

	t.Run("AFailedProbeReopensIt", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusInternalServerError)), breakerConfig(50*time.Millisecond))
		openBreaker(t, c, b)
		waitFor(t, "the breaker to half-open", func() bool { return c.State() == StateHalfOpen })
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		checkOutcome(t, out, Outcome{ErrorCategory: CategoryServer, Attempts: 1}, b.svc, 3)
		if got := c.State(); got != StateOpen {
			t.Errorf("State after a failed probe = %s, want open", got)
		}
	})

	t.Run("HalfOpenAdmitsOneProbeAtATime", func(t *testing.T) {
		t.Parallel()
		c, b := setup(t, newFakeEmbedSvc(t, always(http.StatusInternalServerError)), breakerConfig(50*time.Millisecond))
		openBreaker(t, c, b)
		arrived, release := make(chan struct{}), make(chan struct{})
		b.svc.setRespond(func(_ int, _ http.ResponseWriter, _ *http.Request) {
			close(arrived)
			<-release
		})
		waitFor(t, "the breaker to half-open", func() bool { return c.State() == StateHalfOpen })
		probe := make(chan Outcome, 1)
		go func() {
			out, _ := c.Upsert(b.ctx, upsertRequest(t))
			probe <- out
		}()
		select {
		case <-arrived:
		case <-time.After(testTimeout):
			t.Fatal("the probe never reached the service")
		}
		out, _ := c.Upsert(b.ctx, upsertRequest(t))
		close(release)
		checkOutcome(t, out, Outcome{SkipReason: SkipCircuitOpen}, b.svc, 3)
		if got := <-probe; !got.Upserted {
			t.Errorf("probe = %+v, want upserted", got)
		}
		if got := c.State(); got != StateClosed {
			t.Errorf("State after the probe = %s, want closed", got)
		}
	})
}
