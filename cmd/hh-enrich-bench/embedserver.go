package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// EmbedServer stands in for hh-embed-svc (REFERENCE §6): it answers POST
// /v1/embeddings/upsert with 200 and the service's JSON after a fixed latency, and
// counts the upserts, so the bench sees the service's embed step at a known cost.
type EmbedServer struct {
	URL     string
	latency time.Duration
	upserts atomic.Int64
	conns   atomic.Int64
	server  *http.Server
	served  chan error
}

// StartEmbedServer listens on a free loopback port and serves until Close.
func StartEmbedServer(latency time.Duration) (*EmbedServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embed server: %w", err)
	}
	e := &EmbedServer{URL: "http://" + ln.Addr().String(), latency: latency, served: make(chan error, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings/upsert", e.handleUpsert)
	e.server = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// Counting connections shows whether the service's embed client reuses them.
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				e.conns.Add(1)
			}
		}}
	go func() { e.served <- e.server.Serve(ln) }()
	return e, nil
}

// upsertBody is the part of an upsert request the fake reads.
type upsertBody struct {
	EntityID string `json:"entityId"`
	Text     string `json:"text"`
}

func (e *EmbedServer) handleUpsert(w http.ResponseWriter, r *http.Request) {
	var body upsertBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.EntityID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "invalid_body", "message": "entityId is required"})
		return
	}
	timer := time.NewTimer(e.latency)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return
	}
	e.upserts.Add(1)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, map[string]any{
		"entityId": body.EntityID, "tenantId": r.Header.Get("X-Tenant-ID"),
		"vectorId": fmt.Sprintf("bench-%d", e.upserts.Load()), "modelVersion": "bench-local",
		"chunkType": "default", "dimensions": 768, "createdAt": now, "updatedAt": now,
		"requestId": r.Header.Get("X-Request-ID"),
	})
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body) // the client going away is not our problem
}

// Upserts is how many upserts were answered 200 so far.
func (e *EmbedServer) Upserts() int64 { return e.upserts.Load() }

// Connections is how many TCP connections the server accepted so far.
func (e *EmbedServer) Connections() int64 { return e.conns.Load() }

// Close stops the server within ctx and waits for its serving goroutine.
func (e *EmbedServer) Close(ctx context.Context) error {
	err := e.server.Shutdown(ctx)
	if served := <-e.served; !errors.Is(served, http.ErrServerClosed) {
		err = errors.Join(err, served)
	}
	return err
}
