package localstack

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// EmbedFault is how the embed server answers upserts while it is set; the zero
// value is a healthy server.
type EmbedFault struct {
	// Status, when not 0, is answered to every upsert instead of 200 (a 5xx storm).
	Status int
	// Latency, when not 0, replaces the server's own latency (a slow server).
	Latency time.Duration
}

// EmbedServer stands in for hh-embed-svc (REFERENCE §6): it answers POST
// /v1/embeddings/upsert with 200 and the service's JSON after a fixed latency, and
// counts the upserts, in all and per entity, so a harness sees the service's embed
// step at a known cost and can tell a duplicated upsert. Faults are switched on
// and off while it runs: SetFault for errors and slowness, Down and Up for a
// server that is not there at all.
type EmbedServer struct {
	URL     string
	addr    string
	latency time.Duration

	upserts  atomic.Int64
	requests atomic.Int64
	conns    atomic.Int64

	mu        sync.Mutex
	fault     EmbedFault
	perEntity map[string]int
	server    *http.Server // nil while down
	served    chan error   // the current server's Serve result
}

// StartEmbedServer listens on a free loopback port and serves until Close.
func StartEmbedServer(latency time.Duration) (*EmbedServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("embed server: %w", err)
	}
	e := &EmbedServer{URL: "http://" + ln.Addr().String(), addr: ln.Addr().String(), latency: latency,
		perEntity: map[string]int{}}
	e.serve(ln)
	return e, nil
}

// serve starts a fresh http.Server on ln: a closed one cannot serve again.
func (e *EmbedServer) serve(ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/embeddings/upsert", e.handleUpsert)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		// Counting connections shows whether the service's embed client reuses them.
		ConnState: func(_ net.Conn, state http.ConnState) {
			if state == http.StateNew {
				e.conns.Add(1)
			}
		}}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	e.mu.Lock()
	e.server, e.served = srv, served
	e.mu.Unlock()
}

// SetFault changes how upserts are answered from now on; EmbedFault{} heals.
func (e *EmbedServer) SetFault(f EmbedFault) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fault = f
}

// Down closes the listener and every open connection, so upserts fail to connect
// (or lose their connection mid-request) until Up. Down on a down server does
// nothing.
func (e *EmbedServer) Down() error {
	e.mu.Lock()
	srv, served := e.server, e.served
	e.server = nil
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Close()
	if s := <-served; !errors.Is(s, http.ErrServerClosed) {
		err = errors.Join(err, s)
	}
	return err
}

// Up listens again on the same port after Down. It fails if another process took
// the port meanwhile. Up on a serving server does nothing.
func (e *EmbedServer) Up() error {
	e.mu.Lock()
	up := e.server != nil
	e.mu.Unlock()
	if up {
		return nil
	}
	ln, err := net.Listen("tcp", e.addr)
	if err != nil {
		return fmt.Errorf("embed server back on %s: %w", e.addr, err)
	}
	e.serve(ln)
	return nil
}

// upsertBody is the part of an upsert request the fake reads.
type upsertBody struct {
	EntityID string `json:"entityId"`
	Text     string `json:"text"`
}

func (e *EmbedServer) handleUpsert(w http.ResponseWriter, r *http.Request) {
	e.requests.Add(1)
	var body upsertBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.EntityID == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": "invalid_body", "message": "entityId is required"})
		return
	}
	e.mu.Lock()
	fault := e.fault
	e.mu.Unlock()
	timer := time.NewTimer(cmp.Or(fault.Latency, e.latency))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-r.Context().Done():
		return // the client gave up: as far as it knows, nothing was stored
	}
	if fault.Status != 0 {
		writeJSON(w, fault.Status, map[string]any{"code": "injected_fault", "message": "fault injected by the harness"})
		return
	}
	tenant := r.Header.Get("X-Tenant-ID")
	e.mu.Lock()
	e.perEntity[tenant+"/"+body.EntityID]++
	e.mu.Unlock()
	n := e.upserts.Add(1)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	writeJSON(w, http.StatusOK, map[string]any{
		"entityId": body.EntityID, "tenantId": tenant,
		"vectorId": fmt.Sprintf("local-%d", n), "modelVersion": "bench-local",
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

// Requests is how many upsert requests arrived so far, whatever their answer.
func (e *EmbedServer) Requests() int64 { return e.requests.Load() }

// Connections is how many TCP connections the server accepted so far.
func (e *EmbedServer) Connections() int64 { return e.conns.Load() }

// UpsertsByEntity is how many upserts were answered 200 per entity, keyed
// "tenant/entityId" (the tenant from the X-Tenant-ID header): more than one for
// an entity is a duplicated side effect, or a retry.
func (e *EmbedServer) UpsertsByEntity() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.perEntity)
}

// Close stops the server within ctx and waits for its serving goroutine.
func (e *EmbedServer) Close(ctx context.Context) error {
	e.mu.Lock()
	srv, served := e.server, e.served
	e.server = nil
	e.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if s := <-served; !errors.Is(s, http.ErrServerClosed) {
		err = errors.Join(err, s)
	}
	return err
}
