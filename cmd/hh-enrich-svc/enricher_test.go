package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/headhunter/hh-enrich-svc/store/redistest"
)

func TestChooseEnricher(t *testing.T) {
	t.Parallel()
	redis := map[string]string{"AUTH_MODE": "none", "REDIS_HOST": "redis.internal"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range redis {
			env[k] = v
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		want    string
		refusal string // a part of the error, when the start is refused
	}{
		{"a key means Together", with(map[string]string{"TOGETHER_API_KEY": "k"}), EnricherTogether, ""},
		{"rules on purpose, key or not", with(map[string]string{"TOGETHER_API_KEY": "k", "ENRICH_ENRICHER": "rules"}), EnricherRules, ""},
		{"the local profile defaults to the rules", with(map[string]string{"ENRICH_PROFILE": "local"}), EnricherRules, ""},
		// checkProfile refuses this start for its Redis too; both are said at once.
		{"production with nothing configured refuses for the enricher too", map[string]string{"AUTH_MODE": "none"}, "", "TOGETHER_API_KEY"},
		{"production without a key refuses", with(nil), "", "TOGETHER_API_KEY"},
		{"the refusal names the way to run the rules", with(nil), "", "ENRICH_ENRICHER=rules"},
		{"together without its key refuses even locally", with(map[string]string{"ENRICH_ENRICHER": "together", "ENRICH_PROFILE": "local"}), "", "needs TOGETHER_API_KEY"},
		{"an unknown enricher refuses", with(map[string]string{"ENRICH_ENRICHER": "gpt"}), "", "ENRICH_ENRICHER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig(func(k string) string { return tc.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			err = chooseEnricher(&cfg)
			switch {
			case tc.refusal != "" && (err == nil || !strings.Contains(err.Error(), tc.refusal)):
				t.Fatalf("err = %v, want a refusal naming %q", err, tc.refusal)
			case tc.refusal == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.refusal == "" && cfg.LLM.Enricher != tc.want:
				t.Fatalf("enricher = %q, want %q", cfg.LLM.Enricher, tc.want)
			}
		})
	}
}

func TestAnIOBoundEnricherGetsConcurrencyOfItsOwnAndNoBatches(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AUTH_MODE": "none", "TOGETHER_API_KEY": "k", "ENRICH_POOL_SIZE": "2"}
	cfg, err := ParseConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := chooseEnricher(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Plugin.Concurrency != IOConcurrencyCapDefault || cfg.Concurrency != 2*IOConcurrencyCapDefault || cfg.BatchSize != 1 {
		t.Fatalf("plugin cap %d, worker concurrency %d, batch size %d", cfg.Plugin.Concurrency, cfg.Concurrency, cfg.BatchSize)
	}

	env["ENRICH_PLUGIN_CONCURRENCY"], env["ENRICH_CONCURRENCY"] = "8", "5"
	cfg, _ = ParseConfig(func(k string) string { return env[k] })
	if err := chooseEnricher(&cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Plugin.Concurrency != 8 || cfg.Concurrency != 5 {
		t.Fatalf("explicit settings were overridden: cap %d, concurrency %d", cfg.Plugin.Concurrency, cfg.Concurrency)
	}
}

// TestTheBinaryRefusesToStartWithoutAnEnricher runs the shipped binary as a
// production deploy whose secret failed to mount: Redis configured, no key, no
// ENRICH_ENRICHER, no local profile.
func TestTheBinaryRefusesToStartWithoutAnEnricher(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binaryPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "PORT=0", "AUTH_MODE=none",
		"REDIS_URL=redis://" + redistest.StartTCP(t)}
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("the service did not refuse to start (err %v):\n%s", err, out)
	}
	for _, named := range []string{"TOGETHER_API_KEY", "ENRICH_ENRICHER=rules"} {
		if !strings.Contains(string(out), named) {
			t.Errorf("the refusal does not name %s:\n%s", named, out)
		}
	}
	if strings.Contains(string(out), "listening") {
		t.Errorf("the service listened before refusing:\n%s", out)
	}
}

// An instance keeps one hold's worth of the account's calls waiting at the limit:
// whichever of requests and tokens (at the guessed cost of a call) is tighter.
func TestMaxAheadOfLimitIsOneHoldOfTheAccountsCalls(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  LLMConfig
		want int
	}{
		{LLMConfig{RPM: 600, RateLimitHold: 2 * time.Second}, 20},
		{LLMConfig{RPM: 600, TPM: 90_000, RateLimitHold: 2 * time.Second}, 2}, // 1 call a second at 1,500 tokens
		{LLMConfig{TPM: 900_000, RateLimitHold: 2 * time.Second}, 20},
		{LLMConfig{RPM: 6, RateLimitHold: time.Second}, 1}, // never fewer than one
		{LLMConfig{RateLimitHold: 2 * time.Second}, 0},     // no rate: nothing to bound
	} {
		if got := c.cfg.maxAheadOfLimit(); got != c.want {
			t.Errorf("RPM %d, TPM %d, hold %s: %d jobs ahead of the limit, want %d",
				c.cfg.RPM, c.cfg.TPM, c.cfg.RateLimitHold, got, c.want)
		}
	}
}
