package adminui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/headhunter/hh-enrich-svc/store"
)

// Bounds of the jobs page's reads.
const (
	recentFailuresShown     = 20
	recentFailuresPerTenant = 10
	recentFailureTenants    = 25 // tenants whose dead letters are read for "recent failures"
	deadLettersShown        = 50
)

// tenantPattern is router's tenant id rule; anything else cannot name a tenant.
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,63}$`)

// jobsPage is the jobs template's data.
type jobsPage struct {
	Query          string
	Job            *jobDetail
	NotFound       bool
	Tenants        []string // tenants to pick dead letters from
	Tenant         string   // the tenant whose dead letters are listed
	DeadLetters    []jobRow
	Recent         []jobRow
	FailuresByCode []countRow // this instance's failed attempts since it started
	StoreError     bool
}

// jobRow is a failed job in a table.
type jobRow struct {
	ID, Tenant, Code, Message, Updated string
	Attempts                           int
}

// jobDetail is one job as the lookup shows it. The candidate payload and the
// result hold personal data: they are filled only when asked for.
type jobDetail struct {
	ID, Tenant, Candidate, Status, Code, Message, Created, Updated, Correlation string
	Attempts                                                                    int
	Retried, Failed, ShowPersonal, HasPersonal                                  bool
	Payload, Result                                                             string
}

func (c *Console) handleJobs(w http.ResponseWriter, r *http.Request, s *session) {
	q := r.URL.Query()
	page := jobsPage{Query: strings.TrimSpace(q.Get("id")), Tenant: strings.TrimSpace(q.Get("tenant"))}
	ctx := r.Context()
	if page.Query != "" {
		var err error
		page.Job, err = c.lookUp(ctx, w, s, page.Query, q.Get("show") == "personal")
		page.NotFound = errors.Is(err, store.ErrNotFound)
		page.StoreError = err != nil && !page.NotFound
		if page.Job != nil && page.Tenant == "" && page.Job.Failed {
			page.Tenant = page.Job.Tenant
		}
	}
	rd, _ := gather(c.cfg.Metrics) // what could be read is shown; the log has the sampler's errors
	page.Tenants = c.visibleTenants(ctx, s, rd)
	if page.Tenant != "" && tenantPattern.MatchString(page.Tenant) && s.maySee(page.Tenant) {
		dead, err := c.cfg.Jobs.DeadLetters(ctx, page.Tenant, deadLettersShown)
		page.StoreError = page.StoreError || c.storeFailed(w, "dead letters", err)
		page.DeadLetters = jobRows(dead)
	}
	recent, err := c.recentFailures(ctx, page.Tenants)
	page.StoreError = page.StoreError || c.storeFailed(w, "recent failures", err)
	page.Recent = recent
	if s.Operator {
		page.FailuresByCode = sortedCounts(rd.failuresByCode)
	}
	c.render(w, r, http.StatusOK, "jobs", c.newView(r, s, "Jobs", "jobs", page))
}

// lookUp finds a job by id. A job of a tenant the admin may not see is
// store.ErrNotFound, exactly like an unknown id, so ids of other tenants leak
// nothing. Other errors are the store's, logged here.
func (c *Console) lookUp(ctx context.Context, w http.ResponseWriter, s *session, id string, personal bool) (*jobDetail, error) {
	job, err := c.cfg.Jobs.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !s.maySee(job.TenantID)) {
		return nil, store.ErrNotFound
	}
	if c.storeFailed(w, "job lookup", err) {
		return nil, err
	}
	d := &jobDetail{ID: job.ID, Tenant: job.TenantID, Candidate: job.CandidateID, Status: string(job.Status),
		Code: job.ErrorCode, Message: job.ErrorMessage, Created: formatTime(job.CreatedAt), Updated: formatTime(job.UpdatedAt),
		Correlation: job.CorrelationID, Attempts: job.Attempts, Retried: job.Retried, Failed: job.Status == store.StatusFailed,
		HasPersonal: len(job.Payload) > 0 || len(job.Result) > 0}
	if personal && d.HasPersonal {
		d.ShowPersonal, d.Payload, d.Result = true, indentJSON(job.Payload), indentJSON(job.Result)
		c.log.Info("console showed a job's candidate data", "job_id", job.ID, "tenant_id", job.TenantID,
			"subject", s.Subject, "session", shortID(s.ID), "request_id", c.requestID(w))
	}
	return d, nil
}

// recentFailures merges the newest dead letters of the given tenants, newest
// first. Final failures are the ones kept (with their code, message and
// attempts); failed attempts that were retried are counted, not kept.
func (c *Console) recentFailures(ctx context.Context, tenants []string) ([]jobRow, error) {
	var jobs []*store.Job
	for i, tenant := range tenants {
		if i == recentFailureTenants || tenant == tenantOther {
			break
		}
		dead, err := c.cfg.Jobs.DeadLetters(ctx, tenant, recentFailuresPerTenant)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, dead...)
	}
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].UpdatedAt.After(jobs[j].UpdatedAt) })
	return jobRows(jobs[:min(len(jobs), recentFailuresShown)]), nil
}

// visibleTenants are the tenants the admin may see that the metrics or the
// store's counters name: the store keeps no list of tenants.
func (c *Console) visibleTenants(ctx context.Context, s *session, rd *reading) []string {
	seen := map[string]bool{}
	for _, name := range rd.tenantNames() {
		seen[name] = true
	}
	if counts, err := c.cfg.Jobs.Counts(ctx); err == nil {
		for name := range counts.QueueDepth {
			seen[name] = true
		}
		for name := range counts.DedupeHits {
			seen[name] = true
		}
	}
	if !s.Operator && s.Tenant != "" {
		seen = map[string]bool{s.Tenant: true}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		if s.maySee(name) && name != tenantOther && tenantPattern.MatchString(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// requeueForm posts back to the jobs page of the requeued job.
func (c *Console) handleRequeue(w http.ResponseWriter, r *http.Request, s *session) {
	tenant, jobID := strings.TrimSpace(r.PostFormValue("tenant")), strings.TrimSpace(r.PostFormValue("job"))
	if !tenantPattern.MatchString(tenant) || !s.maySee(tenant) {
		c.renderError(w, r, s, http.StatusNotFound, "No such tenant", "You cannot requeue this tenant's jobs.")
		return
	}
	back := Prefix + "/jobs?id=" + url.QueryEscape(jobID) + "&tenant=" + url.QueryEscape(tenant)
	job, err := c.cfg.Jobs.RequeueDeadLetter(r.Context(), tenant, jobID)
	if errors.Is(err, store.ErrNotFound) {
		http.Redirect(w, r, back+"&done=requeue-missing", http.StatusSeeOther)
		return
	}
	if c.storeFailed(w, "requeue", err) {
		c.renderError(w, r, s, http.StatusServiceUnavailable, "Store unavailable", "The job store did not answer; nothing was requeued.")
		return
	}
	c.log.Warn("operator requeued a dead letter from the console", "job_id", job.ID, "tenant_id", tenant,
		"subject", s.Subject, "session", shortID(s.ID), "request_id", c.requestID(w))
	http.Redirect(w, r, back+"&done=requeued", http.StatusSeeOther)
}

// storeFailed logs err, if any, and reports whether there was one.
func (c *Console) storeFailed(w http.ResponseWriter, what string, err error) bool {
	if err == nil {
		return false
	}
	c.log.Error("console read of the job store failed", "what", what, "error", err, "request_id", c.requestID(w))
	return true
}

func jobRows(jobs []*store.Job) []jobRow {
	rows := make([]jobRow, 0, len(jobs))
	for _, j := range jobs {
		rows = append(rows, jobRow{ID: j.ID, Tenant: j.TenantID, Code: j.ErrorCode, Message: j.ErrorMessage,
			Updated: formatTime(j.UpdatedAt), Attempts: j.Attempts})
	}
	return rows
}

func sortedCounts(m map[string]float64) []countRow {
	rows := make([]countRow, 0, len(m))
	for name, n := range m {
		if n > 0 {
			rows = append(rows, countRow{Name: name, Count: int64(n)})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Count != rows[j].Count {
			return rows[i].Count > rows[j].Count
		}
		return rows[i].Name < rows[j].Name
	})
	return rows
}

// indentJSON pretty-prints raw for reading; anything else is shown as it is.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if json.Indent(&buf, raw, "", "  ") != nil {
		return string(raw)
	}
	return buf.String()
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
