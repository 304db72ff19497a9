package router

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/headhunter/hh-enrich-svc/pool"
)

// recordingPool is a pool double that records restarts. The real pool behind these
// routes is exercised end to end in cmd/hh-enrich-svc.
type recordingPool struct {
	mu        sync.Mutex
	restarted []string
	status    pool.Status
}

func (p *recordingPool) Status() pool.Status { return p.status }

func (p *recordingPool) RestartAll(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restarted = append(p.restarted, "all")
	return nil
}

func (p *recordingPool) RestartProcess(_ context.Context, id int) error {
	if id > 1 {
		return fmt.Errorf("%w: %d", pool.ErrNoProcess, id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.restarted = append(p.restarted, fmt.Sprint(id))
	return nil
}

func setupAdmin(t *testing.T, token string) (*testBundle, *recordingPool) {
	t.Helper()
	return setupAdminLogging(t, token, hclog.NewNullLogger())
}

func setupAdminLogging(t *testing.T, token string, log hclog.Logger) (*testBundle, *recordingPool) {
	t.Helper()
	b := setup(t)
	rp := &recordingPool{status: pool.Status{Size: 2, Ready: 2, Circuit: "closed",
		Processes: []pool.ProcessInfo{{ID: 0, PID: 100, State: pool.StateReady}, {ID: 1, PID: 101, State: pool.StateReady}}}}
	h, err := New(Config{Store: b.store, Queue: b.store, Auth: noAuth(t), Pool: rp, AdminToken: token, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	b.handler = h
	return b, rp
}

var admin = map[string]string{"Authorization": "Bearer s3cret-admin"}

func TestAdmin(t *testing.T) {
	t.Parallel()

	t.Run("IsOffWithoutAConfiguredToken", func(t *testing.T) {
		t.Parallel()
		b, rp := setupAdmin(t, "")
		resp := b.request(t, http.MethodPost, "/admin/pool/restart", map[string]string{"Authorization": "Bearer "}, "")
		if resp.status != http.StatusForbidden || resp.body["code"] != CodeAdminDisabled || len(rp.restarted) != 0 {
			t.Fatalf("got %d %v, restarts %v", resp.status, resp.body, rp.restarted)
		}
	})

	t.Run("RefusesAMissingOrWrongToken", func(t *testing.T) {
		t.Parallel()
		b, rp := setupAdmin(t, "s3cret-admin")
		for _, headers := range []map[string]string{nil, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret-admin"}} {
			resp := b.request(t, http.MethodPost, "/admin/pool/restart", headers, "")
			if resp.status != http.StatusUnauthorized || resp.body["code"] != CodeUnauthorized {
				t.Fatalf("%v: got %d %v", headers, resp.status, resp.body)
			}
		}
		if len(rp.restarted) != 0 {
			t.Fatalf("restarts %v without a valid token", rp.restarted)
		}
	})

	t.Run("ShowsEveryProcess", func(t *testing.T) {
		t.Parallel()
		b, _ := setupAdmin(t, "s3cret-admin")
		resp := b.request(t, http.MethodGet, "/admin/pool", admin, "")
		procs, _ := resp.body["processes"].([]any)
		if resp.status != http.StatusOK || len(procs) != 2 || procs[1].(map[string]any)["pid"] != 101.0 {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})

	t.Run("RestartsAllOrOneProcess", func(t *testing.T) {
		t.Parallel()
		b, rp := setupAdmin(t, "s3cret-admin")
		for _, path := range []string{"/admin/pool/restart", "/admin/pool/processes/1/restart"} {
			if resp := b.request(t, http.MethodPost, path, admin, ""); resp.status != http.StatusOK {
				t.Fatalf("%s: %d %v", path, resp.status, resp.body)
			}
		}
		if fmt.Sprint(rp.restarted) != "[all 1]" {
			t.Fatalf("restarts = %v", rp.restarted)
		}
	})

	t.Run("UnknownOrMalformedProcessIDIsAClientError", func(t *testing.T) {
		t.Parallel()
		var logged bytes.Buffer // written by the handler, read after it answered
		b, _ := setupAdminLogging(t, "s3cret-admin", hclog.New(&hclog.LoggerOptions{Output: &logged}))
		if resp := b.request(t, http.MethodPost, "/admin/pool/processes/9/restart", admin, ""); resp.status != http.StatusNotFound {
			t.Fatalf("unknown id: %d %v", resp.status, resp.body)
		}
		if strings.Contains(logged.String(), "operator restart") {
			t.Errorf("a restart of no process was logged as an operator's restart:\n%s", logged.String())
		}
		if resp := b.request(t, http.MethodPost, "/admin/pool/processes/x/restart", admin, ""); resp.status != http.StatusBadRequest {
			t.Fatalf("malformed id: %d %v", resp.status, resp.body)
		}
	})

	t.Run("HealthReportsADegradedPool", func(t *testing.T) {
		t.Parallel()
		b, rp := setupAdmin(t, "s3cret-admin")
		rp.status.Degraded = true
		resp := b.request(t, http.MethodGet, "/health", admin, "")
		if resp.status != http.StatusOK || resp.body["status"] != "degraded" || resp.body["pool"].(map[string]any)["degraded"] != true {
			t.Fatalf("got %d %v", resp.status, resp.body)
		}
	})
}
