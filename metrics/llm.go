package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Prices are what the LLM provider charges per million tokens (any currency; the
// README says USD). Zero prices: no cost is counted.
type Prices struct {
	PromptPerMillion     float64
	CompletionPerMillion float64
}

// Cost is what usage costs at these prices.
func (p Prices) Cost(promptTokens, completionTokens int64) float64 {
	return (float64(promptTokens)*p.PromptPerMillion + float64(completionTokens)*p.CompletionPerMillion) / 1e6
}

// Set says prices were given.
func (p Prices) Set() bool { return p.PromptPerMillion > 0 || p.CompletionPerMillion > 0 }

// LLMMetrics counts the remote model's use: tokens and cost by tenant (bounded
// like every tenant label), cache outcomes, 429s and time spent waiting for the
// account's rate limit. Every method is safe on a nil *LLMMetrics.
type LLMMetrics struct {
	m        *Metrics
	prices   Prices
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
	cache    *prometheus.CounterVec
	limited  prometheus.Counter
	waitTime prometheus.Counter
	deferred prometheus.Counter
}

// NewLLMMetrics registers the LLM metrics on m's registry.
func NewLLMMetrics(m *Metrics, prices Prices) (*LLMMetrics, error) {
	l := &LLMMetrics{
		m:      m,
		prices: prices,
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_tokens_total",
			Help: "Tokens the LLM billed, by tenant and kind (prompt or completion).",
		}, []string{"tenant", "kind"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_cost_total",
			Help: "What the LLM's tokens cost at ENRICH_PRICE_*_PER_MTOK, by tenant.",
		}, []string{"tenant"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_cache_total",
			Help: "Result cache lookups, by outcome (hit, miss, bypass).",
		}, []string{"outcome"}),
		limited: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_rate_limited_total",
			Help: "LLM calls the provider answered 429 (each pauses every instance).",
		}),
		waitTime: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_rate_limit_wait_seconds_total",
			Help: "Time jobs spent waiting for the account's shared rate limit, in their worker slots or deferred.",
		}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "llm_rate_limit_deferrals_total",
			Help: "Jobs given back to the queue, uncharged, to wait for the account's rate limit out of their worker slots.",
		}),
	}
	for _, c := range []prometheus.Collector{l.tokens, l.cost, l.cache, l.limited, l.waitTime, l.deferred} {
		if err := m.Register(c); err != nil {
			return nil, err
		}
	}
	// Known label values start at 0, so rate() sees the first increment.
	for _, outcome := range []string{"hit", "miss", "bypass"} {
		l.cache.WithLabelValues(outcome)
	}
	return l, nil
}

// Used counts one answer's tokens, and their cost when prices are set.
func (l *LLMMetrics) Used(tenant string, promptTokens, completionTokens int64) {
	if l == nil || promptTokens+completionTokens == 0 {
		return
	}
	label := l.m.Tenant(tenant)
	l.tokens.WithLabelValues(label, "prompt").Add(float64(promptTokens))
	l.tokens.WithLabelValues(label, "completion").Add(float64(completionTokens))
	if l.prices.Set() {
		l.cost.WithLabelValues(label).Add(l.prices.Cost(promptTokens, completionTokens))
	}
}

// CacheLookup counts a result cache outcome: "hit", "miss" or "bypass".
func (l *LLMMetrics) CacheLookup(outcome string) {
	if l != nil {
		l.cache.WithLabelValues(outcome).Inc()
	}
}

// RateLimited counts a 429.
func (l *LLMMetrics) RateLimited() {
	if l != nil {
		l.limited.Inc()
	}
}

// Deferred counts a job given back to wait for the rate limit out of its slot.
func (l *LLMMetrics) Deferred() {
	if l != nil {
		l.deferred.Inc()
	}
}

// Waited counts time spent waiting for the shared rate limit.
func (l *LLMMetrics) Waited(seconds float64) {
	if l != nil && seconds > 0 {
		l.waitTime.Add(seconds)
	}
}
