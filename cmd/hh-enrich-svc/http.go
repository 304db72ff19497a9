package main

import (
	"context"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/router"
)

// HTTP server limits. Slow clients cannot hold a connection open forever
// (slowloris), while a sync submission may legitimately wait ENRICH_SYNC_WAIT_MS
// before it writes its answer: the write timeout leaves it that and a margin.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second // the whole request, a 1 MiB body included
	writeMargin       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10 // room for a few JWTs, far below the 1 MiB default
)

// newHTTPServer returns the service's server for handler.
func newHTTPServer(handler http.Handler, syncWait time.Duration, log hclog.Logger) *http.Server {
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      syncWait + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
}

// startAuth builds the token verifier of AUTH_MODE and starts fetching its signing
// keys, saying in the log what is and is not checked.
func (m *Main) startAuth(ctx context.Context) error {
	cfg := m.Config.HTTP
	cfg.Auth.Logger = m.log
	auth, err := router.NewAuthenticator(cfg.Auth)
	if err != nil {
		return err
	}
	if err := auth.Start(ctx); err != nil {
		_ = auth.Stop(ctx)
		return err
	}
	m.auth = auth
	switch auth.Mode() {
	case router.AuthModeNone:
		m.log.Warn("AUTH_MODE=none: no token is checked and the tenant header is trusted; " +
			"use it only behind a gateway that authenticates, or for a local demo")
	default:
		issuers := make([]string, 0, len(cfg.Auth.GatewayIssuers))
		for _, iss := range cfg.Auth.GatewayIssuers {
			issuers = append(issuers, iss.Issuer)
		}
		m.log.Info("authentication", "auth_mode", auth.Mode(), "gateway_issuers", issuers,
			"gateway_audiences", cfg.Auth.GatewayAudiences, "firebase_project", cfg.Auth.FirebaseProjectID)
	}
	if cfg.CheckRevoked {
		m.log.Warn("AUTH_CHECK_REVOKED is not supported: revoked Firebase tokens are accepted until they " +
			"expire (at most an hour); checking revocation needs the Firebase Admin SDK")
	}
	if cfg.RateLimit == 0 {
		m.log.Info("per-tenant rate limit off (GATEWAY_GLOBAL_RPS=0)")
	}
	return nil
}
