package router

import (
	"cmp"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// Defaults of the credential guard: 5 wrong credentials at once from one
// address, then one every 12 s (5 a minute), whatever route they came through.
const (
	GuardBurstDefault     = 5
	GuardIntervalDefault  = 12 * time.Second
	GuardAddressesDefault = 10_000
)

// GuardConfig configures a CredentialGuard.
type GuardConfig struct {
	// Burst is how many wrong credentials an address may send at once. Default 5.
	Burst int
	// Interval is how often one more is allowed after that. Default 12 s.
	Interval time.Duration
	// Addresses bounds how many client addresses are tracked (the quietest go
	// first). Default 10,000.
	Addresses int
	// TrustedProxyHops is how many proxies in front of the service append to
	// X-Forwarded-For (ENRICH_TRUSTED_PROXY_HOPS): 0 reads the connection's
	// address; 1 (Cloud Run, one load balancer) the last X-Forwarded-For entry.
	TrustedProxyHops int
	Now              func() time.Time
	Logger           hclog.Logger
}

// CredentialGuard throttles credential guessing per client address: wrong admin
// tokens on the admin API and /health, and failed console sign-ins, share one
// bucket per address. A blocked address gets 429 with Retry-After before its
// credential is checked, so guessing costs time whatever the guess.
type CredentialGuard struct {
	limit rate.Limit
	burst int
	hops  int
	now   func() time.Time
	log   hclog.Logger

	mu      sync.Mutex // makes get-or-create one step
	buckets *lru.Cache[string, *rate.Limiter]
}

// NewCredentialGuard returns a guard with cfg's limits (defaults for zeros).
func NewCredentialGuard(cfg GuardConfig) *CredentialGuard {
	cfg.Burst = cmp.Or(cfg.Burst, GuardBurstDefault)
	cfg.Interval = cmp.Or(cfg.Interval, GuardIntervalDefault)
	cfg.Addresses = cmp.Or(cfg.Addresses, GuardAddressesDefault)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.Default()
	}
	buckets, _ := lru.New[string, *rate.Limiter](max(1, cfg.Addresses))
	return &CredentialGuard{limit: rate.Every(cfg.Interval), burst: max(1, cfg.Burst), hops: max(0, cfg.TrustedProxyHops),
		now: cfg.Now, log: cfg.Logger.Named("guard"), buckets: buckets}
}

// Wait is how long r's client address must wait before a credential of it is
// checked again; 0 when it may try now.
func (g *CredentialGuard) Wait(r *http.Request) time.Duration {
	if g == nil {
		return 0
	}
	b, ok := g.existing(g.ClientAddress(r))
	if !ok {
		return 0
	}
	now := g.now()
	tokens := b.TokensAt(now)
	if tokens >= 1 {
		return 0
	}
	return time.Duration((1 - tokens) / float64(g.limit) * float64(time.Second))
}

// Fail counts one wrong credential from r's client address and logs it.
func (g *CredentialGuard) Fail(r *http.Request, what string) {
	if g == nil {
		return
	}
	addr := g.ClientAddress(r)
	b := g.bucket(addr)
	b.AllowN(g.now(), 1) // an empty bucket stays empty: the address is blocked
	g.log.Warn("wrong credential", "what", what, "client", addr, "path", r.URL.Path, "request_id", requestID(r))
}

// refusal is the 429 *Error of a blocked address, or nil.
func (g *CredentialGuard) refusal(r *http.Request) error {
	wait := g.Wait(r)
	if wait <= 0 {
		return nil
	}
	g.log.Warn("credential refused unchecked: too many wrong ones from this address", "client", g.ClientAddress(r),
		"path", r.URL.Path, "retry_after", wait.Round(time.Second), "request_id", requestID(r))
	return tooMany(CodeRateLimited, "Too many wrong credentials from this address. Try again later.", wait)
}

// ClientAddress is the caller's IP: the connection's, or the entry of
// X-Forwarded-For that the nearest trusted proxy added (entries before it are
// the client's to forge).
func (g *CredentialGuard) ClientAddress(r *http.Request) string {
	if g != nil && g.hops > 0 {
		var hops []string
		for _, v := range r.Header.Values("X-Forwarded-For") {
			for _, item := range strings.Split(v, ",") {
				if item = strings.TrimSpace(item); item != "" {
					hops = append(hops, item)
				}
			}
		}
		if len(hops) >= g.hops {
			return hops[len(hops)-g.hops]
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (g *CredentialGuard) existing(addr string) (*rate.Limiter, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.buckets.Get(addr)
}

func (g *CredentialGuard) bucket(addr string) *rate.Limiter {
	g.mu.Lock()
	defer g.mu.Unlock()
	if b, ok := g.buckets.Get(addr); ok {
		return b
	}
	b := rate.NewLimiter(g.limit, g.burst)
	g.buckets.Add(addr, b)
	return b
}
