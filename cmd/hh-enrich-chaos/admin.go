package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// poolStatus is the part of GET /admin/pool the harness reads.
type poolStatus struct {
	Size     int            `json:"size"`
	Ready    int            `json:"ready"`
	Degraded bool           `json:"degraded"`
	Circuit  string         `json:"circuit"`
	Restarts map[string]int `json:"restarts"`
	// Processes are the plugin processes, for their calls in flight.
	Processes []struct {
		InFlight int `json:"inFlight"`
	} `json:"processes"`
}

// adminPool reads GET /admin/pool of the instance at baseURL.
func (h *harness) adminPool(ctx context.Context, baseURL string) (*poolStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+"/admin/pool", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+h.adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET /admin/pool: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /admin/pool: status %d", resp.StatusCode)
	}
	var st poolStatus
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return nil, fmt.Errorf("GET /admin/pool: %w", err)
	}
	return &st, nil
}

// restartsNote describes the pool's restarts by reason, "" when unknown.
func (h *harness) restartsNote(ctx context.Context, baseURL string) string {
	st, err := h.adminPool(ctx, baseURL)
	if err != nil {
		return ""
	}
	s := "plugin restarts by reason: " + formatCounts(st.Restarts)
	if len(st.Restarts) == 0 {
		s = "no plugin restarts"
	}
	return fmt.Sprintf("%s; pool %d/%d ready, circuit %s, degraded %v at the end", s, st.Ready, st.Size, st.Circuit, st.Degraded)
}
