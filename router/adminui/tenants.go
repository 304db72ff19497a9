package adminui

import (
	"net/http"
)

// tenantsPage is the tenants template's data.
type tenantsPage struct {
	Rows       []tenantRow
	Bounded    bool // some tenants are counted under "other"
	StoreError bool
}

type tenantRow struct {
	Name string
	tenantNumbers
}

// handleTenants shows submissions, dedupe hits, completions and failures per
// tenant. The store's numbers (dedupe hits, waiting jobs) cover every
// instance; the rest are this instance's since it started.
func (c *Console) handleTenants(w http.ResponseWriter, r *http.Request, s *session) {
	rd, err := gather(c.cfg.Metrics)
	page := tenantsPage{StoreError: c.storeFailed(w, "tenant numbers", err)}
	for _, name := range c.visibleTenants(r.Context(), s, rd) {
		row := tenantRow{Name: name}
		if n, ok := rd.tenants[name]; ok {
			row.tenantNumbers = *n
		}
		page.Rows = append(page.Rows, row)
	}
	if n, ok := rd.tenants[tenantOther]; ok && s.Operator {
		page.Rows, page.Bounded = append(page.Rows, tenantRow{Name: tenantOther, tenantNumbers: *n}), true
	}
	c.render(w, r, http.StatusOK, "tenants", c.newView(r, s, "Tenants", "tenants", page))
}
