package main

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/pool"
	"github.com/headhunter/hh-enrich-svc/store"
	"github.com/headhunter/hh-enrich-svc/worker"
)

// Enricher names, as ENRICH_ENRICHER spells them.
const (
	EnricherTogether = "together"
	EnricherRules    = "rules"
)

// LLMConfig is the remote model's side of the service: which enricher runs, the
// account's shared rate limit, the result cache and prices (issue: the LLM path at
// the provider's limit).
type LLMConfig struct {
	// Enricher is "together" or "rules" once resolved by chooseEnricher; the plugins
	// get it as ENRICH_ENRICHER so they never fall back from one to the other.
	Enricher string
	// HasKey says TOGETHER_API_KEY is set (the key itself stays in the plugins' env).
	HasKey bool
	// CapSet and ConcurrencySet say ENRICH_PLUGIN_CONCURRENCY and ENRICH_CONCURRENCY
	// were given: otherwise an I/O-bound enricher gets its own defaults.
	CapSet, ConcurrencySet bool

	// RPM and TPM are the account's requests and tokens a minute (TOGETHER_RPM,
	// TOGETHER_TPM), held in Redis for every instance together. 0: not enforced.
	RPM, TPM int
	// RateLimitMaxWait is how long a job may wait for the limit (a 429 storm, a
	// provider outage announced by 429s) before it fails upstream_rate_limited,
	// counted from its first wait.
	RateLimitMaxWait time.Duration
	// RateLimitHold is the longest wait for the limit a job spends in its worker
	// slot; a longer one defers it out of the slot until the wait is over. It is
	// at least the reaper's interval: the reaper promotes a deferred job on time
	// only if it looks at the delayed set before the job is due (it runs every
	// interval, and at the next due time it saw), so a shorter deferral could come
	// back up to an interval late.
	RateLimitHold time.Duration
	// CacheTTL keeps enrichment results by content; 0 turns the cache off.
	CacheTTL time.Duration
	// PromptPrice and CompletionPrice are prices per million tokens, for cost per
	// tenant; 0: no cost metric.
	PromptPrice, CompletionPrice float64
}

// maxAheadOfLimit is how many of an instance's jobs may wait for the rate limit
// in their worker slots: the calls the account allows in one RateLimitHold (at
// least one), so none waits much longer than the hold there. 0 (no bound) when no
// rate is set: then nothing waits but a 429's pause, which defers jobs anyway.
func (c LLMConfig) maxAheadOfLimit() int {
	var perSecond []float64
	if c.RPM > 0 {
		perSecond = append(perSecond, float64(c.RPM)/60)
	}
	if c.TPM > 0 {
		perSecond = append(perSecond, float64(c.TPM)/60/store.TokensPerCallGuessDefault)
	}
	if len(perSecond) == 0 {
		return 0
	}
	return max(1, int(math.Ceil(slices.Min(perSecond)*c.RateLimitHold.Seconds())))
}

// parseLLM reads the LLM settings. The enricher is checked apart, by chooseEnricher,
// when the service starts.
func parseLLM(e *envReader) LLMConfig {
	return LLMConfig{
		Enricher:         e.str("ENRICH_ENRICHER", ""),
		HasKey:           e.str("TOGETHER_API_KEY", "") != "",
		CapSet:           e.str("ENRICH_PLUGIN_CONCURRENCY", "") != "",
		ConcurrencySet:   e.str("ENRICH_CONCURRENCY", "") != "",
		RPM:              e.integer("TOGETHER_RPM", 0, 0),
		TPM:              e.integer("TOGETHER_TPM", 0, 0),
		RateLimitMaxWait: e.millis("ENRICH_RATE_LIMIT_MAX_WAIT_MS", 10*time.Minute, time.Second),
		RateLimitHold:    e.millis("ENRICH_RATE_LIMIT_HOLD_MS", worker.RateLimitHoldDefault, store.ReaperIntervalDefault),
		CacheTTL:         e.seconds("ENRICH_CACHE_TTL_SECONDS", 7*24*time.Hour, 0),
		PromptPrice:      e.price("ENRICH_PRICE_PROMPT_PER_MTOK"),
		CompletionPrice:  e.price("ENRICH_PRICE_COMPLETION_PER_MTOK"),
	}
}

// price reads a non-negative amount of money per million tokens; empty is 0.
func (e *envReader) price(name string) float64 {
	raw := e.str(name, "")
	if raw == "" {
		return 0
	}
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil || v < 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a price ≥ 0", name, raw))
		return 0
	}
	return v
}

// errNoEnricher is the refusal of a production start that names no enricher.
var errNoEnricher = errors.New("no enricher chosen: set TOGETHER_API_KEY for Together AI, " +
	"or ENRICH_ENRICHER=rules to run the local rules enricher on purpose " +
	"(make run and tests set ENRICH_PROFILE=local, where the rules are the default)")

// chooseEnricher resolves cfg.LLM.Enricher, or refuses: an explicit choice is
// honoured (together needs its key); with none, a key means Together, and no key
// means the rules only in the local profile. A secret that failed to mount in
// production must stop the start, not quietly write rules output over LLM results.
func chooseEnricher(cfg *Config) error {
	llm := &cfg.LLM
	switch strings.ToLower(llm.Enricher) {
	case EnricherTogether:
		if !llm.HasKey {
			return errors.New("ENRICH_ENRICHER=together needs TOGETHER_API_KEY")
		}
		llm.Enricher = EnricherTogether
	case EnricherRules:
		llm.Enricher = EnricherRules
	case "":
		switch {
		case llm.HasKey:
			llm.Enricher = EnricherTogether
		case cfg.Profile == ProfileLocal:
			llm.Enricher = EnricherRules
		default:
			return errNoEnricher
		}
	default:
		return fmt.Errorf("ENRICH_ENRICHER=%q: want together or rules", llm.Enricher)
	}
	applyWorkloadDefaults(cfg)
	return nil
}

// concurrencyLimitGauge reports the pool's limit on calls in flight at each scrape:
// the adaptive limit of an I/O-bound enricher, or the fixed one of the rules.
func concurrencyLimitGauge(p *pool.Pool) prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Name: "pool_concurrency_limit",
		Help: "Calls the plugin pool lets run at once: adaptive for an LLM enricher, fixed for the rules.",
	}, func() float64 { return float64(p.Concurrency().Limit) })
}

// IOConcurrencyCapDefault is ENRICH_PLUGIN_CONCURRENCY's default for an I/O-bound
// enricher: the most calls one process may hold. The adaptive limit decides how
// many of them are actually used.
const IOConcurrencyCapDefault = 64

// applyWorkloadDefaults sizes an I/O-bound enricher's concurrency: each process may
// hold up to the cap, the worker leases as many jobs as the pool may have in
// flight, and it does not batch (a batch would wait for its slowest LLM answer).
func applyWorkloadDefaults(cfg *Config) {
	if !cfg.LLM.ioBound() {
		return
	}
	if !cfg.LLM.CapSet {
		cfg.Plugin.Concurrency = IOConcurrencyCapDefault
	}
	if !cfg.LLM.ConcurrencySet {
		cfg.Concurrency = cfg.PoolSize * cfg.Plugin.Concurrency
	}
	cfg.BatchSize = 1
}

// ioBound says the plugins wait on a remote model: many calls in flight, an
// adaptive limit, the shared rate limit and the cache apply.
func (c LLMConfig) ioBound() bool { return c.Enricher == EnricherTogether }

// llmWorkerConfig wires the LLM path for an I/O-bound enricher: the account's rate
// limit and the result cache on the job store's Redis, prices and metrics. The
// rules enricher gets only the (zero) token metrics.
func (m *Main) llmWorkerConfig() (worker.LLMConfig, error) {
	llm := m.Config.LLM
	prices := metrics.Prices{PromptPerMillion: llm.PromptPrice, CompletionPerMillion: llm.CompletionPrice}
	lm, err := metrics.NewLLMMetrics(m.metrics, prices)
	if err != nil {
		return worker.LLMConfig{}, err
	}
	cfg := worker.LLMConfig{Prices: prices, Metrics: lm, RateLimitMaxWait: llm.RateLimitMaxWait, RateLimitHold: llm.RateLimitHold}
	if err := m.metrics.Register(concurrencyLimitGauge(m.pool)); err != nil {
		return cfg, err
	}
	if !llm.ioBound() {
		return cfg, nil
	}
	cfg.RateLimiter = store.NewRateLimiter(m.redis, store.RateLimitConfig{RPM: llm.RPM, TPM: llm.TPM})
	cfg.MaxAheadOfLimit = llm.maxAheadOfLimit()
	info := m.pool.Enricher()
	if llm.CacheTTL > 0 {
		cfg.Cache = store.NewResultCache(m.redis, llm.CacheTTL)
		cfg.CacheVersion = info.Name + "|" + info.ModelVersion + "|" + info.PromptVersion
	}
	m.log.Info("LLM path", "enricher", info.Name, "model", info.ModelVersion, "prompt_version", info.PromptVersion,
		"rpm", llm.RPM, "tpm", llm.TPM, "cache_ttl", llm.CacheTTL, "rate_limit_max_wait", llm.RateLimitMaxWait,
		"rate_limit_hold", llm.RateLimitHold,
		"concurrency", m.pool.Concurrency())
	return cfg, nil
}
