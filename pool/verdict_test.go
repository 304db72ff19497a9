package pool

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/pyplugin"
)

func TestPoolVerdict(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want Verdict
	}{
		{"success", nil, Success},
		{"upstream down", &pyplugin.Error{Reason: pyplugin.ReasonUpstreamUnavailable}, Failure},
		{"upstream too slow", &pyplugin.Error{Reason: pyplugin.ReasonTimeout}, Failure},
		{"every try lost its process", fmt.Errorf("pool: 3 tries: %w", pyplugin.ErrProcessGone), Failure},
		{"an enricher bug one candidate triggers", &pyplugin.Error{Reason: pyplugin.ReasonInternal}, NoVerdict},
		{"invalid candidate", &pyplugin.Error{Reason: pyplugin.ReasonInvalidCandidate}, NoVerdict},
		{"bad LLM output", &pyplugin.Error{Reason: pyplugin.ReasonUpstreamBadOutput}, NoVerdict},
		{"rate limited", &pyplugin.Error{Reason: pyplugin.ReasonUpstreamRateLimited}, NoVerdict},
		{"a reason nobody classified yet", &pyplugin.Error{Reason: "upstream_rejected_input"}, NoVerdict},
		{"one call stuck past its deadline", &pyplugin.Error{Reason: pyplugin.ReasonTimeout, DeadlinePassed: true}, NoVerdict},
		{"poison", fmt.Errorf("%w: %w", ErrPoison, pyplugin.ErrProcessGone), NoVerdict},
		{"pool exhausted", ErrExhausted, NoVerdict},
		{"pool closed", ErrClosed, NoVerdict},
		{"cancelled", fmt.Errorf("pool: waiting: %w", context.Canceled), NoVerdict},
	} {
		if got := PoolVerdict(tc.err); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestCircuitVerdicts(t *testing.T) {
	t.Parallel()

	t.Run("NoVerdictBetweenFailuresDoesNotResetTheRun", func(t *testing.T) {
		t.Parallel()
		c := newCircuit(2, time.Hour, time.Now)
		c.record(Failure)
		c.record(NoVerdict)
		if opened := c.record(Failure); !opened || c.state() != "open" {
			t.Fatalf("state %s: two failures around a no-verdict must open it", c.state())
		}
	})

	t.Run("SuccessBetweenFailuresResetsTheRun", func(t *testing.T) {
		t.Parallel()
		c := newCircuit(2, time.Hour, time.Now)
		c.record(Failure)
		c.record(Success)
		if c.record(Failure) || c.state() != "closed" {
			t.Fatalf("state %s, want closed", c.state())
		}
	})

	t.Run("AHalfOpenProbeWithoutVerdictKeepsItHalfOpenAndLetsTheNextProbeThrough", func(t *testing.T) {
		t.Parallel()
		c := newCircuit(1, 20*time.Millisecond, time.Now)
		c.record(Failure)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		release, err := c.admit(ctx) // waits out the cooldown
		if err != nil {
			t.Fatal(err)
		}
		c.record(NoVerdict) // say, the probe found the pool exhausted
		release()
		if got := c.state(); got != "half_open" {
			t.Fatalf("state %s after a probe without verdict, want half_open", got)
		}
		release, err = c.admit(ctx)
		if err != nil {
			t.Fatalf("the next probe: %v", err)
		}
		c.record(Success)
		release()
		if got := c.state(); got != "closed" {
			t.Fatalf("state %s after a good probe, want closed", got)
		}
	})

	t.Run("AHalfOpenProbeThatFailsReopensIt", func(t *testing.T) {
		t.Parallel()
		c := newCircuit(1, 20*time.Millisecond, time.Now)
		c.record(Failure)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		release, err := c.admit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.record(Failure)
		release()
		if got := c.state(); got != "open" {
			t.Fatalf("state %s, want open", got)
		}
	})
}

func TestProcessVerdict(t *testing.T) {
	t.Parallel()
	if processVerdict(&pyplugin.Error{Reason: pyplugin.ReasonInternal}) != Failure ||
		processVerdict(&pyplugin.Error{Reason: pyplugin.ReasonTimeout}) != NoVerdict ||
		processVerdict(errors.New("cancelled")) != NoVerdict || processVerdict(nil) != Success {
		t.Fatal("the process breaker counts only the process's own errors")
	}
}
