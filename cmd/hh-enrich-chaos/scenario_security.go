package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// runSecurity checks the API's authentication and tenant isolation against the
// real binary in AUTH_MODE=gateway, then what the run left around it: plugin
// socket folders, what `make run` listens on, and every log of the run.
func runSecurity(ctx context.Context, h *harness) []*Row {
	return []*Row{h.authMatrix(ctx), h.isolation(ctx)}
}

// secCall is one request of the matrix and the status it must get.
type secCall struct {
	name                        string
	method, path, tenant, token string
	body                        string
	want                        int
}

// authMatrix runs the matrix with real RS256 tokens from a JWKS on loopback.
func (h *harness) authMatrix(ctx context.Context) *Row {
	row := newRow("security: auth matrix, AUTH_MODE=gateway")
	defer row.tallyChecks()
	iss, err := startIssuer()
	if err != nil {
		return row.fail(err)
	}
	defer func() { _ = iss.close(context.WithoutCancel(ctx)) }()
	stack, err := h.startStack(ctx, ScenarioSecurity, stackOpts{env: []string{
		"AUTH_MODE=gateway", "GATEWAY_AUDIENCE=" + audience, "ALLOWED_TOKEN_ISSUERS=" + iss.URL + "|" + iss.JWKSURL,
	}})
	if err != nil {
		return row.fail(err)
	}
	defer h.closeStack(ScenarioSecurity, stack, row)
	m := &matrix{h: h, row: row, base: stack.URL, client: &http.Client{Timeout: 10 * time.Second}}
	t := m.tokens(iss)
	if row.Error != "" {
		return row
	}
	job := m.canaryJob()
	acmeJob := m.created(ctx, "acme", t["acme"], "/v1/enrich/profile", job, "jobId")
	batch := m.created(ctx, "acme", t["acme"], "/v1/enrich/batch", `{"candidates":[{"candidateId":"sec-b1","payload":`+
		m.canaryPayload()+`}]}`, "batchId")
	dead := m.deadLetter(ctx, "globex", t["globex"])
	for _, c := range []secCall{
		{"no_token_401", "POST", "/v1/enrich/profile", "acme", "", job, 401},
		{"bad_signature_401", "POST", "/v1/enrich/profile", "acme", t["forged"], job, 401},
		{"expired_401", "POST", "/v1/enrich/profile", "acme", t["expired"], job, 401},
		{"wrong_audience_401", "POST", "/v1/enrich/profile", "acme", t["wrongAudience"], job, 401},
		{"unknown_issuer_401", "POST", "/v1/enrich/profile", "acme", t["wrongIssuer"], job, 401},
		{"alg_none_401", "POST", "/v1/enrich/profile", "acme", t["unsigned"], job, 401},
		{"valid_token_202", "POST", "/v1/enrich/profile", "acme", t["acme"], `{"candidateId":"sec-valid-` + h.runID + `"}`, 202},
		{"tenant_mismatch_403", "POST", "/v1/enrich/profile", "globex", t["acme"], job, 403},
		{"another_tenants_job_404", "GET", "/v1/enrich/status/" + acmeJob, "globex", t["globex"], "", 404},
		{"own_job_200", "GET", "/v1/enrich/status/" + acmeJob, "acme", t["acme"], "", 200},
		{"another_tenants_batch_404", "GET", "/v1/enrich/batch/" + batch, "globex", t["globex"], "", 404},
		{"another_tenants_requeue_404", "POST", "/admin/jobs/" + dead + "/requeue", "globex", t["acmeAdmin"], "", 404},
		{"another_tenants_requeue_as_own_404", "POST", "/admin/jobs/" + dead + "/requeue", "acme", t["acmeAdmin"], "", 404},
		{"own_requeue_200", "POST", "/admin/jobs/" + dead + "/requeue", "globex", t["globexAdmin"], "", 200},
		{"admin_without_credential_401", "GET", "/admin/pool", "", "", "", 401},
		{"admin_with_wrong_static_token_401", "GET", "/admin/pool", "", "not-the-admin-token", "", 401},
		{"admin_without_admin_scope_403", "GET", "/admin/pool", "", t["acme"], "", 403},
		{"tenant_admin_on_pool_403", "GET", "/admin/pool", "", t["acmeAdmin"], "", 403},
		{"tenant_admin_pool_restart_403", "POST", "/admin/pool/restart", "", t["acmeAdmin"], "", 403},
		{"tenant_admin_process_restart_403", "POST", "/admin/pool/processes/0/restart", "", t["acmeAdmin"], "", 403},
		{"operator_scope_on_pool_200", "GET", "/admin/pool", "", t["operator"], "", 200},
		{"no_org_admin_on_queue_403", "GET", "/admin/queue", "", t["orglessAdmin"], "", 403},
		{"no_org_admin_requeue_403", "POST", "/admin/jobs/" + dead + "/requeue", "globex", t["orglessAdmin"], "", 403},
		{"oversized_batch_candidate_413", "POST", "/v1/enrich/batch", "acme", t["acme"], m.oversizedBatch(), 413},
		{"reserved_tenant_all_400", "POST", "/v1/enrich/profile", "all", t["tenantAll"], job, 400},
		{"reserved_tenant_other_400", "POST", "/v1/enrich/profile", "other", t["tenantOther"], job, 400},
		{"admin_with_static_token_200", "GET", "/admin/pool", "", h.adminToken, "", 200},
		{"health_needs_no_token_200", "GET", "/health", "", "", "", 200},
	} {
		status, body := m.call(ctx, c.method, c.path, c.tenant, c.token, c.body)
		row.check(c.name, status == c.want, "%s %s: %d %s (want %d)", c.method, c.path, status, code(body), c.want)
	}
	m.tenantAdminFigures(ctx, t["acmeAdmin"])
	m.anonymousHealth(ctx)
	m.signInGuessing(ctx) // last: it blocks this address's admin credentials for a while
	row.note("RS256 tokens from a JWKS on loopback; forged = same kid, another key; alg none; expired an hour ago")
	row.summarize("no token, forged signature, expired, wrong audience or issuer, alg none → 401; tenant mismatch → 403; " +
		"another tenant's job, batch, requeue → 404; admin routes: no credential 401, no admin scope 403; " +
		"pool routes: tenant admin 403, operator 200; no-org admin 403; tenant admin sees its tenant only; " +
		"oversized batch candidate 413; reserved tenant ids 400; anonymous health: statuses only; sign-in guessing 429")
	return row
}

// matrix sends the matrix's requests.
type matrix struct {
	h      *harness
	row    *Row
	base   string
	client *http.Client
}

// tokens signs every token the matrix uses and records each as a secret.
func (m *matrix) tokens(iss *issuer) map[string]string {
	t := map[string]string{"unsigned": iss.unsigned(map[string]any{"org_id": "acme"})}
	sign := func(name string, f func(map[string]any) (string, error), extra map[string]any) {
		tok, err := f(extra)
		if err != nil {
			m.row.fail(fmt.Errorf("token %s: %w", name, err))
			return
		}
		t[name] = tok
	}
	sign("acme", iss.sign, map[string]any{"org_id": "acme"})
	sign("globex", iss.sign, map[string]any{"org_id": "globex"})
	sign("acmeAdmin", iss.sign, map[string]any{"org_id": "acme", "scope": "enrich:admin"})
	sign("globexAdmin", iss.sign, map[string]any{"org_id": "globex", "scope": "enrich:admin"})
	sign("operator", iss.sign, map[string]any{"scope": "enrich:operator"})
	sign("orglessAdmin", iss.sign, map[string]any{"scope": "enrich:admin"})
	sign("tenantAll", iss.sign, map[string]any{"org_id": "all"})
	sign("tenantOther", iss.sign, map[string]any{"org_id": "other"})
	sign("forged", iss.forge, map[string]any{"org_id": "acme"})
	sign("expired", iss.sign, map[string]any{"org_id": "acme", "iat": time.Now().Add(-2 * time.Hour), "exp": time.Now().Add(-time.Hour)})
	sign("wrongAudience", iss.sign, map[string]any{"org_id": "acme", "aud": "another-api"})
	sign("wrongIssuer", iss.sign, map[string]any{"org_id": "acme", "iss": "https://evil.example/issuer"})
	for _, tok := range t {
		m.h.addSecret(tok)
		if _, sig, ok := cutLast(tok, "."); ok && len(sig) >= 40 {
			m.h.addSecret(sig)
		}
	}
	return t
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// canaryPayload is a candidate made up for this run: its name, email and resume
// are searched for in every log.
func (m *matrix) canaryPayload() string {
	name := "Quillon Vantablack " + m.h.runID
	email := "quillon." + m.h.runID + "@canary.example"
	resume := "Canary resume " + m.h.runID + ": Senior Go engineer, led 4 engineers, Postgres and Kubernetes"
	m.h.addCanary(name, email, resume)
	raw, _ := json.Marshal(map[string]any{"name": name, "email": email, "resume_text": resume}) // strings only
	return string(raw)
}

func (m *matrix) canaryJob() string {
	return `{"candidateId":"sec-` + m.h.runID + `","payload":` + m.canaryPayload() + `}`
}

// call sends one request and returns its status and JSON body (nil when not JSON).
func (m *matrix) call(ctx context.Context, method, path, tenant, token, body string) (int, map[string]any) {
	req, err := http.NewRequestWithContext(ctx, method, m.base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/json")
	if tenant != "" {
		req.Header.Set("X-Tenant-ID", tenant)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return 0, map[string]any{"error": err.Error()}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// created posts body and returns the id at field of what was created (under
// "job" for a job), or "missing" so the checks that need it fail clearly.
func (m *matrix) created(ctx context.Context, tenant, token, path, body, field string) string {
	status, out := m.call(ctx, http.MethodPost, path, tenant, token, body)
	if job, ok := out["job"].(map[string]any); ok {
		out = job
	}
	id, _ := out[field].(string)
	if status/100 != 2 || id == "" {
		m.row.note("setup: POST %s answered %d %s", path, status, code(out))
		return "missing"
	}
	return id
}

// deadLetter makes one of tenant's jobs fail for good (no payload: not found,
// never retried) and returns its id once it failed.
func (m *matrix) deadLetter(ctx context.Context, tenant, token string) string {
	id := m.created(ctx, tenant, token, "/v1/enrich/profile", `{"candidateId":"sec-dead-`+m.h.runID+`"}`, "jobId")
	deadline := time.Now().Add(30 * time.Second)
	for id != "missing" && time.Now().Before(deadline) {
		_, out := m.call(ctx, http.MethodGet, "/v1/enrich/status/"+id, tenant, token, "")
		if job, _ := out["job"].(map[string]any); job["status"] == "failed" {
			return id
		}
		time.Sleep(50 * time.Millisecond) // no signal to wait on from outside
	}
	m.row.note("setup: the dead letter %s did not fail within 30 s", id)
	return id
}

// code is an error body's code, for details.
func code(body map[string]any) string {
	if c, ok := body["code"].(string); ok {
		return c
	}
	return ""
}

// isolation checks what the run left around the service: the plugins' socket
// folders, what `make run` listens on, and the logs.
func (h *harness) isolation(ctx context.Context) *Row {
	row := newRow("security: sockets, make run, logs")
	defer row.tallyChecks()
	h.checkSockets(row)
	h.checkMakeRun(ctx, row)
	h.checkLogs(row)
	h.mu.Lock()
	logs := len(h.logs)
	h.mu.Unlock()
	row.summarize("plugin socket folders 0700; `make run` listens on loopback only; no token, key or candidate data in %d logs",
		logs)
	return row
}

// checkSockets checks every plugin socket folder seen in the run is private:
// mode 0700 and ours.
func (h *harness) checkSockets(row *Row) {
	h.mu.Lock()
	dirs := append([]socketDir(nil), h.sockets...)
	h.mu.Unlock()
	uid := uint32(os.Getuid())
	var bad []string
	for _, d := range dirs {
		if d.Mode != 0o700 || d.UID != uid {
			bad = append(bad, fmt.Sprintf("%s %o uid %d", d.Path, d.Mode, d.UID))
		}
	}
	row.check("plugin_socket_folders_0700", len(dirs) > 0 && len(bad) == 0,
		"%d plugin socket folders seen (found through the plugins' open unix sockets), %d not 0700 and ours %v",
		len(dirs), len(bad), bad)
}
