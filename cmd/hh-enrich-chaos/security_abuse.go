package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// The security matrix's checks one level above tokens (issue: tenancy and
// abuse): what a tenant admin sees, what anonymous health shows, and how
// credential guessing is slowed.

// oversizedBatch is a one-candidate batch whose candidate is past the single
// route's 1 MiB.
func (m *matrix) oversizedBatch() string {
	return `{"candidates":[{"candidateId":"sec-big","payload":{"resume_text":"` + strings.Repeat("x", 3<<19) + `"}}]}`
}

// tenantAdminFigures checks a tenant admin's queue answer names only its tenant.
func (m *matrix) tenantAdminFigures(ctx context.Context, token string) {
	status, body := m.call(ctx, http.MethodGet, "/admin/queue", "", token, "")
	depth, _ := body["depthByTenant"].(map[string]any)
	_, totals := body["totals"]
	others := 0
	for tenant := range depth {
		if tenant != "acme" {
			others++
		}
	}
	m.row.check("tenant_admin_queue_own_figures_only", status == http.StatusOK && others == 0 && !totals && body["tenant"] == "acme",
		"GET /admin/queue as acme's admin: %d, %d other tenants' depths, instance totals shown %v", status, others, totals)
}

// anonymousHealth checks /health/detailed without a credential shows statuses only.
func (m *matrix) anonymousHealth(ctx context.Context) {
	status, body := m.call(ctx, http.MethodGet, "/health/detailed", "", "", "")
	components, _ := body["components"].(map[string]any)
	var leaky []string
	for name, c := range components {
		if part, _ := c.(map[string]any); len(part) != 1 || part["status"] == nil {
			leaky = append(leaky, name)
		}
	}
	m.row.check("anonymous_health_detailed_statuses_only", status == http.StatusOK && len(components) > 0 && len(leaky) == 0,
		"GET /health/detailed anonymously: %d, %d parts, with details: %v", status, len(components), leaky)
	status, body = m.call(ctx, http.MethodGet, "/health", "", "", "")
	m.row.check("anonymous_health_no_pool_counts", status == http.StatusOK && body["pool"] == nil,
		"GET /health anonymously: %d, pool shown %v", status, body["pool"] != nil)
}

// signInGuessing sends wrong console sign-ins until the address is throttled,
// then checks the admin token itself waits too (one budget per address).
func (m *matrix) signInGuessing(ctx context.Context) {
	const tries = 12
	refused, throttledAt, retryAfter := 0, 0, ""
	for i := 1; i <= tries && throttledAt == 0; i++ {
		status, header := m.postForm(ctx, "/admin/ui/signin", url.Values{"credential": {"guess-" + m.h.runID + "-" + string(rune('a'+i))}})
		switch status {
		case http.StatusUnauthorized:
			refused++
		case http.StatusTooManyRequests:
			throttledAt, retryAfter = i, header.Get("Retry-After")
		}
	}
	m.row.check("sign_in_guessing_429", throttledAt > 0 && throttledAt <= 6 && retryAfter != "",
		"wrong console sign-ins: %d refused with 401, throttled at try %d (Retry-After %q)", refused, throttledAt, retryAfter)
	status, _ := m.call(ctx, http.MethodGet, "/admin/pool", "", m.h.adminToken, "")
	m.row.check("guessing_address_blocked_on_admin_api_429", status == http.StatusTooManyRequests,
		"the admin token from the guessing address: %d", status)
}

// postForm posts a form as a browser on the console's own page would.
func (m *matrix) postForm(ctx context.Context, path string, form url.Values) (int, http.Header) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	client := &http.Client{Timeout: m.client.Timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header
}
