package router

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/julienschmidt/httprouter"

	"github.com/headhunter/hh-enrich-svc/store"
)

// QueueAdmin is what the queue admin routes need of the job store (*store.RedisStore).
type QueueAdmin interface {
	Counts(ctx context.Context) (*store.Counts, error)
	DeadLetters(ctx context.Context, tenantID string, limit int) ([]*store.Job, error)
	RequeueDeadLetter(ctx context.Context, tenantID, jobID string) (*store.Job, error)
}

// deadLetterPageDefault and deadLetterPageMax bound GET /admin/queue's dead letters.
const (
	deadLetterPageDefault = 50
	deadLetterPageMax     = 1000
)

// queueStatus is GET /admin/queue. A tenant admin gets its own tenant's
// figures only: queued is its depth, and the instance-wide ones are left out.
type queueStatus struct {
	Queued        int64            `json:"queued"`
	Delayed       *int64           `json:"delayed,omitempty"`
	Processing    *int64           `json:"processing,omitempty"`
	Totals        map[string]int64 `json:"totals,omitempty"`
	DepthByTenant map[string]int64 `json:"depthByTenant"`
	DedupeHits    map[string]int64 `json:"dedupeHits"`
	Tenant        string           `json:"tenant,omitempty"`
	DeadLetters   []jobView        `json:"deadLetters,omitempty"`
}

// handleQueueStatus shows counts per state and depth per tenant; with ?tenant= it
// also lists that tenant's dead letters (newest first, ?limit= up to 1000). A
// tenant's admin sees only its own tenant.
func (s *server) handleQueueStatus(w http.ResponseWriter, r *http.Request) {
	tenant, limit, err := s.queueQuery(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	counts, err := s.cfg.Queue.Counts(r.Context())
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("queue counts: %w", err))
		return
	}
	st := queueStatus{Queued: counts.Queued, Delayed: &counts.Delayed, Processing: &counts.Processing,
		Totals: map[string]int64{"submitted": counts.Submitted, "completed": counts.Completed, "failed": counts.Failed,
			"retried": counts.Retried, "expired": counts.Expired},
		DepthByTenant: counts.QueueDepth, DedupeHits: counts.DedupeHits, Tenant: tenant}
	if tenant == "" {
		writeJSON(w, http.StatusOK, st)
		return
	}
	st.DepthByTenant = map[string]int64{tenant: counts.QueueDepth[tenant]}
	st.DedupeHits = map[string]int64{tenant: counts.DedupeHits[tenant]}
	if a := adminOf(r); a != nil && !a.Operator {
		st.Queued, st.Delayed, st.Processing, st.Totals = counts.QueueDepth[tenant], nil, nil, nil
	}
	dead, err := s.cfg.Queue.DeadLetters(r.Context(), tenant, limit)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("dead letters: %w", err))
		return
	}
	st.DeadLetters = make([]jobView, len(dead))
	for i, j := range dead {
		st.DeadLetters[i] = newJobView(j)
	}
	writeJSON(w, http.StatusOK, st)
}

// queueQuery reads ?tenant= and ?limit=. A parameter given empty is refused,
// as the document types it (an integer, a tenant id), rather than read as absent.
func (s *server) queueQuery(r *http.Request) (string, int, error) {
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if q.Has("tenant") && !tenantPattern.MatchString(tenant) {
		return "", 0, newError(CodeInvalidField, "tenant must be 1-64 letters, digits or '-', starting with a letter or digit.",
			map[string]any{"field": "tenant"})
	}
	if err := s.adminMayAct(r, &tenant); err != nil {
		return "", 0, err
	}
	limit := deadLetterPageDefault
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > deadLetterPageMax {
			return "", 0, newError(CodeInvalidField, fmt.Sprintf("limit must be an integer from 1 to %d.", deadLetterPageMax),
				map[string]any{"field": "limit"})
		}
		limit = n
	}
	return tenant, limit, nil
}

// handleRequeue puts one of a tenant's dead letters back on its queue with its
// attempts reset. The tenant is the X-Tenant-ID header: a job of another tenant,
// like one that is not a dead letter, is 404.
func (s *server) handleRequeue(w http.ResponseWriter, r *http.Request) {
	jobID := httprouter.ParamsFromContext(r.Context()).ByName("jobId")
	tenant := strings.TrimSpace(r.Header.Get(s.cfg.TenantHeader))
	if tenant == "" {
		writeError(w, r, s.log, newError(CodeMissingTenant, "Missing "+s.cfg.TenantHeader+" header: the tenant whose dead letter to requeue.", nil))
		return
	}
	if err := s.adminMayAct(r, &tenant); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	job, err := s.cfg.Queue.RequeueDeadLetter(r.Context(), tenant, jobID)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, r, s.log, newError(CodeNotFound, "No dead letter of this tenant has that id.", map[string]any{"jobId": jobID}))
		return
	}
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("requeue %s: %w", jobID, err))
		return
	}
	s.log.Warn("operator requeued a dead letter", "job_id", jobID, "tenant_id", tenant, "request_id", requestID(r))
	writeJSON(w, http.StatusOK, map[string]any{"job": newJobView(job)})
}

// adminMayAct limits a tenant's admin to its own tenant: an empty tenant
// becomes its own, another one is refused as not found. An operator may act on
// any tenant.
func (s *server) adminMayAct(r *http.Request, tenant *string) error {
	a := adminOf(r)
	if a == nil || a.Operator {
		return nil
	}
	if *tenant == "" {
		*tenant = a.Tenant
	}
	if *tenant != a.Tenant {
		return newError(CodeNotFound, "No such tenant for this admin.", nil)
	}
	return nil
}
