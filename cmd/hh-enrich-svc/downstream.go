package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/headhunter/hh-enrich-svc/embed"
	"github.com/headhunter/hh-enrich-svc/metrics"
	"github.com/headhunter/hh-enrich-svc/router"
	"github.com/headhunter/hh-enrich-svc/store/firestore"
)

// DownstreamConfig is where enriched candidates go: Firestore and hh-embed-svc.
type DownstreamConfig struct {
	// ProjectID turns Firestore on (FIREBASE_PROJECT_ID | GOOGLE_CLOUD_PROJECT |
	// GCLOUD_PROJECT). Empty: the request's payload is the whole candidate.
	ProjectID string
	// FirestoreEnabled is false only when ENRICH_FIRESTORE_ENABLED=false: then
	// Firestore stays off even with a project (the payload is the whole candidate).
	FirestoreEnabled bool
	Collection       string
	Embed            embed.Config
}

// parseDownstream reads REFERENCE §6 and §8's variables.
func parseDownstream(e *envReader, tenantHeader, requestIDHeader string) DownstreamConfig {
	d := DownstreamConfig{
		ProjectID:        e.first("", "FIREBASE_PROJECT_ID", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT"),
		FirestoreEnabled: e.boolean("ENRICH_FIRESTORE_ENABLED", true),
		Collection:       e.str("FIRESTORE_COLLECTION", firestore.CollectionDefault),
		Embed: embed.Config{
			Enabled:         e.boolean("ENRICH_EMBED_ENABLED", true),
			BaseURL:         e.first(embed.BaseURLDefault, "ENRICH_EMBED_BASE_URL", "EMBED_SERVICE_URL"),
			Timeout:         e.millis("ENRICH_EMBED_TIMEOUT_MS", embed.TimeoutDefault, 500*time.Millisecond),
			Token:           e.first("", "ENRICH_EMBED_TOKEN", "EMBED_SERVICE_BEARER_TOKEN"),
			Audience:        e.first("", "ENRICH_EMBED_AUDIENCE", "EMBED_SERVICE_AUDIENCE"),
			TenantHeader:    tenantHeader,
			RequestIDHeader: requestIDHeader,
			RetryLimit:      e.integer("ENRICH_EMBED_RETRY_LIMIT", embed.RetryLimitDefault, 0),
			RetryBaseDelay:  e.millis("ENRICH_EMBED_RETRY_BASE_DELAY_MS", embed.RetryBaseDelayDefault, 100*time.Millisecond),
			RetryMaxDelay:   e.millis("ENRICH_EMBED_RETRY_MAX_DELAY_MS", embed.RetryMaxDelayDefault, time.Second),
			BreakerFailures: e.integer("ENRICH_EMBED_CB_FAILURE_THRESHOLD", embed.BreakerFailuresDefault, 1),
			BreakerReset:    e.millis("ENRICH_EMBED_CB_RESET_MS", embed.BreakerResetDefault, 5*time.Second),
		},
	}
	if d.ProjectID == "" && e.str("ENRICH_FIRESTORE_ENABLED", "") != "" && d.FirestoreEnabled {
		e.errs = append(e.errs, errors.New("ENRICH_FIRESTORE_ENABLED=true needs a project: set FIREBASE_PROJECT_ID, GOOGLE_CLOUD_PROJECT or GCLOUD_PROJECT"))
	}
	return d
}

// openDownstream connects to Firestore (when a project is configured) and builds
// the embed client (when enabled).
func (m *Main) openDownstream(ctx context.Context) error {
	cfg := m.Config.Downstream
	// The reference honoured FIREBASE_EMULATOR_HOST too; the Go client reads only
	// FIRESTORE_EMULATOR_HOST.
	if host := os.Getenv("FIREBASE_EMULATOR_HOST"); host != "" && os.Getenv("FIRESTORE_EMULATOR_HOST") == "" {
		if err := os.Setenv("FIRESTORE_EMULATOR_HOST", host); err != nil {
			return err
		}
	}
	if cfg.ProjectID != "" && cfg.FirestoreEnabled {
		candidates, err := firestore.New(ctx, firestore.Config{ProjectID: cfg.ProjectID, Collection: cfg.Collection})
		if err != nil {
			return fmt.Errorf("firestore (project %s): %w", cfg.ProjectID, err)
		}
		m.candidates = candidates
		// Tenants must exist and be active in organizations/{id}, as in the reference.
		m.tenants = organizations{store: candidates}
		m.log.Info("firestore on", "project", cfg.ProjectID, "collection", cfg.Collection,
			"emulator", os.Getenv("FIRESTORE_EMULATOR_HOST"))
	} else if !cfg.FirestoreEnabled {
		m.log.Info("firestore off (ENRICH_FIRESTORE_ENABLED=false): each job's payload is its whole candidate")
	} else {
		m.log.Info("firestore off (no FIREBASE_PROJECT_ID / GOOGLE_CLOUD_PROJECT, local profile): each job's payload is its whole candidate")
	}
	if !cfg.Embed.Enabled {
		m.log.Info("embedding off (ENRICH_EMBED_ENABLED=false): jobs record embeddingSkippedReason=embedding_disabled")
		return nil
	}
	embedCfg := cfg.Embed
	embedCfg.Logger = m.log
	client, err := embed.New(ctx, embedCfg)
	if err != nil {
		return fmt.Errorf("embed client (%s): %w", embedCfg.BaseURL, err)
	}
	m.embedder = client
	m.log.Info("embedding on", "base_url", embedCfg.BaseURL)
	return m.metrics.Register(metrics.NewEmbedBreakerCollector(client.State))
}

// startExporter writes the reference's Cloud Monitoring metrics when asked to and a
// project is known. Asked for but impossible (no project, no credentials) is a
// startup error, not a silent gap in the dashboards.
func (m *Main) startExporter(ctx context.Context) error {
	if !m.Config.MetricsExportEnabled {
		return nil
	}
	if m.Config.Downstream.ProjectID == "" {
		return fmt.Errorf("ENRICH_METRICS_EXPORT_ENABLED needs FIREBASE_PROJECT_ID or GOOGLE_CLOUD_PROJECT")
	}
	exporter, err := metrics.NewExporter(ctx, m.metrics, metrics.ExporterConfig{
		ProjectID:   m.Config.Downstream.ProjectID,
		ServiceName: m.Config.ServiceName,
		Interval:    m.Config.MetricsExportInterval,
		Logger:      m.log,
	})
	if err != nil {
		return fmt.Errorf("cloud monitoring exporter: %w", err)
	}
	m.exporter = exporter
	// Detached from ctx so the numbers of the drain itself still get exported.
	return exporter.Start(context.WithoutCancel(ctx))
}

// organizations is the API's tenant directory on Firestore's organizations/{id}
// (REFERENCE §2): cmd adapts it, since nothing may import router but cmd.
type organizations struct{ store *firestore.CandidateStore }

func (o organizations) Lookup(ctx context.Context, tenantID string) (router.Tenant, error) {
	doc, err := o.store.Organization(ctx, tenantID)
	if errors.Is(err, firestore.ErrOrganizationNotFound) || errors.Is(err, firestore.ErrInvalidID) {
		return router.Tenant{}, fmt.Errorf("%w: %w", router.ErrTenantNotFound, err)
	}
	if err != nil {
		return router.Tenant{}, err
	}
	return router.TenantFromDocument(tenantID, doc), nil
}

// healthComponents are the parts /health/detailed reports beside Redis and the pool.
func (m *Main) healthComponents() map[string]func(context.Context) router.ComponentHealth {
	return map[string]func(context.Context) router.ComponentHealth{
		"embed": func(context.Context) router.ComponentHealth {
			if m.embedder == nil {
				return router.ComponentHealth{Status: "off"}
			}
			state := m.embedder.State()
			status := "ok"
			if state != "closed" {
				status = "degraded"
			}
			return router.ComponentHealth{Status: status, Detail: map[string]any{"breaker": state, "baseUrl": m.Config.Downstream.Embed.BaseURL}}
		},
		"firestore": func(context.Context) router.ComponentHealth {
			if m.candidates == nil {
				return router.ComponentHealth{Status: "off"}
			}
			return router.ComponentHealth{Status: "ok", Detail: map[string]any{"project": m.Config.Downstream.ProjectID}}
		},
	}
}
