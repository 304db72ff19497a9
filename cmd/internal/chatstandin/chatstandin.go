// Package chatstandin is a stand-in for Together AI's OpenAI-compatible chat
// completions API on a loopback socket, for the service's tests and the benchmark's
// llm mode: answers take a lognormal time, the account has a requests- and
// tokens-a-minute limit answered with 429 and Retry-After, and every answer reports
// its token usage. It speaks the real protocol; only the model is missing.
package chatstandin

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Config shapes the stand-in. The zero value answers at once with no limit.
type Config struct {
	// Content is the assistant message of every good answer: the enrichment JSON.
	// GoodEnrichment reads the Python fake's.
	Content string
	// LatencyMedian and LatencyP99 shape a lognormal answer time; zero: at once.
	LatencyMedian, LatencyP99 time.Duration
	// RPM and TPM are the account's limits; 0: none. Burst is how many seconds'
	// worth may arrive at once (default 5).
	RPM, TPM     int
	BurstSeconds float64
	// CompletionTokens is what every answer bills for its completion (default 400);
	// prompt tokens are the request body's bytes / 4.
	CompletionTokens int
	// Seed makes the latencies repeatable.
	Seed uint64
	// LatencyKey, when set, finds a key in each request body (its first match);
	// ModelLatency then tells the model time of the last good answer for it, so a
	// harness can take the model's time out of a job's.
	LatencyKey *regexp.Regexp
}

// Stats counts what the stand-in answered.
type Stats struct {
	Requests     int   `json:"requests"`
	OK           int   `json:"ok"`
	RateLimited  int   `json:"rateLimited"`
	Tokens       int64 `json:"tokens"`
	PeakInFlight int   `json:"peakInFlight"`
	// Latencies are the model times the good answers were held for.
	Latencies []time.Duration `json:"-"`
}

// Server is a running stand-in.
type Server struct {
	// BaseURL is the value for TOGETHER_AI_BASE_URL (it ends in /v1).
	BaseURL string
	cfg     Config
	http    *http.Server
	ln      net.Listener

	mu        sync.Mutex
	rng       *rand.Rand
	requests  gcra
	tokens    gcra
	rejecting int // answer this many more requests with 429 regardless of the limit
	// answerPrefix is every good answer's body up to its usage (answer).
	answerPrefix []byte
	inflight     int
	stats        Stats
	byKey        map[string]time.Duration
}

// Start serves cfg on a free loopback port until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.CompletionTokens == 0 {
		cfg.CompletionTokens = 400
	}
	if cfg.BurstSeconds == 0 {
		cfg.BurstSeconds = 5
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("chat stand-in: %w", err)
	}
	s := &Server{
		BaseURL:  "http://" + ln.Addr().String() + "/v1",
		cfg:      cfg,
		ln:       ln,
		rng:      rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		requests: newGCRA(cfg.RPM, cfg.BurstSeconds),
		tokens:   newGCRA(cfg.TPM, cfg.BurstSeconds),
		byKey:    map[string]time.Duration{},
	}
	s.answerPrefix = encodeAnswerPrefix(cfg.Content)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.complete)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.http.Serve(ln) }()
	return s, nil
}

// Close stops serving; requests being held are cut off.
func (s *Server) Close() error { return s.http.Close() }

// RejectNext makes the next n requests answer 429 with Retry-After retryAfter,
// whatever the limit: a 429 storm.
func (s *Server) RejectNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejecting = n
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Latencies = slices.Clone(s.stats.Latencies)
	return st
}

// ModelLatency is the model time of the last good answer to a request whose body
// held key (Config.LatencyKey).
func (s *Server) ModelLatency(key string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.byKey[key]
	return d, ok
}

// ResetStats zeroes the counts (between a run and its rerun).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = Stats{}
}

func (s *Server) complete(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	arrived := time.Now()
	promptTokens := int64(len(body) / 4)
	tokens := promptTokens + int64(s.cfg.CompletionTokens)
	key := ""
	if s.cfg.LatencyKey != nil {
		key = string(s.cfg.LatencyKey.Find(body))
	}
	latency, retryAfter := s.admit(tokens, key)
	if retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retryAfter.Seconds()))))
		s.limitHeaders(w.Header())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(w, `{"error":{"message":"rate limit exceeded","type":"rate_limit"}}`)
		return
	}
	defer s.done()
	timer := time.NewTimer(latency)
	select {
	case <-timer.C:
	case <-r.Context().Done():
		timer.Stop()
		return
	}
	answer := s.answer(promptTokens, tokens)
	s.limitHeaders(w.Header())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(answer)))
	// The model's time as the provider served it, from the request in hand to its
	// answer ready to send: admitting the request and encoding the answer are the
	// provider's work, and a timer that fired late on a busy machine is the
	// provider's delay, not the caller's. What the caller's side adds (its HTTP
	// client, the request's upload, the loopback both ways) stays outside.
	s.served(key, time.Since(arrived))
	_, _ = w.Write(answer) // one write: headers and body leave together
}

// answer is a chat completion's body. The fixed part is encoded once at Start, so
// the stand-in's own time per answer stays small next to the caller's.
func (s *Server) answer(promptTokens, tokens int64) []byte {
	out := make([]byte, 0, len(s.answerPrefix)+96)
	out = append(out, s.answerPrefix...)
	out = fmt.Appendf(out, `{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
		promptTokens, s.cfg.CompletionTokens, tokens)
	return append(out, '\n')
}

// encodeAnswerPrefix is every answer's body up to its usage object.
func encodeAnswerPrefix(content string) []byte {
	head, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-standin", "object": "chat.completion",
		"choices": []any{map[string]any{"index": 0, "finish_reason": "stop",
			"message": map[string]any{"role": "assistant", "content": content}}},
	})
	// {"choices":…,"id":…,"object":…} → {"choices":…,"id":…,"object":…,"usage":
	return append(head[:len(head)-1], `,"usage":`...)
}

// limitHeaders tells the caller where the account stands, on every answer, the
// way Together AI does: requests left now and the seconds until the next one is
// allowed (x-ratelimit-*; the limit refills continuously, so that is when
// "remaining" leaves 0), and tokens left (x-tokenlimit-*).
func (s *Server) limitHeaders(h http.Header) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	if s.requests.interval > 0 {
		h.Set("x-ratelimit-limit", strconv.Itoa(s.cfg.RPM))
		h.Set("x-ratelimit-remaining", strconv.Itoa(s.requests.remaining(now)))
		h.Set("x-ratelimit-reset", strconv.FormatFloat(s.requests.wait(now, 1).Seconds(), 'f', 3, 64))
	}
	if s.tokens.interval > 0 {
		h.Set("x-tokenlimit-limit", strconv.Itoa(s.cfg.TPM))
		h.Set("x-tokenlimit-remaining", strconv.Itoa(s.tokens.remaining(now)))
	}
}

// admit counts a request and decides its fate: a model time, or a 429's wait.
func (s *Server) admit(tokens int64, key string) (latency, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	now := time.Now()
	if s.rejecting > 0 {
		s.rejecting--
		s.stats.RateLimited++
		return 0, time.Second
	}
	if wait := max(s.requests.wait(now, 1), s.tokens.wait(now, float64(tokens))); wait > 0 {
		s.stats.RateLimited++
		return 0, wait
	}
	s.requests.take(now, 1)
	s.tokens.take(now, float64(tokens))
	s.stats.OK++
	s.stats.Tokens += tokens
	s.inflight++
	s.stats.PeakInFlight = max(s.stats.PeakInFlight, s.inflight)
	latency = s.latencyLocked()
	return latency, 0
}

// served records a good answer's model time.
func (s *Server) served(key string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Latencies = append(s.stats.Latencies, d)
	if key != "" {
		s.byKey[key] = d
	}
}

func (s *Server) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inflight--
}

// latencyLocked draws a lognormal time with the configured median and p99.
func (s *Server) latencyLocked() time.Duration {
	if s.cfg.LatencyMedian <= 0 {
		return 0
	}
	mu := math.Log(float64(s.cfg.LatencyMedian))
	sigma := 0.0
	if s.cfg.LatencyP99 > s.cfg.LatencyMedian {
		sigma = math.Log(float64(s.cfg.LatencyP99)/float64(s.cfg.LatencyMedian)) / 2.3263 // z of p99
	}
	return time.Duration(math.Exp(mu + sigma*s.rng.NormFloat64()))
}

// gcra is the provider's side of a per-minute limit: the theoretical arrival time
// of the next unit, with a burst's worth of tolerance.
type gcra struct {
	interval float64 // seconds per unit
	burst    float64 // seconds of tolerance
	tat      time.Time
}

func newGCRA(perMinute int, burstSeconds float64) gcra {
	if perMinute <= 0 {
		return gcra{}
	}
	return gcra{interval: 60 / float64(perMinute), burst: burstSeconds}
}

// wait is how long until n units would be allowed (0: now).
func (g *gcra) wait(now time.Time, n float64) time.Duration {
	if g.interval == 0 {
		return 0
	}
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(seconds(g.interval * n))
	allowAt := newTAT.Add(-seconds(g.burst))
	if allowAt.After(now) {
		return allowAt.Sub(now)
	}
	return 0
}

// remaining is how many units would be allowed now.
func (g *gcra) remaining(now time.Time) int {
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	return max(0, int((g.burst-tat.Sub(now).Seconds())/g.interval))
}

func (g *gcra) take(now time.Time, n float64) {
	if g.interval == 0 {
		return
	}
	if g.tat.Before(now) {
		g.tat = now
	}
	g.tat = g.tat.Add(seconds(g.interval * n))
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// GoodEnrichment is cloud_run_worker/fake_together.py's good answer, read through
// pythonBin (the venv's interpreter), so the schema has a single source.
func GoodEnrichment(ctx context.Context, pythonBin, repoRoot string) (string, error) {
	cmd := exec.CommandContext(ctx, pythonBin, "-c",
		"import json, fake_together; print(json.dumps(fake_together.GOOD_ENRICHMENT))")
	cmd.Dir = filepath.Join(repoRoot, "cloud_run_worker")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("chat stand-in: reading the good enrichment: %w", err)
	}
	return string(out), nil
}
