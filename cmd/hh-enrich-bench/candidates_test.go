package main

import (
	"testing"

	"github.com/headhunter/hh-enrich-svc/cmd/internal/localstack"
)

func TestTenantFor(t *testing.T) {
	t.Parallel()
	c := localstack.Candidate{Tenant: "tenant-alpha"}
	if got := tenantFor(c, 7, 0); got != "tenant-alpha" {
		t.Errorf("no spread: %s, want the org_id", got)
	}
	if got := tenantFor(c, 57, 50); got != "bench-t007" {
		t.Errorf("spread over 50: %s, want bench-t007", got)
	}
}
