package main

import (
	"fmt"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

// tenantFor returns the i-th job's tenant: spread over n synthetic tenants when n > 0,
// else the candidate's own org_id.
func tenantFor(c localstack.Candidate, i, n int) string {
	if n <= 0 {
		return c.Tenant
	}
	return fmt.Sprintf("bench-t%03d", i%n)
}
